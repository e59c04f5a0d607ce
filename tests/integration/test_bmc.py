"""The `bmc` module and playbooks/preflight.yml against real protocols, no Ironic.

IPMI: the project's pyghmi BMC emulator, which the standard client (ipmitool)
must also accept. Redfish: sushy-tools' emulator. Assertions read the
emulators' own state, not what the module says about it.
"""

from __future__ import annotations

import json
import subprocess
import time
from xml.etree import ElementTree

import pytest
import yaml
from conftest import ROOT, recap, run_playbook, write_inventory
from emulators import BmcEmulator, RedfishEmulator

COUNT = 50
DEAD = 'bmc-07'
TIMEOUT = 6


@pytest.fixture(scope='module')
def rack(tmp_path_factory):
    emulator = BmcEmulator(tmp_path_factory.mktemp('bmc-rack'), COUNT, first_octet=100, port=6240, prefix='bmc')
    yield emulator
    emulator.stop()


def bmc_list(rack, names=None, **override):
    out = []
    for spec in rack.specs:
        if names is None or spec['name'] in names:
            entry = {'name': spec['name'], 'address': spec['address'], 'port': spec['port'],
                     'username': spec['username'], 'password': spec['password']}
            entry.update(override)
            out.append(entry)
    return out


def run_task(tmp_path, args, *cli, check=False, diff=False):
    """One bmc task in a playbook; (registered result, output)."""
    result_file = tmp_path / ('result-%d.json' % time.monotonic_ns())
    # ignore_errors: a failed task's result is saved and inspected too
    task = {'name': 'BMC task', 'rackops.baremetal.bmc': args, 'register': 'out', 'ignore_errors': True}
    if check:
        task['check_mode'] = True
    if diff:
        task['diff'] = True
    playbook = [{'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        task,
        {'name': 'Save', 'ansible.builtin.copy': {'content': '{{ out | to_json }}', 'dest': str(result_file),
                                                  'mode': '0600'}, 'changed_when': False},
    ]}]
    path = tmp_path / ('play-%d.yml' % time.monotonic_ns())
    path.write_text(yaml.safe_dump(playbook))
    output = run_playbook(path, None, *cli)[1]
    result = json.loads(result_file.read_text())
    return result, output


def by_name(result):
    return {entry['name']: entry for entry in result['bmcs']}


def test_ipmitool_speaks_to_the_emulator(rack):
    spec = rack.specs[1]
    base = ['ipmitool', '-I', 'lanplus', '-C', '3', '-H', spec['address'], '-p', str(spec['port']),
            '-U', spec['username'], '-P', spec['password']]

    def ipmitool(*args):
        return subprocess.run(base + list(args), capture_output=True, text=True, check=True, timeout=30).stdout

    ipmitool('chassis', 'power', 'on')
    assert rack.states()[spec['name']]['power'] == 'on'
    assert 'Chassis Power is on' in ipmitool('chassis', 'power', 'status')
    ipmitool('chassis', 'bootdev', 'pxe', 'options=persistent')
    state = rack.states()[spec['name']]
    assert (state['boot_device'], state['boot_persistent']) == ('network', True)
    assert 'Serial' in ipmitool('fru', 'print', '0') and 'EMU-%s' % spec['name'] in ipmitool('fru', 'print', '0')
    assert 'Firmware Revision         : 1.23' in ipmitool('mc', 'info')
    sdr = ipmitool('sdr', 'list')
    assert 'CPU Temp' in sdr and 'Fan 1' in sdr and 'PSU 1' in sdr
    ipmitool('chassis', 'power', 'off')
    assert rack.states()[spec['name']]['power'] == 'off'


