"""The clean module and clean.yml against real Ironic, with fake-hardware's `fake` BIOS interface.

fake BIOS's apply_configuration stores the settings it is given in Ironic's
BIOS table, so a manual clean step's effect is read back from Ironic itself.
"""

from __future__ import annotations

import json

import pytest
from conftest import ROOT, recap, remove_nodes, run_playbook, run_task, write_inventory

PREFIX = 'cln-'
COUNT = 6
BIOS_STEP = {'interface': 'bios', 'step': 'apply_configuration',
             'args': {'settings': [{'name': 'ProcVirtualization', 'value': 'Enabled'}]}}


def describe(i):
    return {'name': '%s%d' % (PREFIX, i), 'bmc': {'driver': 'fake-hardware'},
            'interfaces': {'bios': 'fake', 'raid': 'fake', 'deploy': 'fake', 'boot': 'fake'},
            'nics': [{'mac': '52:54:00:c1:00:%02x' % i}]}


@pytest.fixture(scope='module')
def fleet(engine, tmp_path_factory):
    work = tmp_path_factory.mktemp('clean')
    inventory = write_inventory(work / 'inventory.yml', {describe(i)['name']: {
        k: v for k, v in describe(i).items() if k != 'name'} for i in range(COUNT)})
    run_playbook(ROOT / 'playbooks/enroll.yml', None, '-i', str(inventory), env=engine.env)
    yield {'work': work, 'inventory': inventory}
    remove_nodes(engine.sdk(), lambda name: name.startswith(PREFIX))


def snapshot(engine, names):
    """What a write would change: each node's state, maintenance, extra, updated_at and BIOS settings."""
    conn = engine.sdk()
    out = {}
    for node in conn.baremetal.nodes(details=True):
        if node.name in names:
            bios = conn.baremetal.get('/nodes/%s/bios' % node.id, microversion='1.81').json()['bios']
            out[node.name] = {'state': node.provision_state, 'maintenance': node.is_maintenance,
                              'extra': node.extra, 'updated_at': node.updated_at,
                              'raid': node.target_raid_config, 'last_error': node.last_error,
                              'bios': {s['name']: s['value'] for s in bios}}
    return out


def run_clean(engine, tmp_path, nodes, *args, **params):
    return run_task(engine.env, tmp_path, 'rackops.baremetal.clean',
                    dict({'cloud': 'rackops', 'nodes': nodes}, **params), *args)


def node_history(engine, tmp_path, name):
    """The node's history as node_info returns it."""
    info = run_task(engine.env, tmp_path, 'rackops.baremetal.node_info',
                    {'cloud': 'rackops', 'name': name, 'history': True})[0]
    return info['nodes'][0]['history']


def test_manual_steps_check_diff_apply_idempotent(engine, fleet, tmp_path):
    nodes = [describe(i) for i in range(2)]
    names = {n['name'] for n in nodes}
    raid = {'logical_disks': [{'size_gb': 'MAX', 'raid_level': '1', 'is_root_volume': True}]}
    params = {'steps': [BIOS_STEP], 'target_raid_config': raid}
    before = snapshot(engine, names)
    assert {n['state'] for n in before.values()} == {'manageable'}

    result = run_clean(engine, tmp_path, nodes, '--check', **params)[0]
    assert result['changed'] and result['nodes'][0]['actions'] == ['set target_raid_config', 'clean']
    result, output = run_clean(engine, tmp_path, nodes, '--check', '--diff', **params)
    assert result['changed'] and '+    - bios.apply_configuration' in output and 'raid_level' in output
    assert snapshot(engine, names) == before, 'check mode wrote to Ironic'

    result, output = run_clean(engine, tmp_path, nodes, **params)
    assert not result['failed'] and recap(output)['changed'] == 1, result['msg']
    after = snapshot(engine, names)
    for name in names:
        assert after[name]['state'] == 'manageable' and not after[name]['maintenance']
        assert after[name]['bios'] == {'ProcVirtualization': 'Enabled'}
        assert after[name]['raid'] == raid
        assert after[name]['extra']['rackops_clean']['steps'] == ['bios.apply_configuration']

    for args in (('--check',), ()):
        result, output = run_clean(engine, tmp_path, nodes, *args, **params)
        assert not result['changed'] and recap(output)['changed'] == 0
        assert result['nodes'][0]['msg'].startswith('cleaned with these steps before')
    assert snapshot(engine, names) == after

    # other steps are other work; force runs the same ones again
    reset = {'steps': [{'interface': 'bios', 'step': 'factory_reset'}]}
    assert run_clean(engine, tmp_path, nodes, '--check', **reset)[0]['changed']
    result = run_clean(engine, tmp_path, nodes[:1], force=True, **params)[0]
    assert result['changed'] and result['nodes'][0]['actions'] == ['clean']
    assert snapshot(engine, names)[nodes[0]['name']]['updated_at'] != after[nodes[0]['name']]['updated_at']


