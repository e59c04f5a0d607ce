"""ipmi nodes through Ironic's real ipmitool against the project's pyghmi BMC emulator.

The assertions read the emulator's own state, not Ironic's view of it.
"""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, recap, remove_nodes, run_playbook, write_inventory
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
    remove_nodes(engine.sdk(), lambda name: name.startswith('ipmi-'))


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


def secret_files(top: Path, secrets):
    """{path: (mode, the secrets it holds)} for every regular file under ``top`` that holds one."""
    found = {}
    for path in top.rglob('*'):
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > 64 * 1024 * 1024:
            continue
        data = path.read_bytes()
        held = [i for i, secret in enumerate(secrets) if secret.encode() in data]
        if held:
            found[path] = (stat.S_IMODE(info.st_mode), held)
    return found


def test_a_whole_provision_run_at_vvvv_leaks_no_secret(engine, bmcs, ipmi_inventory, tmp_path):
    # The API password and every BMC password through each phase provision.yml has - enroll of new
    # nodes and their verification (ipmitool), provide, then a deploy that fails (its image is not
    # there): the error paths print most. None of them may appear in the output at -vvvv, in the
    # reports, or in any file of the engine's (logs, boot configs, caches) but those that must hold
    # them - its database, its password file, the clouds.yaml - and those are private to the engine's
    # account by themselves (0600 or 0640), not only by their directory.
    secrets = [engine.password] + [spec['password'] for spec in bmcs.specs]
    inventory = yaml.safe_load(ipmi_inventory.read_text())
    group = inventory['all']['children']['baremetal']
    # new nodes on the same BMCs: enrolled and verified through ipmitool in this run
    group['hosts'] = {name.replace('ipmi-', 'leak-'): dict(host, baremetal=dict(host['baremetal'], nics=[
        {'mac': '52:54:00:21:00:%02x' % i}])) for i, (name, host) in enumerate(sorted(group['hosts'].items()))}
    group['vars']['baremetal_defaults'].update({
        'automated_clean': False, 'deploy_kernel': 'http://127.0.0.1:9/ipa.kernel',
        'deploy_ramdisk': 'http://127.0.0.1:9/ipa.initramfs',
        'image': {'source': 'http://127.0.0.1:9/disk.img', 'checksum': 'sha256:' + '0' * 64}})
    deploying = tmp_path / 'deploy.yml'
    deploying.write_text(yaml.safe_dump(inventory))
    verified_before = {name: s['calls'].get('get_power_state', 0) for name, s in bmcs.states().items()}
    reports = tmp_path / 'reports'
    try:
        code, output = play(engine, 'provision.yml', deploying, '-vvvv', expect_ok=False,
                            rackops_report_dir=str(reports))
    finally:
        conn = engine.sdk()
        for node in conn.baremetal.nodes():
            if node.name and node.name.startswith('leak-'):
                conn.baremetal.set_node_maintenance(node.id)
                conn.baremetal.delete_node(node.id)
    report = json.loads((reports / 'provision.json').read_text())
    # the run went through to the deploy, and every node failed there, saying why
    assert code != 0 and sorted(n['name'] for n in report['nodes']) == sorted(group['hosts']), output[-3000:]
    assert all(n['failed'] and (n['last_error'] or n['msg']) for n in report['nodes']), report['nodes']
    assert all(s['calls'].get('get_power_state', 0) > verified_before[name] for name, s in bmcs.states().items())
    for i, secret in enumerate(secrets):
        assert secret not in output, 'secret %d in the output' % i
    assert not secret_files(reports, secrets)
    held = secret_files(engine.base, secrets)
    logs = {path for path in held if path.suffix == '.log' or 'log' in path.parts}
    assert not logs, sorted(map(str, logs))
    loose = {str(path): oct(mode) for path, (mode, which) in held.items() if mode & 0o037}
    assert not loose, loose
    # (what holds them: the database with the BMC passwords, the API password's files)
    assert any(path.name == 'ironic.sqlite' for path in held) and any(0 in which for mode, which in held.values())
