"""enroll/validate/power/retire playbooks and the node/power modules against a real Ironic.

30 fake-hardware nodes go enroll -> manageable -> available -> removed, with
check mode, diff, idempotence, out-of-band edits and a moved MAC on the way.
"""

from __future__ import annotations

import threading
import time

import pytest
from conftest import ROOT, recap, run_playbook, run_task, write_inventory

FLEET = 30
PLAYBOOKS = ROOT / 'playbooks'


def mac(index: int, base: int = 0x10) -> str:
    return '52:54:00:%02x:%02x:%02x' % (base, index // 256, index % 256)


MAC_BASES = {'fk': 0x10, 'bad': 0x11, 'mix': 0x12}


def fleet_servers(count=FLEET, prefix='fk'):
    return {'%s-%02d' % (prefix, i): {'nics': [{'mac': mac(i, MAC_BASES[prefix])}], 'properties': {'cpus': 2 + i % 3}}
            for i in range(count)}


DEFAULTS = {'bmc': {'driver': 'fake-hardware'}, 'resource_class': 'baremetal.test',
            'interfaces': {'deploy': 'fake', 'boot': 'fake'}, 'properties': {'cpu_arch': 'x86_64'}}


def ours(conn, prefix='fk'):
    return {n.name: n for n in conn.baremetal.nodes(details=True) if n.name and n.name.startswith(prefix + '-')}


def play(engine, name, inventory, *args, expect_ok=True, **extra):
    return run_playbook(PLAYBOOKS / name, extra or None, '-i', str(inventory), *args,
                        env=engine.env, expect_ok=expect_ok)


@pytest.fixture(scope='module')
def fleet_inventory(engine, tmp_path_factory):
    path = write_inventory(tmp_path_factory.mktemp('inv') / 'fleet.yml', fleet_servers(), DEFAULTS)
    yield path
    conn = engine.sdk()
    for node in ours(conn).values():
        conn.baremetal.set_node_maintenance(node.id, reason='test cleanup')
        conn.baremetal.delete_node(node.id)


def test_validate_plans_without_writing(engine, fleet_inventory):
    code, output = play(engine, 'validate.yml', fleet_inventory)
    assert 'planned changes (nothing was written)' in output
    assert output.count(' changed  ') == FLEET
    assert ours(engine.sdk()) == {}


def test_enroll_in_check_mode_with_diff_writes_nothing(engine, fleet_inventory):
    code, output = play(engine, 'enroll.yml', fleet_inventory, '--check', '--diff')
    assert "+    name: fk-07" in output  # the diff shows the node that would be created
    assert ours(engine.sdk()) == {}


def test_enroll_to_manageable_then_nothing_changes(engine, fleet_inventory):
    code, output = play(engine, 'enroll.yml', fleet_inventory)
    assert recap(output)['changed'] == 1
    nodes = ours(engine.sdk())
    assert len(nodes) == FLEET
    assert {n.provision_state for n in nodes.values()} == {'manageable'}
    assert nodes['fk-04'].properties == {'cpu_arch': 'x86_64', 'cpus': 3}
    assert nodes['fk-04'].resource_class == 'baremetal.test'
    ports = {p.address: p for p in engine.sdk().baremetal.ports(details=True, node=nodes['fk-04'].id)}
    assert list(ports) == [mac(4)] and ports[mac(4)].is_pxe_enabled
    assert 'all interfaces valid' in output

    code, output = play(engine, 'enroll.yml', fleet_inventory)
    assert recap(output)['changed'] == 0, output[-3000:]


def test_out_of_band_properties_survive_and_a_moved_mac_moves_the_port(engine, fleet_inventory, tmp_path):
    conn = engine.sdk()
    node = ours(conn)['fk-05']
    conn.baremetal.patch_node(node.id, [{'op': 'add', 'path': '/properties/local_gb', 'value': 40},
                                        {'op': 'add', 'path': '/properties/memory_mb', 'value': 2048}])
    servers = fleet_servers()
    servers['fk-05']['nics'] = [{'mac': '52:54:00:99:00:05'}]
    inventory = write_inventory(tmp_path / 'moved.yml', servers, DEFAULTS)

    code, output = play(engine, 'enroll.yml', inventory, '--check', '--diff')
    assert "-    - '%s'" % mac(5) in output and "+    - 52:54:00:99:00:05" in output
    assert {p.address for p in conn.baremetal.ports(node=node.id)} == {mac(5)}

    code, output = play(engine, 'enroll.yml', inventory)
    after = engine.sdk().baremetal.get_node(node.id)
    assert after.properties['local_gb'] == 40 and after.properties['memory_mb'] == 2048
    assert {p.address for p in engine.sdk().baremetal.ports(node=node.id)} == {'52:54:00:99:00:05'}
    assert 'remove port %s; add port 52:54:00:99:00:05' % mac(5) in output
    code, output = play(engine, 'enroll.yml', inventory)
    assert recap(output)['changed'] == 0
    play(engine, 'enroll.yml', fleet_inventory)  # back to the shared inventory


def test_two_nodes_swap_their_macs_in_one_run(engine, fleet_inventory, tmp_path):
    # each MAC must leave its node before the other node takes it: every
    # node's removals run before any node's additions (the node module's
    # one barrier; without a move, each node goes on at its own pace)
    servers = fleet_servers()
    servers['fk-06']['nics'], servers['fk-07']['nics'] = servers['fk-07']['nics'], servers['fk-06']['nics']
    inventory = write_inventory(tmp_path / 'swapped.yml', servers, DEFAULTS)
    code, output = play(engine, 'enroll.yml', inventory)
    conn = engine.sdk()
    nodes = ours(conn)
    for name, index in (('fk-06', 7), ('fk-07', 6)):
        assert {p.address for p in conn.baremetal.ports(node=nodes[name].id)} == {mac(index)}, (name, output[-3000:])
    assert recap(output)['failed'] == 0
    assert recap(play(engine, 'enroll.yml', inventory)[1])['changed'] == 0
    play(engine, 'enroll.yml', fleet_inventory)  # back to the shared inventory
    assert {p.address for p in conn.baremetal.ports(node=nodes['fk-06'].id)} == {mac(6)}


def test_one_invalid_host_stops_everything_before_writing(engine, tmp_path):
    servers = fleet_servers(9, prefix='bad')
    servers['bad-03']['bmc'] = {'driver': 'ipmi', 'adress': '10.0.0.3'}
    servers['bad-04']['nics'] = [{'mac': mac(1, MAC_BASES['bad'])}]
    # what Ironic (or the deploy) would refuse later, after the others were written
    servers['bad-05']['bmc'] = {'driver': 'ipmi', 'address': '10.0.0.300', 'username': 'u', 'password': 'bad-05-pw'}
    servers['bad-06']['image'] = {'source': 'https://images/x.qcow2', 'checksum': 'sha256:' + 'ab' * 16}
    private = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ==\n-----END OPENSSH PRIVATE KEY-----'
    servers['bad-07']['ssh_keys'] = [private]
    servers['bad-08']['name'] = servers['bad-02']['name'] = 'bad-twin'
    inventory = write_inventory(tmp_path / 'bad.yml', servers, DEFAULTS)
    code, output = play(engine, 'enroll.yml', inventory, expect_ok=False)
    assert code != 0
    assert 'bad-03: bmc.adress: unknown key (did you mean address?)' in output
    assert 'bad-04: nics[0].mac: %s is also on bad-01' % mac(1, MAC_BASES['bad']) in output
    assert "bad-05: bmc.address: '10.0.0.300' is not a valid IPv4 address" in output
    assert 'bad-06: image.checksum: a sha256 digest has 64 hex digits, this one 32' in output
    assert 'bad-07: ssh_keys[0]: a private key: only public keys belong here' in output
    assert 'b3BlbnNzaC1rZXkt' not in output
    assert 'bad-twin (inventory host bad-08): name: also used by bad-twin (inventory host bad-02)' in output
    assert 'nothing was written' in output
    assert ours(engine.sdk(), prefix='bad') == {}


def test_a_mac_owned_by_another_ironic_node_stops_everything(engine, fleet_inventory, tmp_path):
    servers = fleet_servers(3, prefix='bad')
    servers['bad-02']['nics'] = [{'mac': mac(3)}]  # fk-03's port
    inventory = write_inventory(tmp_path / 'clash.yml', servers, DEFAULTS)
    code, output = play(engine, 'enroll.yml', inventory, expect_ok=False)
    assert code != 0
    assert 'bad-02: nics[0].mac: %s is already a port of Ironic node fk-03' % mac(3) in output
    assert ours(engine.sdk(), prefix='bad') == {}


def test_power_on_off_is_idempotent(engine, fleet_inventory):
    code, output = play(engine, 'power.yml', fleet_inventory, rackops_power='on', rackops_boot_device='pxe')
    assert {n.power_state for n in ours(engine.sdk()).values()} == {'power on'}
    code, output = play(engine, 'power.yml', fleet_inventory, rackops_power='on')
    assert recap(output)['changed'] == 0
    code, output = play(engine, 'power.yml', fleet_inventory, '--check', rackops_power='off')
    assert {n.power_state for n in ours(engine.sdk()).values()} == {'power on'}
    code, output = play(engine, 'power.yml', fleet_inventory, rackops_power='off')
    nodes = ours(engine.sdk()).values()
    assert {n.power_state for n in nodes} == {'power off'}
    assert {n.target_power_state for n in nodes} == {None} and {n.reservation for n in nodes} == {None}


def test_a_locked_node_is_retried_and_the_retry_reported(engine, fleet_inventory, tmp_path):
    conn = engine.sdk()
    node = ours(conn)['fk-09']
    playbook = tmp_path / 'update.yml'
    playbook.write_text('''
- hosts: localhost
  gather_facts: false
  tasks:
    - rackops.baremetal.node:
        cloud: rackops
        validate: false
        node: {name: fk-09, bmc: {driver: fake-hardware}, resource_class: baremetal.locked}
      register: updated
    - ansible.builtin.assert:
        that:
          - updated is changed
          - updated.retries | selectattr('status_code', 'equalto', 409) | list | length > 0
          - updated.retries[0].node == 'fk-09'
''')
    # A fake power action holds the node's lock for ~2 s ([fake]power_delay); three in a row hold it
    # for ~6 s, longer than ansible-playbook takes to start on a busy 2-core machine (one was not).

    def hold_the_lock():
        for state in ('power on', 'power off', 'power on'):
            conn.baremetal.set_node_power_state(node.id, state, wait=True, timeout=60)
    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    time.sleep(0.5)
    try:
        code, output = run_playbook(playbook, None, env=engine.env)
    finally:
        holder.join(120)
    assert engine.sdk().baremetal.get_node(node.id).resource_class == 'baremetal.locked'


def test_one_unreachable_bmc_fails_alone(engine, tmp_path):
    servers = fleet_servers(3, prefix='mix')
    servers['mix-ipmi'] = {'bmc': {'driver': 'ipmi', 'address': '127.0.0.99', 'port': 6239,
                                   'username': 'admin', 'password': 'never-printed-pw'},
                           'nics': [{'mac': '52:54:00:77:00:01'}]}
    inventory = write_inventory(tmp_path / 'mix.yml', servers, {'bmc': {'driver': 'fake-hardware'}})
    try:
        code, output = play(engine, 'enroll.yml', inventory, '-vvvv', expect_ok=False)
        assert code != 0  # the play fails at the end, after the report
        assert 'never-printed-pw' not in output
        row = next(line for line in output.splitlines() if 'mix-ipmi' in line and 'FAILED' in line)
        assert 'ended in enroll instead of manageable' in row and 'last_error' in row
        report = '\n'.join(line for line in output.splitlines() if 'mix-' in line or 'failed:' in line)
        assert '1 node(s) failed: mix-ipmi' in output, report
        nodes = ours(engine.sdk(), prefix='mix')
        assert {n.provision_state for name, n in nodes.items() if name != 'mix-ipmi'} == {'manageable'}
        assert nodes['mix-ipmi'].provision_state == 'enroll' and nodes['mix-ipmi'].last_error
    finally:
        conn = engine.sdk()
        for node in ours(conn, prefix='mix').values():
            conn.baremetal.delete_node(node.id)


def test_available_then_retired(engine, fleet_inventory, tmp_path):
    code, output = play(engine, 'enroll.yml', fleet_inventory, rackops_provision_state='available')
    assert {n.provision_state for n in ours(engine.sdk()).values()} == {'available'}
    code, output = play(engine, 'enroll.yml', fleet_inventory, rackops_provision_state='available')
    assert recap(output)['changed'] == 0

    servers = fleet_servers()
    for desc in servers.values():
        desc['state'] = 'absent'
    inventory = write_inventory(tmp_path / 'retire.yml', servers, DEFAULTS)
    code, output = play(engine, 'retire.yml', inventory, '--check')
    assert len(ours(engine.sdk())) == FLEET
    code, output = play(engine, 'retire.yml', inventory)
    assert ours(engine.sdk()) == {}
    code, output = play(engine, 'retire.yml', inventory)
    assert recap(output)['changed'] == 0


def test_a_deployed_node_is_removed_only_when_forced(engine, tmp_path):
    servers = {'act-0': {'bmc': {'driver': 'fake-hardware'}, 'interfaces': {'deploy': 'fake', 'boot': 'fake'}}}
    conn = engine.sdk()
    node = conn.baremetal.create_node(name='act-0', driver='fake-hardware', deploy_interface='fake',
                                      boot_interface='fake', provision_state='enroll')
    try:
        conn.baremetal.set_node_provision_state(node.id, 'manage', wait=True)
        conn.baremetal.set_node_provision_state(node.id, 'provide', wait=True)
        conn.baremetal.set_node_provision_state(node.id, 'active', wait=True)
        servers['act-0']['state'] = 'absent'
        inventory = write_inventory(tmp_path / 'active.yml', servers)
        code, output = play(engine, 'retire.yml', inventory, expect_ok=False)
        assert code != 0
        assert 'refusing to remove a node in provision state active; use force: true' in output
        assert engine.sdk().baremetal.get_node(node.id).provision_state == 'active'
        code, output = play(engine, 'retire.yml', inventory, rackops_force=True)
        assert engine.sdk().baremetal.find_node('act-0') is None
    finally:
        if engine.sdk().baremetal.find_node('act-0') is not None:
            conn.baremetal.set_node_maintenance(node.id, reason='test cleanup')
            conn.baremetal.delete_node(node.id)


def test_bonds_become_port_groups(engine, tmp_path):
    macs = ['52:54:00:13:00:01', '52:54:00:13:00:02', '52:54:00:13:00:03']
    server = {'bmc': {'driver': 'fake-hardware'}, 'nics': [{'mac': m} for m in macs],
              'bonds': [{'name': 'bond0', 'nics': macs[:2], 'mode': '802.3ad',
                         'properties': {'miimon': 100}}]}
    inventory = write_inventory(tmp_path / 'bond.yml', {'bond-0': server})
    conn = engine.sdk()

    def groups():
        node = conn.baremetal.find_node('bond-0')
        names = {g.id: (g.name, g.mode, g.properties) for g in conn.baremetal.port_groups(details=True, node=node.id)}
        return {p.address: names.get(p.port_group_id) for p in conn.baremetal.ports(details=True, node=node.id)}

    try:
        play(engine, 'enroll.yml', inventory)
        bonded = ('bond-0-bond0', '802.3ad', {'miimon': 100})
        assert groups() == {macs[0]: bonded, macs[1]: bonded, macs[2]: None}
        code, output = play(engine, 'enroll.yml', inventory)
        assert recap(output)['changed'] == 0

        server['bonds'] = [{'name': 'bond0', 'nics': macs[1:], 'mode': 'active-backup'}]
        inventory = write_inventory(tmp_path / 'bond2.yml', {'bond-0': server})
        play(engine, 'enroll.yml', inventory)
        bonded = ('bond-0-bond0', 'active-backup', {'miimon': 100})  # properties not given: kept
        assert groups() == {macs[0]: None, macs[1]: bonded, macs[2]: bonded}

        del server['bonds']
        inventory = write_inventory(tmp_path / 'bond3.yml', {'bond-0': server})
        code, output = play(engine, 'enroll.yml', inventory)
        assert 'remove bond bond-0-bond0' in output
        assert groups() == {mac: None for mac in macs}
        assert list(conn.baremetal.port_groups(node=conn.baremetal.find_node('bond-0').id)) == []
    finally:
        node = conn.baremetal.find_node('bond-0')
        if node is not None:
            conn.baremetal.delete_node(node.id)


def test_driver_info_passes_through_checked_against_the_engine_with_its_secrets_masked(engine, tmp_path):
    # Keys the contract does not model reach Ironic as given, for a modelled driver (ipmi) and for
    # Dell's idrac (enabled by the role's defaults); the engine's own driver properties are the
    # judge of a key, and a secret-looking one never shows.
    password, kg_key = 'pt-bmc-Secret-1', 'c0ffee' * 6 + 'beef'
    servers = [
        {'name': 'pt-ipmi', 'nics': [{'mac': mac(1, 0x13)}],
         'bmc': {'driver': 'ipmi', 'address': '127.0.0.1', 'port': 9, 'username': 'admin', 'password': password,
                 'driver_info': {'ipmi_protocol_version': '1.5', 'ipmi_hex_kg_key': kg_key}}},
        {'name': 'pt-idrac', 'nics': [{'mac': mac(2, 0x13)}],
         'bmc': {'driver': 'idrac', 'address': '127.0.0.1:8443', 'username': 'root', 'password': password,
                 'driver_info': {'redfish_auth_type': 'basic'}}},
    ]
    params = {'cloud': engine.vars['ironic_cloud_name'], 'nodes': servers, 'provision_state': 'enroll',
              'validate': False}
    typo = [dict(servers[0], bmc=dict(servers[0]['bmc'], driver_info={'ipmi_protocol_versoin': '1.5'}))]
    result, output = run_task(engine.env, tmp_path, 'rackops.baremetal.node', dict(params, nodes=typo + servers[1:]))
    assert result['failed'] and 'nothing was written' in result['msg'], result
    assert ('pt-ipmi: bmc.driver_info.ipmi_protocol_versoin: ipmi_protocol_versoin is not a property of driver '
            'ipmi on this engine (did you mean ipmi_protocol_version?)') in result['msg']
    assert ours(engine.sdk(), prefix='pt') == {}
    try:
        for attempt in ('first', 'second'):
            result, output = run_task(engine.env, tmp_path, 'rackops.baremetal.node', params, '-vvvv', '--diff')
            assert not result.get('failed'), result
            assert result['changed'] == (attempt == 'first'), (attempt, result)
            assert password not in output and kg_key not in output, attempt
        nodes = ours(engine.sdk(), prefix='pt')
        ipmi_info, idrac_info = nodes['pt-ipmi'].driver_info, nodes['pt-idrac'].driver_info
        assert ipmi_info['ipmi_protocol_version'] == '1.5' and ipmi_info['ipmi_hex_kg_key'] in (kg_key, '******')
        assert nodes['pt-idrac'].driver == 'idrac' and nodes['pt-idrac'].management_interface == 'idrac-redfish'
        assert idrac_info['redfish_auth_type'] == 'basic' and idrac_info['redfish_address'] == 'https://127.0.0.1:8443'
    finally:
        conn = engine.sdk()
        for node in ours(conn, prefix='pt').values():
            conn.baremetal.delete_node(node.id)
