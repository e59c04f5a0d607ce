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


class Node:  # what find_discovered reads of an openstacksdk node
    def __init__(self, uuid, name=None, provision_state='enroll'):
        self.id, self.name, self.provision_state = uuid, name, provision_state


class StoredInventories:  # GET /v1/nodes/<uuid>/inventory, as the client answers it
    def __init__(self, discovered):
        self.discovered, self.read = discovered, []

    def get_json(self, _operation, path, **_kwargs):
        uuid = path.split('/')[2]
        self.read.append(uuid)
        return {'inventory': {}, 'plugin_data': {'auto_discovered': True} if uuid in self.discovered else {}}


def discovering(servers, nodes, ports, discovered):
    """A NodeManager after reading ``nodes`` and ``ports`` ({uuid: [MAC]}); nodes in ``discovered`` are flagged."""
    module = Module()
    module.client = StoredInventories(discovered)
    task = NodeManager(module, servers)
    task.names_by_uuid = {n.id: n.name or n.id for n in nodes}
    task.by_name = {n.name: n for n in nodes if n.name}
    task.ports = {uuid: [{'address': mac} for mac in macs] for uuid, macs in ports.items()}
    task.find_discovered(nodes)
    return task


def test_a_server_takes_over_the_discovered_node_holding_its_macs():
    found = Node('u-found')
    task = discovering([server('r1-u01', '52:54:00:00:00:01', '52:54:00:00:00:02')], [found],
                       {'u-found': ['52:54:00:00:00:01']}, {'u-found'})
    assert task.by_name == {'r1-u01': found} and task.taken_over == {'r1-u01': 'u-found'}
    assert task.names_by_uuid['u-found'] == 'r1-u01'  # so its MACs are no conflict
    assert task.mac_conflicts() == []


def test_nodes_not_discovered_named_elsewhere_or_past_enroll_are_not_taken_over():
    nodes = [Node('u-hand'), Node('u-named', 'old-u02'), Node('u-managed', provision_state='manageable'),
             Node('u-split-a'), Node('u-split-b')]
    servers = [server('a', '52:54:00:00:00:01'), server('b', '52:54:00:00:00:02'), server('c', '52:54:00:00:00:03'),
               server('d', '52:54:00:00:00:04', '52:54:00:00:00:05')]
    task = discovering(servers, nodes, {'u-hand': ['52:54:00:00:00:01'], 'u-named': ['52:54:00:00:00:02'],
                                        'u-managed': ['52:54:00:00:00:03'], 'u-split-a': ['52:54:00:00:00:04'],
                                        'u-split-b': ['52:54:00:00:00:05']},
                       {'u-named', 'u-managed', 'u-split-a', 'u-split-b'})
    assert task.taken_over == {} and task.by_name == {'old-u02': nodes[1]}
    # only the one nameless node in enroll holding all of a server's MACs was asked about
    assert task.module.client.read == ['u-hand']
    assert [p.split(': ', 1)[1] for p in task.mac_conflicts()] == [
        'nics[0].mac: 52:54:00:00:00:01 is already a port of Ironic node u-hand',
        'nics[0].mac: 52:54:00:00:00:02 is already a port of Ironic node old-u02',
        'nics[0].mac: 52:54:00:00:00:03 is already a port of Ironic node u-managed',
        'nics[0].mac: 52:54:00:00:00:04 is already a port of Ironic node u-split-a',
        'nics[1].mac: 52:54:00:00:00:05 is already a port of Ironic node u-split-b']