def test_fifty_bmcs_one_dead_one_wrong_password(rack, tmp_path):
    rack.set(DEAD, unreachable=True)
    try:
        bmcs = bmc_list(rack)
        wrong = bmcs[3]
        wrong['password'] = 'not-the-password'
        closes_before = {n: s['calls'].get('close_session', 0) for n, s in rack.states().items()}
        started = time.monotonic()
        result, output = run_task(tmp_path, {'bmcs': bmcs, 'operation': 'check', 'timeout': TIMEOUT,
                                             'fail_on': 'any'})
        took = time.monotonic() - started
    finally:
        rack.set(DEAD, unreachable=False)
    assert result['failed'], output[-3000:]
    results = by_name(result)
    assert len(results) == COUNT
    dead = results[DEAD]
    assert dead['failed'] and dead['problem'] in ('unreachable', 'timeout') and dead['reachable'] is False
    assert dead['elapsed'] <= TIMEOUT + 0.5  # reported within its own timeout
    auth = results[wrong['name']]
    assert auth['failed'] and auth['problem'] == 'auth' and auth['reachable'] is True
    assert auth['authenticated'] is False and 'credentials' in auth['msg']
    ok = [r for n, r in results.items() if n not in (DEAD, wrong['name'])]
    assert len(ok) == COUNT - 2 and all(not r['failed'] and r['authenticated'] for r in ok)
    assert all(r['cipher_suite'] == 3 and r['priv_level'] == 'administrator' and r['boot_device_support']
               for r in ok)
    assert '2 of 50 BMCs failed' in result['msg']
    # the dead BMC's wait overlapped the others: the whole task is not 50 timeouts long
    assert took < 4 * TIMEOUT + 30
    # every session we opened was closed
    closes_after = {n: s['calls'].get('close_session', 0) for n, s in rack.states().items()}
    assert all(closes_after[r['name']] > closes_before[r['name']] for r in ok)
    # fail_on: never reports the same and does not fail the task
    result, output = run_task(tmp_path, {'bmcs': bmc_list(rack)[:3] + [wrong], 'operation': 'check',
                                         'fail_on': 'never'})
    assert not result['failed'] and [r['failed'] for r in result['bmcs']] == [False, False, False, True]


def test_no_password_in_verbose_output(rack, tmp_path):
    bmcs = bmc_list(rack, names={'bmc-10', 'bmc-11'})
    bmcs[1]['password'] = 'wrong-secret-xyz'
    for operation, extra in (('check', {}), ('power', {'power': 'on'}), ('facts', {})):
        result, output = run_task(tmp_path, dict({'bmcs': bmcs, 'operation': operation, 'fail_on': 'never'},
                                                 **extra), '-vvvv', diff=True)
        assert result is not None
        for secret in (bmcs[0]['password'], bmcs[1]['password']):
            assert secret not in output
            assert secret not in json.dumps(result)


def test_power_sequence_check_diff_apply_idempotent(rack, tmp_path):
    names = {'bmc-20', 'bmc-21', 'bmc-22'}
    for name in names:
        rack.set(name, power='off')
    calls_before = {n: dict(rack.states()[n]['calls']) for n in names}
    args = {'bmcs': bmc_list(rack, names), 'operation': 'power', 'power': 'on'}

    result, output = run_task(tmp_path, args, check=True)
    assert result['changed'] and all(r['changed'] and r['power_state'] == 'off' for r in result['bmcs']), result
    result, output = run_task(tmp_path, args, check=True, diff=True)
    assert result['changed'] and "-    power_state: 'off'" in output and "+    power_state: 'on'" in output
    states = rack.states()
    assert all(states[n]['power'] == 'off' for n in names)
    assert all(states[n]['calls'].get('power_on', 0) == calls_before[n].get('power_on', 0) for n in names)

    result, output = run_task(tmp_path, args)
    assert recap(output)['changed'] == 1
    assert all(r['changed'] and r['power_state'] == 'on' for r in result['bmcs'])
    assert all(rack.states()[n]['power'] == 'on' for n in names)

    result, output = run_task(tmp_path, args)
    assert recap(output)['changed'] == 0 and not any(r['changed'] for r in result['bmcs'])

    # soft off, then reset (always acts) and cycle
    result, output = run_task(tmp_path, dict(args, power='soft'))
    assert all(rack.states()[n]['power'] == 'off' for n in names)
    assert all(rack.states()[n]['calls'].get('power_shutdown', 0) >= 1 for n in names)
    result, output = run_task(tmp_path, dict(args, power='cycle'))
    assert result['changed'] and all(rack.states()[n]['power'] == 'on' for n in names)
    result, output = run_task(tmp_path, dict(args, power='reset'))
    assert result['changed'] and all(rack.states()[n]['calls'].get('power_reset', 0) >= 1 for n in names)


