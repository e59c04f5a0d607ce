"""Every module's EXAMPLES, as its documentation prints them, run against the session's engine.

The examples are read from the modules' source (what ansible-doc prints) and run unchanged,
except for what cannot be real here, substituted: the Ironic modules' servers are fake-hardware
nodes (a literal `bmc:` becomes `driver: fake-hardware`), the bmc module's BMCs are the project's
emulator (IPMI on 623, Redfish over plain HTTP), the vaulted passwords are the test's, and the
engine's endpoint is the session engine's.

Each example runs in a play of its own: an example that says `run_once` is a fleet task, so its
play is on group `baremetal`, whose hosts cannot be reached (SSH to a closed port): a fleet task
that forgot `delegate_to: localhost` fails as unreachable, as it would against a real rack. The
others run on localhost. Each example's registered result is saved; the test reads them.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import documented_examples, free_port, run_playbook
from emulators import BmcEmulator

PREFIX = 'rack1-'
SERVERS = {'rack1-u07': '52:54:00:e7:00:07', 'rack1-u12': '52:54:00:e7:00:12', 'rack1-u14': '52:54:00:e7:00:14'}
# the bmc module's examples: IPMI on 623 as a real BMC answers, one loopback address per BMC
BMC_FIRST_OCTET, REDFISH_PORT, BMC_PASSWORD = 180, 8000, 'vaulted-bmc-pw'


def module_examples(module: str) -> list:
    """The module's EXAMPLES block, parsed: what ansible-doc prints for it."""
    return yaml.safe_load(documented_examples('modules/' + module))


def substituted(value, substitutions: dict):
    """value with every string that is a key of substitutions replaced, anywhere inside it."""
    text = json.dumps(value)
    for old, new in substitutions.items():
        text = text.replace(json.dumps(old), json.dumps(new))
    return json.loads(text)


def fake_bmcs(value):
    """A literal BMC description (a dict under `bmc:` naming a driver) becomes a fake-hardware one."""
    if isinstance(value, dict):
        return {key: ({'driver': 'fake-hardware'} if key == 'bmc' and isinstance(item, dict) and 'driver' in item
                      else fake_bmcs(item)) for key, item in value.items()}
    if isinstance(value, list):
        return [fake_bmcs(item) for item in value]
    return value


def example_plays(module: str, results: Path, transform) -> list:
    """One play per example; each saves what the example registered in results/<module>-<index>.json."""
    plays = []
    for index, example in enumerate(module_examples(module)):
        example = transform(example)
        fleet = 'run_once' in example
        save = {'name': 'Save what the example returned', 'ansible.builtin.copy': {
            'content': '{{ rackops_example | to_json }}', 'dest': str(results / ('%s-%d.json' % (module, index))),
            'mode': '0600'}, 'changed_when': False, 'check_mode': False}
        if fleet:
            save.update(run_once=True, delegate_to='localhost')
        # failures are the test's to judge (unreachable hosts are not ignored: no result then)
        if 'block' in example:
            example['block'] = [dict(task, register='rackops_example', ignore_errors=True) for task in example['block']]
            example['block'].append(save)
            tasks = [example]
        else:
            tasks = [dict(example, register='rackops_example', ignore_errors=True), save]
            if example.get('register'):
                # later examples read what this one registered, under its own name
                tasks.append({'name': 'Keep the result under the example\'s own name',
                              'ansible.builtin.set_fact': {example['register']: '{{ rackops_example }}'},
                              'run_once': fleet})
        plays.append({'name': '%s example %d' % (module, index), 'hosts': 'baremetal' if fleet else 'localhost',
                      'gather_facts': False, 'tasks': tasks})
    return plays


def example_results(results: Path, module: str) -> dict:
    """{index: registered result} of the module's examples that ran to the end."""
    out = {}
    for index in range(len(module_examples(module))):
        path = results / ('%s-%d.json' % (module, index))
        if path.exists():
            out[index] = json.loads(path.read_text())
    return out


