"""The rescue module and playbook against real Ironic, with fake-hardware's `fake` rescue interface.

The nodes are adopted (enroll.yml with provision_state active): deployed, as a rescue needs. One is enrolled
without a rescue interface (no-rescue, Ironic's default for real hardware types) and gets one while it runs.
"""

from __future__ import annotations

import re

import pytest
from conftest import ROOT, recap, remove_nodes, run_playbook, run_task, write_inventory

PREFIX = 'resc-'
COUNT = 3
PASSWORD = 'r3scue-Pa55-word'


def describe(i, rescue='fake'):
    interfaces = {'deploy': 'fake', 'boot': 'fake', 'rescue': rescue}
    # (what an adopted server runs: recorded, never fetched)
    return {'bmc': {'driver': 'fake-hardware'}, 'interfaces': interfaces,
            'image': {'source': 'http://127.0.0.1:9/os.qcow2', 'checksum': 'sha256:' + '0' * 64},
            'nics': [{'mac': '52:54:00:e3:00:%02x' % i}]}


def names():
    return ['%s%d' % (PREFIX, i) for i in range(COUNT)]


def write_fleet(path, without_rescue=()):
    return write_inventory(path, {name: describe(i, rescue='no-rescue' if name in without_rescue else 'fake')
                                  for i, name in enumerate(names())})


@pytest.fixture(scope='module')
def deployed(engine, tmp_path_factory):
    work = tmp_path_factory.mktemp('rescue')
    # the last one without a rescue interface
    inventory = write_fleet(work / 'inventory.yml', without_rescue=names()[-1:])
    run_playbook(ROOT / 'playbooks/enroll.yml', {'rackops_provision_state': 'active'}, '-i', str(inventory),
                 env=engine.env)
    yield {'work': work, 'inventory': inventory}
    remove_nodes(engine.sdk(), lambda name: name.startswith(PREFIX))


def states(engine):
    return {node.name: node.provision_state for node in engine.sdk().baremetal.nodes(fields=['name', 'provision_state'])
            if node.name and node.name.startswith(PREFIX)}


def play(engine, deployed, *args, expect_ok=True, **extra):
    return run_playbook(ROOT / 'playbooks/rescue.yml', dict({'rackops_report_dir': str(deployed['work'])}, **extra),
                        '-i', str(deployed['inventory']), *args, env=engine.env, expect_ok=expect_ok)


def test_rescue_check_apply_idempotent_and_back(engine, deployed, tmp_path):
    fine = names()[:-1]
    assert states(engine) == dict.fromkeys(names(), 'active')
    # no password: refused before anything is asked of Ironic
    rc, output = play(engine, deployed, expect_ok=False)
    assert rc != 0 and 'rackops_rescue_password is required' in output, output[-2000:]
    # check mode: what would be rescued, nothing sent
    output = play(engine, deployed, '--check', '--diff', expect_ok=False, rackops_rescue_password=PASSWORD)[1]
    assert states(engine) == dict.fromkeys(names(), 'active')
    assert re.search(r'\+.*provision_state"?: "?rescue', output), output[-3000:]

    # the two with a rescue interface are rescued; the one without fails, named, and says how to give it one
    rc, output = play(engine, deployed, '-v', expect_ok=False, rackops_rescue_password=PASSWORD)
    assert rc != 0, output[-3000:]
    assert states(engine) == dict(dict.fromkeys(fine, 'rescue'), **{names()[-1]: 'active'})
    assert 'has rescue interface no-rescue: give it interfaces.rescue: agent' in output, output[-3000:]
    assert PASSWORD not in output
    # Ironic keeps the password's hash only
    node = engine.sdk().baremetal.get_node(fine[0])
    assert PASSWORD not in str(node.instance_info)

    # given a rescue interface while it runs (a maintenance window), the third one is rescued by the re-run
    inventory = write_fleet(deployed['work'] / 'inventory.yml')
    output = run_playbook(ROOT / 'playbooks/enroll.yml', {'rackops_provision_state': 'active'}, '-i', str(inventory),
                          env=engine.env)[1]
    assert recap(output)['changed'] == 1, output[-3000:]
    last = engine.sdk().baremetal.get_node(names()[-1])
    assert (last.rescue_interface, last.provision_state, last.is_maintenance) == ('fake', 'active', False)
    output = play(engine, deployed, rackops_rescue_password=PASSWORD)[1]
    assert recap(output)['changed'] == 1 and states(engine) == dict.fromkeys(names(), 'rescue'), output[-3000:]
    assert recap(play(engine, deployed, rackops_rescue_password=PASSWORD)[1])['changed'] == 0

    # back: each one active again, once
    output = play(engine, deployed, rackops_rescue='unrescued')[1]
    assert recap(output)['changed'] == 1 and states(engine) == dict.fromkeys(names(), 'active'), output[-3000:]
    assert recap(play(engine, deployed, rackops_rescue='unrescued')[1])['changed'] == 0


def test_a_node_not_deployed_is_not_rescued(engine, deployed, tmp_path):
    result = run_task(engine.env, tmp_path, 'rackops.baremetal.rescue',
                      {'cloud': 'rackops', 'nodes': ['%snone' % PREFIX, names()[0]], 'state': 'unrescued'})[0]
    by_name = {node['name']: node for node in result['nodes']}
    assert by_name['%snone' % PREFIX]['failed'] and 'no such node' in by_name['%snone' % PREFIX]['msg']
    assert not by_name[names()[0]]['failed'] and not by_name[names()[0]]['changed']