def test_boot_device_sequence(rack, tmp_path):
    names = {'bmc-30', 'bmc-31'}
    for name in names:
        rack.set(name, boot_device='hd')
    args = {'bmcs': bmc_list(rack, names), 'operation': 'boot_device', 'boot_device': 'pxe',
            'boot_device_persistent': True, 'boot_mode': 'uefi'}
    result, output = run_task(tmp_path, args, check=True)
    assert result['changed'] and all(rack.states()[n]['boot_device'] == 'hd' for n in names)
    result, output = run_task(tmp_path, args, check=True, diff=True)
    assert '+        device: pxe' in output and '+        mode: uefi' in output
    assert all(rack.states()[n]['calls'].get('set_boot_device', 0) == 0 for n in names)

    result, output = run_task(tmp_path, args)
    assert recap(output)['changed'] == 1
    for name in names:
        state = rack.states()[name]
        assert (state['boot_device'], state['boot_persistent'], state['boot_uefi']) == ('network', True, True)
    assert all(r['boot_device'] == {'device': 'pxe', 'persistent': True, 'mode': 'uefi'} for r in result['bmcs'])
    result, output = run_task(tmp_path, args)
    assert recap(output)['changed'] == 0
    # once-only is a different request: a change
    result, output = run_task(tmp_path, dict(args, boot_device_persistent=False))
    assert result['changed'] and not any(rack.states()[n]['boot_persistent'] for n in names)


def test_facts_report_fru_firmware_and_sensor_health(rack, tmp_path):
    rack.set('bmc-40', sensors={'CPU Temp': 93, 'PSU 2': 'failed'}, fru={'serial': 'SN-4040', 'vendor': 'Acme'},
             firmware='3.07')
    try:
        result, output = run_task(tmp_path, {'bmcs': bmc_list(rack, {'bmc-40', 'bmc-41'}), 'operation': 'facts'})
    finally:
        rack.set('bmc-40', sensors={'CPU Temp': 45, 'PSU 2': 'ok'})
    sick, healthy = by_name(result)['bmc-40'], by_name(result)['bmc-41']
    assert (sick['vendor'], sick['serial'], sick['firmware'], sick['model']) == ('Acme', 'SN-4040', '3.07', 'Emu-1')
    assert sick['health'] == 'critical' and healthy['health'] == 'ok'
    cpu = [s for s in sick['sensors']['temperatures'] if s['name'] == 'CPU Temp'][0]
    assert cpu['value'] == 93 and cpu['units'] == 'Cel' and cpu['health'] == 'critical'
    psu = {s['name']: s['health'] for s in sick['sensors']['power_supplies']}
    assert psu['PSU 1'] == 'ok' and psu['PSU 2'] != 'ok'
    assert [f['value'] for f in healthy['sensors']['fans']] == [5400, 5460]
    assert healthy['serial'] == 'EMU-bmc-41' and healthy['power_state'] in ('on', 'off')


def test_bad_input_names_the_fault_and_sends_nothing(rack, tmp_path):
    bmcs = bmc_list(rack, {'bmc-45', 'bmc-46'})
    bmcs[1]['name'] = 'bmc-45'
    del bmcs[0]['username']
    calls = rack.states()['bmc-45']['calls']
    result, output = run_task(tmp_path, {'bmcs': bmcs, 'operation': 'power'})
    assert result['failed'] and 'bmcs' not in result
    assert 'bmc-45: name: given twice' in output and 'bmc-45: username and password are required' in output
    assert 'power: required when operation is power' in output
    assert rack.states()['bmc-45']['calls'] == calls


