"""The node module's one barrier: when must every record step run before any port step?"""

from __future__ import annotations

from ansible_collections.rackops.baremetal.plugins.modules.node import NodeManager, maintenance_window_needed, validation_entry


class Module:  # what NodeManager reads of an IronicModule
    params = {'concurrency': 2, 'state': 'present'}
    check_mode = False
    baremetal = None


def server(name, *macs, bond_mac=None):
    out = {'name': name, 'bmc': {'driver': 'fake-hardware'}, 'nics': [{'mac': m} for m in macs]}
    if bond_mac:
        out['bonds'] = [{'name': 'bond0', 'nics': list(macs), 'mac': bond_mac}]
    return out


def manager(servers, ports, groups=None):
    """A NodeManager as after its read: ``ports`` {node name: [MAC]}, ``groups`` {node name: [MAC]}."""
    task = NodeManager(Module(), servers)
    task.names_by_uuid = {'uuid-' + name: name for name in set(ports) | set(groups or {})}
    task.ports = {'uuid-' + name: [{'address': mac} for mac in macs] for name, macs in ports.items()}
    task.portgroups = {'uuid-' + name: [{'name': name + '-bond0', 'address': mac} for mac in macs]
                       for name, macs in (groups or {}).items()}
    return task


def test_a_mac_moving_between_two_nodes_of_the_fleet_needs_the_barrier():
    servers = [server('a', '52:54:00:00:00:02'), server('b', '52:54:00:00:00:01')]
    assert manager(servers, {'a': ['52:54:00:00:00:01'], 'b': ['52:54:00:00:00:02']}).moves_within_fleet()


def test_a_bond_mac_moving_between_two_nodes_of_the_fleet_needs_the_barrier():
    servers = [server('a', '52:54:00:00:00:01', bond_mac='52:54:00:00:00:aa'), server('b', '52:54:00:00:00:02')]
    assert manager(servers, {'a': ['52:54:00:00:00:01'], 'b': ['52:54:00:00:00:02']},
                   {'b': ['52:54:00:00:00:aa']}).moves_within_fleet()


def test_no_move_no_barrier():
    servers = [server('a', '52:54:00:00:00:01'), server('b', '52:54:00:00:00:03'), server('new', '52:54:00:00:00:04')]
    # b changed its MAC (a move within one node), "new" is not in Ironic yet,
    # and a MAC on a node outside the task is the pre-write check's business
    assert not manager(servers, {'a': ['52:54:00:00:00:01'], 'b': ['52:54:00:00:00:02'],
                                 'other': ['52:54:00:00:00:04']}).moves_within_fleet()
    # a node being removed frees its MACs without anyone waiting for it
    leaving = dict(server('b', '52:54:00:00:00:01'), state='absent')
    assert not manager([server('a', '52:54:00:00:00:01'), leaving], {'a': ['52:54:00:00:00:01']}).moves_within_fleet()


def op(path, value='x'):
    return {'op': 'replace', 'path': path, 'value': value}


def test_interfaces_change_in_a_maintenance_window_where_ironic_refuses_them_otherwise():
    # a failed node: any interface, or the driver
    assert maintenance_window_needed('deploy failed', [op('/deploy_interface')])
    assert maintenance_window_needed('clean failed', [op('/driver')])
    # a deployed node: the interfaces its running OS does not use, only
    assert maintenance_window_needed('active', [op('/rescue_interface', 'agent')])
    assert maintenance_window_needed('active', [op('/console_interface'), op('/extra/x')])
    assert not maintenance_window_needed('active', [op('/rescue_interface'), op('/boot_interface')])
    # stable states take them as they are; other fields need no window
    assert not maintenance_window_needed('manageable', [op('/rescue_interface')])
    assert not maintenance_window_needed('deploy failed', [op('/properties/cpus')])


def test_the_rescue_interface_is_valid_without_the_password_a_rescue_brings():
    missing = "Node 1c is missing 'instance_info/rescue_password'. It is required for rescuing node."
    assert validation_entry('rescue', False, missing)['result'] is True
    # anything else stays as Ironic said
    assert validation_entry('rescue', False, 'rescue_kernel missing') == {'result': False, 'reason': 'rescue_kernel missing'}
    assert validation_entry('deploy', False, missing) == {'result': False, 'reason': missing}
    assert validation_entry('power', True, None) == {'result': True, 'reason': None}