def test_an_unknown_step_is_named_and_the_node_ends_manageable(engine, fleet, tmp_path):
    nodes = [describe(2), describe(3)]
    bad_step = {'interface': 'bios', 'step': 'no_such_step'}
    result = run_clean(engine, tmp_path, nodes[:1], steps=[bad_step])[0]
    assert result['failed'] and 'bios.no_such_step' in result['msg']
    node = result['nodes'][0]
    assert node['failed'] and node['failed_step'] == 'bios.no_such_step' and node['recovered']
    assert 'does not support this clean step' in node['last_error'] and 'no_such_step' in node['last_error']
    state = snapshot(engine, {nodes[0]['name']})[nodes[0]['name']]
    assert state['state'] == 'manageable' and not state['maintenance']
    assert 'rackops_clean' not in (state['extra'] or {})
    history = node_history(engine, tmp_path, nodes[0]['name'])
    assert any(e['severity'] == 'ERROR' and 'no_such_step' in e['event'] for e in history), history

    # a step that fails while running puts the node in maintenance: recovered out of it
    broken = dict(BIOS_STEP, args={'settings': 'not a list'})
    result = run_clean(engine, tmp_path, nodes, steps=[broken], fail_on='never')[0]
    assert not result['failed'] and all(n['failed'] for n in result['nodes'])
    assert {n['failed_step'] for n in result['nodes']} == {'bios.apply_configuration'}
    assert all('failed step' in n['last_error'] and n['provision_state'] == 'manageable' for n in result['nodes'])
    states = snapshot(engine, {n['name'] for n in nodes})
    assert {(s['state'], s['maintenance']) for s in states.values()} == {('manageable', False)}

    # the operator fixes the input and re-runs: it converges, the old error is gone
    result = run_clean(engine, tmp_path, nodes, steps=[BIOS_STEP])[0]
    assert not result['failed'] and all(n['changed'] and n['last_error'] is None for n in result['nodes'])


def test_bad_steps_are_refused_before_any_write(engine, fleet, tmp_path):
    nodes = [describe(4)]
    before = snapshot(engine, {nodes[0]['name']})
    steps = [BIOS_STEP, {'interface': 'bios', 'step': ''}]
    result = run_clean(engine, tmp_path, nodes, steps=steps)[0]
    assert result['failed'] and 'steps[1]: step must be the name of a clean step' in result['msg']
    result, output = run_clean(engine, tmp_path, nodes, steps=[{'interface': 'disk', 'step': 'wipe'}])
    assert result['failed'] and 'disk' in result['msg'] and 'interface' in result['msg']
    assert snapshot(engine, {nodes[0]['name']}) == before


def test_clean_playbook_provides_and_reports(engine, fleet, tmp_path):
    reports = tmp_path / 'reports'
    extra = {'rackops_report_dir': str(reports), 'rackops_hosts': '%s4,%s5' % (PREFIX, PREFIX)}
    inventory = str(fleet['inventory'])
    before = snapshot(engine, {PREFIX + '4', PREFIX + '5'})
    output = run_playbook(ROOT / 'playbooks/clean.yml', extra, '-i', inventory, '--check', env=engine.env)[1]
    assert recap(output)['changed'] > 0 and snapshot(engine, set(before)) == before

    output = run_playbook(ROOT / 'playbooks/clean.yml', extra, '-i', inventory, env=engine.env)[1]
    assert recap(output)['changed'] > 0 and recap(output)['failed'] == 0
    report = json.loads((reports / 'clean.json').read_text())
    assert {(n['name'], n['provision_state']) for n in report['nodes']} == {
        (PREFIX + '4', 'available'), (PREFIX + '5', 'available')}
    assert '<testsuite' in (reports / 'clean.xml').read_text()

    output = run_playbook(ROOT / 'playbooks/clean.yml', extra, '-i', inventory, env=engine.env)[1]
    assert recap(output)['changed'] == 0 and 'already available' in output

    # manual steps on available nodes: to manageable, cleaned, and provided again when asked
    steps = dict(extra, rackops_clean_steps=[BIOS_STEP], rackops_provide=True)
    output = run_playbook(ROOT / 'playbooks/clean.yml', steps, '-i', inventory, env=engine.env)[1]
    assert recap(output)['changed'] > 0 and 'manage; clean; provide' in output
    after = snapshot(engine, set(before))
    assert {(s['state'], s['bios'].get('ProcVirtualization')) for s in after.values()} == {('available', 'Enabled')}
    output = run_playbook(ROOT / 'playbooks/clean.yml', steps, '-i', inventory, env=engine.env)[1]
    assert recap(output)['changed'] == 0
