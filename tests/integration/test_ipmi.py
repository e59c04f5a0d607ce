"""ipmi nodes through Ironic's real ipmitool against the project's pyghmi BMC emulator.

The assertions read the emulator's own state, not Ironic's view of it.
"""

from __future__ import annotations

import subprocess

import pytest
from conftest import ROOT, recap, run_playbook, write_inventory
from emulators import BmcEmulator

PLAYBOOKS = ROOT / 'playbooks'
COUNT = 4


@pytest.fixture(scope='module')
def bmcs(tmp_path_factory):
    emulator = BmcEmulator(tmp_path_factory.mktemp('bmcs'), COUNT)
    yield emulator
    emulator.stop()


@pytest.fixture(scope='module')
def ipmi_inventory(engine, bmcs, tmp_path_factory):
    servers = {spec['name']: {'bmc': {'address': spec['address'], 'port': spec['port'],
                                      'password': spec['password']},
                              'nics': [{'mac': '52:54:00:20:00:%02x' % i}]}
               for i, spec in enumerate(bmcs.specs)}
    path = write_inventory(tmp_path_factory.mktemp('ipmi') / 'ipmi.yml', servers,
                           {'bmc': {'driver': 'ipmi', 'username': 'admin'}})
    yield path
    conn = engine.sdk()
    for node in conn.baremetal.nodes():
        if node.name and node.name.startswith('ipmi-'):
            conn.baremetal.delete_node(node.id)


def play(engine, name, inventory, *args, expect_ok=True, **extra):
    return run_playbook(PLAYBOOKS / name, extra or None, '-i', str(inventory), *args, env=engine.env,
                        expect_ok=expect_ok)


def test_the_emulator_speaks_real_ipmi(bmcs):
    spec = bmcs.specs[0]
    base = ['ipmitool', '-I', 'lanplus', '-C', '3', '-H', spec['address'], '-p', str(spec['port']),
            '-U', 'admin', '-P', spec['password']]
    assert subprocess.run(base + ['power', 'on'], capture_output=True, text=True, check=True).returncode == 0
    assert bmcs.states()[spec['name']]['power'] == 'on'
    out = subprocess.run(base + ['power', 'status'], capture_output=True, text=True, check=True).stdout
    assert 'Chassis Power is on' in out
    subprocess.run(base + ['chassis', 'bootdev', 'pxe'], capture_output=True, check=True)
    assert bmcs.states()[spec['name']]['boot_device'] == 'network'
    wrong = subprocess.run(base[:-1] + ['wrong-password', 'power', 'status'], capture_output=True, text=True,
                           check=False)
    assert wrong.returncode != 0
    bmcs.set(spec['name'], power='off', boot_device='default')


def test_enroll_verifies_through_ipmitool(engine, bmcs, ipmi_inventory):
    before = {name: s['calls'].get('get_power_state', 0) for name, s in bmcs.states().items()}
    code, output = play(engine, 'enroll.yml', ipmi_inventory, '-vvv')
    assert 'bmc-pw-0' not in output
    nodes = {n.name: n for n in engine.sdk().baremetal.nodes(details=True) if n.name.startswith('ipmi-')}
    assert {n.provision_state for n in nodes.values()} == {'manageable'}
    assert {n.driver_info['ipmi_password'] for n in nodes.values()} == {'******'}
    after = bmcs.states()
    assert all(after[name]['calls'].get('get_power_state', 0) > before[name] for name in before)
    code, output = play(engine, 'enroll.yml', ipmi_inventory)
    assert recap(output)['changed'] == 0


def test_power_and_boot_device_reach_the_bmcs(engine, bmcs, ipmi_inventory):
    play(engine, 'power.yml', ipmi_inventory, rackops_power='on', rackops_boot_device='pxe',
         rackops_boot_device_persistent=True)
    states = bmcs.states()
    assert {s['power'] for s in states.values()} == {'on'}
    assert {s['boot_device'] for s in states.values()} == {'network'}
    assert {s['boot_persistent'] for s in states.values()} == {True}
    code, output = play(engine, 'power.yml', ipmi_inventory, rackops_power='on', rackops_boot_device='pxe',
                        rackops_boot_device_persistent=True)
    assert recap(output)['changed'] == 0

    resets = {name: s['calls'].get('power_reset', 0) + s['calls'].get('power_cycle', 0)
              + s['calls'].get('power_off', 0) for name, s in states.items()}
    play(engine, 'power.yml', ipmi_inventory, rackops_power='reboot')
    states = bmcs.states()
    assert all(s['calls'].get('power_reset', 0) + s['calls'].get('power_cycle', 0) + s['calls'].get('power_off', 0)
               > resets[name] for name, s in states.items())
    assert {s['power'] for s in states.values()} == {'on'}

    play(engine, 'power.yml', ipmi_inventory, rackops_power='off')
    assert {s['power'] for s in bmcs.states().values()} == {'off'}


def test_a_dead_bmc_fails_its_node_only(engine, bmcs, ipmi_inventory):
    dead = bmcs.specs[2]['name']
    bmcs.set(dead, unreachable=True)
    try:
        code, output = play(engine, 'power.yml', ipmi_inventory, expect_ok=False, rackops_power='on')
        assert code != 0
        row = next(line for line in output.splitlines() if dead in line and 'FAILED' in line)
        assert 'power' in row
        states = bmcs.states()
        assert {s['power'] for name, s in states.items() if name != dead} == {'on'}
        assert states[dead]['power'] == 'off'
    finally:
        bmcs.set(dead, unreachable=False)
