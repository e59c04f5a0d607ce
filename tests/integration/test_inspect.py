"""The inspect module against real Ironic, with fake-hardware's `fake` inspect interface."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, recap, remove_nodes, run_playbook, run_task, write_inventory

PREFIX = 'insp-'
COUNT = 4


def describe(i, memory_mb=2048):
    return {'name': '%s%d' % (PREFIX, i), 'bmc': {'driver': 'fake-hardware'},
            'interfaces': {'inspect': 'fake', 'deploy': 'fake', 'boot': 'fake'},
            'properties': {'cpus': 2, 'memory_mb': memory_mb, 'local_gb': 10, 'cpu_arch': 'x86_64'},
            'nics': [{'mac': '52:54:00:e0:00:%02x' % i}]}


@pytest.fixture(scope='module')
def enrolled(engine, tmp_path_factory):
    work = tmp_path_factory.mktemp('inspect')
    inventory = write_inventory(work / 'inventory.yml', {describe(i)['name']: {
        k: v for k, v in describe(i).items() if k != 'name'} for i in range(COUNT)})
    run_playbook(ROOT / 'playbooks/enroll.yml', None, '-i', str(inventory), env=engine.env)
    yield {'work': work, 'inventory': inventory}
    remove_nodes(engine.sdk(), lambda name: name.startswith(PREFIX))  # (some were deployed)


def inspected_at(engine):
    conn = engine.sdk()
    nodes = conn.baremetal.get('/nodes', params={'fields': 'name,inspection_finished_at,provision_state'},
                               microversion='1.81').json()['nodes']
    return {n['name']: n['inspection_finished_at'] for n in nodes if n['name'].startswith(PREFIX)}


def run_inspect(engine, tmp_path, nodes, *args, **params):
    return run_task(engine.env, tmp_path, 'rackops.baremetal.inspect',
                    dict({'cloud': 'rackops', 'nodes': nodes}, **params), *args)


def test_check_diff_apply_idempotent_force(engine, enrolled, tmp_path):
    nodes = [describe(i) for i in range(COUNT)]
    assert set(inspected_at(engine).values()) == {None}
    result = run_inspect(engine, tmp_path, nodes, '--check')[0]
    assert result['changed'] and all(n['actions'] == ['inspect'] for n in result['nodes'])
    result, output = run_inspect(engine, tmp_path, nodes, '--check', '--diff')
    assert result['changed'] and 'inspected_at' in output
    assert set(inspected_at(engine).values()) == {None}

    result, output = run_inspect(engine, tmp_path, nodes)
    assert recap(output)['changed'] == 1 and not result['failed'], result['msg']
    first = inspected_at(engine)
    assert all(first.values())
    node = result['nodes'][0]
    assert node['provision_state'] == 'manageable' and node['properties']['memory_mb'] in (2048, '2048')
    assert node['mismatches'] == [] and node['hardware'] is None  # fake inspection stores no inventory

    for args in (('--check',), ()):
        result, output = run_inspect(engine, tmp_path, nodes, *args)
        assert not result['changed'] and recap(output)['changed'] == 0
        assert result['nodes'][0]['msg'].startswith('inspected before')
    assert inspected_at(engine) == first

    result = run_inspect(engine, tmp_path, nodes[:1], force=True)[0]
    assert result['changed'] and inspected_at(engine)[nodes[0]['name']] != first[nodes[0]['name']]


def test_a_mismatch_with_the_inventory_fails_that_node_only(engine, enrolled, tmp_path):
    nodes = [describe(0, memory_mb=65536), describe(1)]
    result = run_inspect(engine, tmp_path, nodes, force=True)[0]
    assert result['failed']
    bad, good = result['nodes']
    assert bad['failed'] and bad['mismatches'] == ['memory_mb: expected at least 65536, found 2048']
    assert 'hardware does not match the inventory' in bad['msg']
    assert not good['failed'] and good['changed']
    result = run_inspect(engine, tmp_path, nodes, match_inventory=False)[0]
    assert not result['failed']


def test_inspection_needs_manageable(engine, enrolled, tmp_path):
    result = run_inspect(engine, tmp_path, [{'name': 'no-such-node'}, describe(2)], '--check')[0]
    missing, present = result['nodes']
    assert missing['failed'] and 'enroll it first' in missing['msg'] and not present['failed']


def test_provision_with_inspection(engine, enrolled, tmp_path):
    servers = {'insp-p%d' % i: dict({k: v for k, v in describe(10 + i).items() if k != 'name'},
                                    image={'source': 'file:///var/lib/images/test.img'}) for i in range(2)}
    inventory = write_inventory(tmp_path / 'inventory.yml', servers)
    reports = tmp_path / 'reports'
    output = run_playbook(ROOT / 'playbooks/provision.yml', {'rackops_inspect': True,
                                                             'rackops_report_dir': str(reports)},
                          '-i', str(inventory), env=engine.env)[1]
    assert recap(output)['failed'] == 0
    report = json.loads((reports / 'provision.json').read_text())
    assert [n['provision_state'] for n in report['nodes']] == ['active', 'active']
    assert set(report['nodes'][0]['phases']) == {'enroll', 'inspect', 'clean', 'deploy'}
    assert all(inspected_at(engine)[name] for name in servers)
    output = run_playbook(ROOT / 'playbooks/provision.yml', {'rackops_inspect': True,
                                                             'rackops_report_dir': str(reports)},
                          '-i', str(inventory), env=engine.env)[1]
    assert recap(output)['changed'] == 0


def agent_inventory(macs, memory_mb):
    """What ironic-python-agent posts at the end of an in-band inspection."""
    return {'inventory': {
        'interfaces': [{'name': 'eth%d' % i, 'mac_address': mac, 'ipv4_address': '192.0.2.%d' % (10 + i),
                        'has_carrier': True, 'lldp': [[1, '04' + mac.replace(':', '')], [2, '0565746831']]}
                       for i, mac in enumerate(macs)],
        'cpu': {'count': 4, 'architecture': 'x86_64', 'model_name': 'QEMU Virtual CPU'},
        'memory': {'physical_mb': memory_mb, 'total': memory_mb << 20},
        'disks': [{'name': '/dev/vda', 'size': 20 << 30, 'model': 'QEMU HARDDISK', 'serial': 'vd0',
                   'rotational': True}],
        'bmc_address': '127.0.0.1',
        'system_vendor': {'manufacturer': 'QEMU', 'product_name': 'Standard PC', 'serial_number': 'S0'},
        'boot': {'current_boot_mode': 'bios', 'pxe_interface': macs[0]}}}


def test_agent_inspection_returns_and_checks_the_hardware(engine, enrolled, tmp_path):
    """In-band (agent) inspection: Ironic boots nothing here (fake boot), the test posts what the agent would."""
    servers = {}
    for i in range(2):
        desc = describe(20 + i)
        desc['interfaces'] = {'inspect': 'agent', 'boot': 'fake', 'deploy': 'fake'}
        desc['properties'] = {'cpus': 4, 'memory_mb': 4096, 'cpu_arch': 'x86_64'}
        desc['nics'].append({'mac': '52:54:00:e1:00:%02x' % i})
        servers[desc.pop('name')] = desc
    inventory = write_inventory(tmp_path / 'inventory.yml', servers)
    run_playbook(ROOT / 'playbooks/enroll.yml', None, '-i', str(inventory), env=engine.env)
    good, short = [dict(servers[name], name=name) for name in servers]

    out = tmp_path / 'out.json'
    playbook = tmp_path / 'agent.yml'
    playbook.write_text(json.dumps([{'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        {'rackops.baremetal.inspect': {'cloud': 'rackops', 'nodes': [good, short], 'timeout': 120},
         'register': 'out', 'ignore_errors': True},
        {'ansible.builtin.copy': {'content': '{{ out | to_json }}', 'dest': str(out), 'mode': '0600'}},
        {'rackops.baremetal.node_info': {'cloud': 'rackops', 'name': good['name'], 'hardware': True,
                                         'history': True}, 'register': 'info'},
        {'ansible.builtin.copy': {'content': '{{ info | to_json }}', 'dest': str(tmp_path / 'info.json'),
                                  'mode': '0600'}}]}]))
    proc = subprocess.Popen(['ansible-playbook', str(playbook)], cwd=ROOT, env=dict(os.environ, **engine.env),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        baremetal = engine.sdk().baremetal
        waiting = {good['name']: 4096, short['name']: 1024}
        deadline = time.monotonic() + 90
        while waiting and time.monotonic() < deadline:
            for name, memory_mb in list(waiting.items()):
                if baremetal.get_node(name, fields=['provision_state']).provision_state == 'inspect wait':
                    # the short server's second NIC is not found, and it has less memory
                    macs = [nic['mac'] for nic in servers[name]['nics']][:1 if name == short['name'] else 2]
                    request = urllib.request.Request(
                        engine.endpoint + '/v1/continue_inspection',
                        data=json.dumps(agent_inventory(macs, memory_mb)).encode(),
                        headers={'Content-Type': 'application/json', 'X-OpenStack-Ironic-API-Version': '1.84'})
                    with urllib.request.urlopen(request, timeout=30) as response:
                        assert response.status == 202
                    del waiting[name]
            time.sleep(0.5)
        assert not waiting, 'never reached inspect wait: %s' % waiting
        output = proc.communicate(timeout=180)[0]
    finally:
        proc.kill()
    assert proc.returncode == 0, output[-4000:]
    result = json.loads(out.read_text())
    first, second = result['nodes']
    assert not first['failed'] and first['changed'] and first['mismatches'] == [], first
    hardware = first['hardware']
    assert (hardware['cpus'], hardware['cpu_arch'], hardware['memory_mb']) == (4, 'x86_64', 4096)
    assert hardware['disks'] == [{'name': '/dev/vda', 'size_gb': 20, 'model': 'QEMU HARDDISK', 'serial': 'vd0',
                                  'rotational': True}]
    assert [i['mac'] for i in hardware['interfaces']] == [nic['mac'] for nic in good['nics']]
    assert hardware['interfaces'][0]['lldp'][0] == [1, '04' + good['nics'][0]['mac'].replace(':', '')]
    assert second['failed'] and first['provision_state'] == second['provision_state'] == 'manageable'
    assert second['mismatches'] == ['memory_mb: expected at least 4096, found 1024',
                                    'nics: %s not found (found %s)' % (short['nics'][1]['mac'], short['nics'][0]['mac'])]

    info = json.loads((tmp_path / 'info.json').read_text())['nodes'][0]
    assert info['inventory']['cpu']['count'] == 4 and info['hardware'] == hardware
    assert isinstance(info['history'], list)


def test_a_machine_no_inventory_knows_is_discovered_written_out_and_taken_over(engine, tmp_path):
    """Discovery: the test posts what an unknown machine's agent would (the session engine has ironic_discovery);
    Ironic enrolls it, discover.yml writes it out in the contract, and enrolling that inventory, completed,
    takes the discovered node over instead of creating a second one."""
    http_root = Path(engine.vars['ironic_http_root'])
    script = (http_root / 'inspector.ipxe').read_text()
    assert script.startswith('#!ipxe\n')  # iPXE runs nothing else
    assert 'kernel --timeout 60000 %s ' % engine.vars['ironic_discovery_kernel'] in script
    assert 'ipa-inspection-callback-url=%s/v1/continue_inspection ' % engine.endpoint in script
    assert 'initrd --name agent.ramdisk --timeout 60000 %s ' % engine.vars['ironic_discovery_ramdisk'] in script
    # Ironic's own boot script (written when its iPXE boot interface loads) falls back to it for unknown MACs
    assert 'chain inspector.ipxe' in (http_root / 'boot.ipxe').read_text()

    macs = ['52:54:00:e2:00:01', '52:54:00:e2:00:02']
    posted = agent_inventory(macs, 6144)
    posted['inventory']['bmc_address'] = '192.0.2.77'  # an address no node of the session engine has
    posted['inventory']['disks'].append({'name': '/dev/vdb', 'size': 8 << 30, 'model': 'QEMU HARDDISK',
                                         'serial': 'vd1', 'rotational': True})
    request = urllib.request.Request(
        engine.endpoint + '/v1/continue_inspection', data=json.dumps(posted).encode(),
        headers={'Content-Type': 'application/json', 'X-OpenStack-Ironic-API-Version': '1.84'})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 202
        uuid = json.loads(response.read())['node']['uuid']  # as the agent's lookup answers
    conn = engine.sdk()
    made = [uuid]  # removed at the end, whatever happens
    try:
        deadline = time.monotonic() + 60  # Ironic stores the data a moment after it answered
        while conn.baremetal.get('/nodes/%s/inventory' % uuid, microversion='1.81').status_code != 200:
            assert time.monotonic() < deadline, 'the discovered node has no inventory stored: %s' % (
                conn.baremetal.get_node(uuid).last_error, )
            time.sleep(0.5)
        node = conn.baremetal.get_node(uuid)
        assert (node.name, node.provision_state, node.driver) == (None, 'enroll', 'manual-management')

        discovered = tmp_path / 'discovered.yml'
        output = run_playbook(ROOT / 'playbooks/discover.yml', {'rackops_discovered_file': str(discovered)},
                              env=engine.env)[1]
        host = 'discovered-52-54-00-e2-00-01'
        assert '1 discovered machine(s) written to' in output and host in output, output[-3000:]
        text = discovered.read_text()
        assert text.startswith('# Machines Ironic discovered (1)')
        written = yaml.safe_load(text)['all']['children']['baremetal']['hosts']
        assert list(written) == [host]
        assert written[host]['baremetal'] == {
            'bmc': {'driver': 'ipmi', 'address': '192.0.2.77'},
            'nics': [{'mac': macs[0], 'pxe': True}, {'mac': macs[1]}],
            # the root disk: the smallest of at least 4 GiB, less Ironic's 1 GiB
            'properties': {'cpus': 4, 'cpu_arch': 'x86_64', 'memory_mb': 6144, 'local_gb': 7}}
        assert written[host]['rackops_discovered']['node'] == uuid
        assert [d['name'] for d in written[host]['rackops_discovered']['disks']] == ['/dev/vda', '/dev/vdb']

        # the operator completes it: a name, the BMC (fake here), interfaces the fake BMC can do
        server = dict(written[host]['baremetal'], bmc={'driver': 'fake-hardware'},
                      interfaces={'inspect': 'fake', 'deploy': 'fake', 'boot': 'fake'})
        name = PREFIX + 'found'
        inventory = write_inventory(tmp_path / 'inventory.yml', {name: server})
        output = run_playbook(ROOT / 'playbooks/validate.yml', None, '-i', str(inventory), env=engine.env)[1]
        assert 'take over node %s, which discovery enrolled' % uuid in output, output[-3000:]
        assert conn.baremetal.get_node(uuid).name is None  # check mode wrote nothing

        output = run_playbook(ROOT / 'playbooks/enroll.yml', None, '-i', str(inventory), env=engine.env)[1]
        assert 'take over node %s, which discovery enrolled' % uuid in output, output[-3000:]
        node = conn.baremetal.get_node(uuid)
        assert (node.name, node.driver, node.provision_state) == (name, 'fake-hardware', 'manageable')
        assert node.inspect_interface == 'fake' and node.management_interface == 'fake'
        holders = {p.node_id for p in conn.baremetal.ports(details=True) if p.address in macs}
        assert holders == {uuid}, 'a second node was made'
        assert sorted(p.address for p in conn.baremetal.ports(node=uuid)) == macs

        output = run_playbook(ROOT / 'playbooks/enroll.yml', None, '-i', str(inventory), env=engine.env)[1]
        assert recap(output).get('changed') == 0, output[-3000:]
        output = run_playbook(ROOT / 'playbooks/discover.yml', {'rackops_discovered_file': str(discovered)},
                              env=engine.env)[1]
        assert '0 discovered machine(s) written to' in output, output[-3000:]

        # a nameless node that discovery did not enroll (someone made it by hand) is never taken over
        other = conn.baremetal.create_node(driver='fake-hardware')
        made.append(other.id)
        conn.baremetal.create_port(node_id=other.id, address='52:54:00:e2:00:03')
        stranger = write_inventory(tmp_path / 'stranger.yml', {PREFIX + 'stranger': dict(
            server, nics=[{'mac': '52:54:00:e2:00:03'}])})
        code, output = run_playbook(ROOT / 'playbooks/enroll.yml', None, '-i', str(stranger), env=engine.env,
                                    expect_ok=False)
        assert code != 0 and '52:54:00:e2:00:03 is already a port of Ironic node %s' % other.id in output, output[-3000:]
        assert conn.baremetal.get_node(other.id).name is None
    finally:
        for node in made:
            conn.baremetal.set_node_maintenance(node)
            conn.baremetal.delete_node(node)