def test_preflight_playbook_reports_and_goes_on(rack, tmp_path):
    servers = {spec['name']: {'bmc': {'address': spec['address'], 'port': spec['port'],
                                      'password': spec['password']}}
               for spec in rack.specs[:6]}
    servers['bmc-02']['bmc']['password'] = 'wrong'
    servers['no-bmc'] = {'bmc': {'driver': 'fake-hardware'}}
    inventory = write_inventory(tmp_path / 'inventory.yml', servers,
                                {'bmc': {'driver': 'ipmi', 'username': 'admin', 'priv_level': 'ADMINISTRATOR'}})
    reports = tmp_path / 'reports'
    rack.set('bmc-05', unreachable=True)
    try:
        rc, output = run_playbook(ROOT / 'playbooks/preflight.yml',
                                  {'rackops_report_dir': str(reports), 'rackops_bmc_timeout': TIMEOUT},
                                  '-i', str(inventory))
        assert rc == 0
        assert recap(output)['failed'] == 0
        rc, fatal_output = run_playbook(ROOT / 'playbooks/preflight.yml',
                                        {'rackops_report_dir': str(tmp_path / 'r2'), 'rackops_bmc_timeout': TIMEOUT,
                                         'rackops_preflight_fatal': True}, '-i', str(inventory), expect_ok=False)
    finally:
        rack.set('bmc-05', unreachable=False)
    assert rc != 0 and '2 BMC(s) failed the preflight: bmc-02, bmc-05' in fatal_output
    assert '6 BMCs, 2 failed (1 hosts without an IPMI/Redfish BMC skipped)' in output
    assert 'Rackops/Emu-1/EMU-bmc-00' in output
    line = [ln for ln in output.splitlines() if ln.strip().startswith('bmc-02 ')][0]
    assert 'auth:' in line and 'NO' in line
    report = json.loads((reports / 'preflight.json').read_text())
    assert report['format'] == 'rackops.report/1' and report['run'] == 'preflight'
    assert report['summary'] == {'ok': 4, 'changed': 0, 'failed': 2, 'total': 6}
    nodes = {n['name']: n for n in report['nodes']}
    assert nodes['bmc-05']['problem'] in ('unreachable', 'timeout') and nodes['bmc-00']['firmware'] == '1.23'
    assert all(servers[name]['bmc']['password'] not in (reports / 'preflight.json').read_text() for name in servers
               if 'password' in servers[name]['bmc'])
    suite = ElementTree.parse(reports / 'preflight.xml').getroot().find('testsuite')
    assert suite.get('tests') == '6' and suite.get('failures') == '2'
    failed_cases = [c.get('name') for c in suite.findall('testcase') if c.find('failure') is not None]
    assert failed_cases == ['bmc-02', 'bmc-05']


@pytest.fixture(scope='module')
def redfish(tmp_path_factory):
    emulator = RedfishEmulator(tmp_path_factory.mktemp('bmc-redfish'), 2, prefix='rf')
    yield emulator
    emulator.stop()


def test_redfish_check_facts_power_boot(redfish, tmp_path):
    system = redfish.systems[0]
    bmc = {'name': 'rf-00', 'driver': 'redfish', 'address': redfish.address, 'username': 'admin',
           'password': 'rf-secret-pw', 'system_id': system['uuid']}
    result, output = run_task(tmp_path, {'bmc': bmc, 'operation': 'check'})
    entry = result['bmcs'][0]
    assert entry['reachable'] and entry['authenticated'] and entry['boot_device_support']
    result, output = run_task(tmp_path, {'bmc': bmc, 'operation': 'facts'})
    entry = result['bmcs'][0]
    assert entry['macs'] == [system['nics'][0]['mac']] and entry['system_uuid'] == system['uuid']
    assert entry['sensors']['temperatures'] and entry['health'] == 'ok'

    args = {'bmc': bmc, 'operation': 'power', 'power': 'on'}
    result, output = run_task(tmp_path, args, check=True)
    assert result['changed'] and redfish.system(system['uuid'])['PowerState'] == 'Off'
    result, output = run_task(tmp_path, args)
    assert recap(output)['changed'] == 1 and redfish.system(system['uuid'])['PowerState'] == 'On'
    result, output = run_task(tmp_path, args)
    assert recap(output)['changed'] == 0

    args = {'bmc': bmc, 'operation': 'boot_device', 'boot_device': 'pxe', 'boot_device_persistent': True}
    result, output = run_task(tmp_path, args)
    boot = redfish.system(system['uuid'])['Boot']
    assert (boot['BootSourceOverrideTarget'], boot['BootSourceOverrideEnabled']) == ('Pxe', 'Continuous')
    result, output = run_task(tmp_path, args)
    assert recap(output)['changed'] == 0
    assert bmc['password'] not in output


def test_redfish_several_systems_need_a_system_id(redfish, tmp_path):
    bmc = {'name': 'rf-any', 'driver': 'redfish', 'address': redfish.address, 'username': 'admin',
           'password': 'x'}
    result, output = run_task(tmp_path, {'bmc': bmc, 'operation': 'check'})
    assert result['failed'] and 'manages 2 systems: give system_id' in result['bmcs'][0]['msg']