@pytest.fixture(scope='module')
def image_url(tmp_path_factory):
    """A small disk image on a loopback HTTP server (the deploy checks the URL)."""
    root = tmp_path_factory.mktemp('example-images')
    data = b'\0' * (1 << 20)
    (root / 'disk.img').write_bytes(data)
    port = free_port()
    proc = subprocess.Popen(  # pylint: disable=consider-using-with
        [sys.executable, '-m', 'http.server', '--bind', '127.0.0.1', str(port)], cwd=root,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    yield {'source': 'http://127.0.0.1:%d/disk.img' % port, 'checksum': 'sha256:' + hashlib.sha256(data).hexdigest()}
    proc.terminate()
    proc.wait(timeout=10)


def unreachable_host(closed_port: int) -> dict:
    # a server of the rack, as Ansible would reach it: SSH, here to a port nobody listens on
    return {'ansible_host': '127.0.0.1', 'ansible_port': closed_port, 'ansible_connection': 'ssh',
            'ansible_ssh_common_args': '-o ConnectTimeout=3 -o StrictHostKeyChecking=no'}


@pytest.fixture(scope='module')
def rack(engine, image_url, tmp_path_factory):
    """The examples' rack as fake-hardware nodes in an inventory; its nodes removed before each module."""
    workdir = tmp_path_factory.mktemp('examples')
    closed = free_port()
    inventory = workdir / 'inventory.yml'
    inventory.write_text(yaml.safe_dump({'all': {'children': {'baremetal': {
        'vars': {'baremetal_defaults': {'bmc': {'driver': 'fake-hardware'}, 'image': image_url}},
        'hosts': {name: dict(unreachable_host(closed), baremetal={'nics': [{'mac': mac}]})
                  for name, mac in SERVERS.items()}}}}}))
    yield {'workdir': workdir, 'inventory': inventory}
    remove_nodes(engine)


def remove_nodes(engine):
    conn = engine.sdk()
    for node in conn.baremetal.nodes():
        if node.name and node.name.startswith(PREFIX):
            conn.baremetal.set_node_maintenance(node.id, reason='test_examples: removed')
            conn.baremetal.delete_node(node.id)


def run_examples(engine, rack, module: str, setup_state: str | None = 'manageable') -> tuple[dict, str]:
    """The module's examples against the rack's nodes, from setup_state (None: no nodes at all)."""
    remove_nodes(engine)
    results = rack['workdir'] / module
    results.mkdir()
    plays = []
    if setup_state:
        plays.append({'name': 'Enroll the rack', 'hosts': 'localhost', 'gather_facts': False, 'tasks': [
            {'name': 'Enroll', 'rackops.baremetal.node': {
                'cloud': 'rackops', 'provision_state': setup_state,
                'nodes': "{{ groups['baremetal'] | rackops.baremetal.inventory_nodes(hostvars) }}"}}]})
    substitutions = {'http://127.0.0.1:6385': engine.endpoint}
    plays += example_plays(module, results, lambda example: fake_bmcs(substituted(example, substitutions)))
    playbook = rack['workdir'] / (module + '.yml')
    playbook.write_text(yaml.safe_dump(plays, sort_keys=False))
    output = run_playbook(playbook, {'vault_ironic_password': engine.password}, '-i', str(rack['inventory']),
                          env={'OS_CLIENT_CONFIG_FILE': str(engine.clouds_yaml)}, expect_ok=False)[1]
    return example_results(results, module), output


def nodes_by_name(engine) -> dict:
    return {n.name: n for n in engine.sdk().baremetal.nodes(details=True) if n.name and n.name.startswith(PREFIX)}


def field_of_each(engine, field) -> dict:
    """{node name: that field} of the examples' nodes."""
    return {name: getattr(node, field) for name, node in nodes_by_name(engine).items()}


def assert_all_passed(module: str, results: dict, output: str, expected_failures=()):
    count = len(module_examples(module))
    assert sorted(results) == list(range(count)), 'examples without a result (unreachable?):\n' + output[-4000:]
    failed = {index: result.get('msg') or result for index, result in results.items()
              if result.get('failed') and index not in expected_failures}
    assert not failed, failed


def test_node_examples(engine, rack):
    results, output = run_examples(engine, rack, 'node', setup_state=None)
    assert_all_passed('node', results, output)
    # enrolled; one made available from its literal description; the others adopted (the available
    # one is left to the deploy); then the available one removed as the inventory describes it
    assert results[1]['changed'] and results[2]['changed'] and results[3]['changed']
    assert {n['name']: n['provision_state'] for n in results[2]['nodes']} == {
        'rack1-u07': 'active', 'rack1-u12': 'available', 'rack1-u14': 'active'}
    assert field_of_each(engine, 'provision_state') == {'rack1-u07': 'active', 'rack1-u14': 'active'}


# module, the state its examples start from, and where they leave the nodes
ENDS = {
    'power': ('manageable', 'power_state', {'rack1-u07': 'power off', 'rack1-u12': 'power on', 'rack1-u14': 'power off'}),
    'deploy': ('available', 'provision_state', {'rack1-u07': 'active', 'rack1-u12': 'available', 'rack1-u14': 'active'}),
}


@pytest.mark.parametrize('module', sorted(ENDS))
def test_examples_leave_the_nodes_where_they_say(engine, rack, module):
    setup_state, field, expected = ENDS[module]
    results, output = run_examples(engine, rack, module, setup_state=setup_state)
    assert_all_passed(module, results, output)
    assert field_of_each(engine, field) == expected


def test_inspect_examples(engine, rack):
    results, output = run_examples(engine, rack, 'inspect')
    assert_all_passed('inspect', results, output)
    assert results[0]['changed']
    assert {node.provision_state for node in nodes_by_name(engine).values()} == {'manageable'}


def test_clean_examples(engine, rack):
    results, output = run_examples(engine, rack, 'clean')
    # the RAID example reaches Ironic whole; fake hardware has none of its steps, and Ironic says so
    assert_all_passed('clean', results, output, expected_failures=(1,))
    raid = json.dumps(results[1]['nodes'])
    assert results[1]['failed'] and 'delete_configuration' in raid, results[1]
    nodes = nodes_by_name(engine)
    # the BIOS step ran on its node (after the RAID example left it in clean failed)
    assert nodes['rack1-u07'].provision_state == 'manageable', nodes['rack1-u07'].last_error
    assert results[2]['changed']


def test_console_examples(engine, rack):
    results, output = run_examples(engine, rack, 'console')
    assert_all_passed('console', results, output)
    # on (fake-hardware's fake console), their addresses shown, off again
    assert results[0]['changed'] and [n['console_enabled'] for n in results[0]['nodes']] == [True, True]
    assert set(results[1]['msg']) == {'rack1-u07', 'rack1-u12'}
    assert results[2]['changed'] and [n['console_enabled'] for n in results[2]['nodes']] == [False, False]
    assert field_of_each(engine, 'is_console_enabled') == {name: False for name in SERVERS}


def test_node_info_examples(engine, rack):
    results, output = run_examples(engine, rack, 'node_info')
    assert_all_passed('node_info', results, output)
    assert set(SERVERS) <= {node['name'] for node in results[0]['nodes']}
    assert [node['name'] for node in results[1]['nodes']] == ['rack1-u12']
    # the block's task under module_defaults: HTTP basic to the endpoint, with the vaulted password
    assert 'nodes' in results[4] and engine.password not in output


@pytest.fixture(scope='module')
def bmc_rack(tmp_path_factory):
    workdir = tmp_path_factory.mktemp('example-bmcs')
    emulator = BmcEmulator(workdir, 3, first_octet=BMC_FIRST_OCTET, port=623, prefix='rack1-bmc',
                           # the examples' BMCs share one vaulted password
                           extra={'redfish_port': REDFISH_PORT, 'password': BMC_PASSWORD})
    specs = emulator.specs
    closed = free_port()
    inventory = workdir / 'inventory.yml'
    inventory.write_text(yaml.safe_dump({'all': {'children': {'baremetal': {
        'vars': {'baremetal_defaults': {'bmc': {'driver': 'ipmi', 'username': 'admin'}}},
        'hosts': {name: dict(unreachable_host(closed), baremetal={
            'nics': [{'mac': mac}], 'bmc': {'address': spec['address'], 'password': spec['password']}})
            for (name, mac), spec in zip(sorted(SERVERS.items()), specs)}}}}}))
    yield {'workdir': workdir, 'inventory': inventory, 'emulator': emulator}
    emulator.stop()


def test_bmc_examples(bmc_rack):
    emulator = bmc_rack['emulator']
    u12, u14 = emulator.specs[1], emulator.specs[2]
    results = bmc_rack['workdir'] / 'results'
    results.mkdir()
    # the examples' BMCs are the emulator's; Redfish is plain HTTP there
    substitutions = {'10.0.0.12': u12['address'], 'https://10.0.0.14': 'http://%s:%d' % (u14['address'], REDFISH_PORT)}
    playbook = bmc_rack['workdir'] / 'bmc.yml'
    playbook.write_text(yaml.safe_dump(example_plays('bmc', results, lambda e: substituted(e, substitutions))))
    # the Redfish server runs: the example powers it off
    emulator.set(u14['name'], power='on')
    output = run_playbook(playbook, {'vault_bmc_password': BMC_PASSWORD}, '-i', str(bmc_rack['inventory']),
                          expect_ok=False)[1]
    found = example_results(results, 'bmc')
    assert_all_passed('bmc', found, output)
    assert BMC_PASSWORD not in output
    states = emulator.states()
    assert (states[u12['name']]['boot_device'], states[u12['name']]['boot_uefi']) == ('network', True)
    assert states[u14['name']]['power'] == 'off' and states[u14['name']]['calls'].get('redfish_reset'), states[u14['name']]
    assert found[2]['changed']
