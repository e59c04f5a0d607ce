"""site.yml on a real systemd host: a Debian bookworm machine (systemd-nspawn, systemd as PID 1),
reached over SSH like any provisioning host, on a private bridge that is its provisioning network.

The controller (this host, where ansible-playbook runs) is not the provisioning host: it reaches
the engine's API on the provisioning network through the clouds.yaml entry site.yml wrote for it,
and runs the fleet playbooks from there. The services run as systemd units on the machine, come
back when killed and when the whole machine restarts; a second run changes nothing; absent
removes the boot services and keeps the engine's data.

The machine builds no images (rackops_site_images=false: diskimage-builder needs loop devices a
container does not have) and gets Ironic's virtual environment copied in (it has no way to
PyPI); everything else the roles do, they do for real on it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, VENV, make_base, recap, run_playbook
from machines import make_machine, tcp_open

NETNS, HOST_IF = 'rsd-%d' % (os.getpid() % 10000), 'rsdh%d' % (os.getpid() % 10000)
HOST_ADDRESS, SEED = '10.94.0.1/24', '10.94.0.2/24'
SEED_IP = SEED.split('/', maxsplit=1)[0]
UNITS = ['rackops-ironic.service', 'rackops-pxe-dnsmasq.service', 'rackops-pxe-http.service']
NET = ROOT / 'roles/virtual_rack/files/vr-net.sh'
SERVERS = {'sd-0': {'nics': [{'mac': '52:54:00:94:00:01'}]},
           'sd-1': {'nics': [{'mac': '52:54:00:94:00:02', 'ip': '10.94.0.51'}]}}
DEFAULTS = {'bmc': {'driver': 'fake-hardware'}, 'interfaces': {'deploy': 'fake', 'boot': 'fake'}}


@pytest.fixture(scope='module')
def site(engine):
    # (engine: the session's engine made the Ironic virtual environment the machine gets a copy of)
    base = make_base('rackops-sd-')
    machine = None
    subprocess.run(['sh', str(NET), 'up', NETNS, HOST_IF, HOST_ADDRESS, ''], check=True, capture_output=True)
    try:
        machine = make_machine('rsd-seed', base, NETNS, 'br0', SEED, copy_in=(VENV,))
        machine.boot()
        inventory = base / 'site.yml'
        inventory.write_text(yaml.safe_dump({'all': {
            'vars': {'rackops_provisioning_interface': 'host0', 'rackops_provisioning_address': SEED,
                     'rackops_provisioning_dhcp_range': ['10.94.0.100', '10.94.0.199']},
            'children': {
                'provisioner': {'hosts': {machine.name: machine.inventory_vars()}},
                'baremetal': {'vars': {'baremetal_defaults': DEFAULTS},
                              'hosts': {name: {'baremetal': server} for name, server in SERVERS.items()}}}}}))
        variables = {'rackops_site_images': False, 'ironic_venv_dir': VENV, 'ironic_htpasswd_bcrypt_rounds': 4,
                     'rackops_controller_clouds_yaml': str(base / 'clouds.yaml'),
                     'rackops_report_dir': str(base / 'reports')}
        started = time.monotonic()
        output = run_playbook(ROOT / 'playbooks/site.yml', variables, '-i', str(inventory))[1]
        yield {'machine': machine, 'inventory': inventory, 'vars': variables, 'output': output, 'base': base,
               'env': {'OS_CLIENT_CONFIG_FILE': str(base / 'clouds.yaml')}, 'seconds': time.monotonic() - started}
    finally:
        if machine:
            machine.stop()
            print('machine console (last lines):\n' + machine.log.read_text(errors='replace')[-1500:])
        subprocess.run(['sh', str(NET), 'down', NETNS, HOST_IF], check=False, capture_output=True)
        subprocess.run(['rm', '-rf', str(base)], check=False)


def active(machine, unit):
    return machine.ssh('systemctl is-active ' + unit, check=False).stdout.strip()


def main_pid(machine, unit):
    return machine.ssh('systemctl show -p MainPID --value ' + unit).stdout.strip()


def api_answers(site, timeout=60):
    """The controller lists the engine's nodes through its clouds.yaml: the names."""
    code = ('import openstack, json; print(json.dumps(sorted(n.name for n in '
            'openstack.connect(cloud="rackops").baremetal.nodes())))')
    deadline = time.monotonic() + timeout
    while True:
        result = subprocess.run([sys.executable, '-c', code], env=dict(os.environ, **site['env']),
                                capture_output=True, text=True, check=False)
        if result.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def test_the_site_runs_as_systemd_units_and_the_controller_drives_it(site):
    machine = site['machine']
    print('site.yml on the systemd host: %.0f s' % site['seconds'])
    assert machine.ssh('ps -p 1 -o comm=').stdout.strip() == 'systemd'
    assert {unit: active(machine, unit) for unit in UNITS} == {unit: 'active' for unit in UNITS}
    # the API listens on the provisioning network (where agents call back), not everywhere
    listening = machine.ssh('ss -ltnH').stdout
    assert '%s:6385' % SEED_IP in listening and '0.0.0.0:6385' not in listening, listening
    # DHCP reserves the inventory's PXE NICs, with the fixed address where one is given
    dnsmasq = machine.ssh('cat /etc/rackops/pxe/dnsmasq.conf').stdout
    assert 'dhcp-host=52:54:00:94:00:01,sd-0\n' in dnsmasq and 'dhcp-host=52:54:00:94:00:02,10.94.0.51,sd-1\n' in dnsmasq
    assert 'interface=host0\n' in dnsmasq and 'dhcp-range=set:pxe,10.94.0.100,10.94.0.199,255.255.255.0' in dnsmasq
    assert 'dhcp-ignore=tag:!known' in dnsmasq
    assert tcp_open(SEED_IP, 8080)
    # the controller's clouds.yaml (0600) points at the API on the provisioning network
    clouds = Path(site['env']['OS_CLIENT_CONFIG_FILE'])
    assert clouds.stat().st_mode & 0o777 == 0o600
    assert yaml.safe_load(clouds.read_text())['clouds']['rackops']['auth']['endpoint'] == 'http://%s:6385' % SEED_IP
    # the operator's fleet playbook, run from the controller, enrolls through it
    output = run_playbook(ROOT / 'playbooks/enroll.yml', {'rackops_report_dir': site['vars']['rackops_report_dir']},
                          '-i', str(site['inventory']), env=site['env'])[1]
    assert recap(output)['failed'] == 0
    assert api_answers(site) == sorted(SERVERS)


def test_a_second_run_changes_nothing(site):
    output = run_playbook(ROOT / 'playbooks/site.yml', site['vars'], '-i', str(site['inventory']))[1]
    assert recap(output)['changed'] == 0, output[-3000:]


def test_a_killed_service_comes_back(site):
    machine = site['machine']
    before = {unit: main_pid(machine, unit) for unit in UNITS}
    machine.ssh('kill -9 ' + ' '.join(before.values()))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        after = {unit: (active(machine, unit), main_pid(machine, unit)) for unit in UNITS}
        if all(state == 'active' and pid not in ('0', before[unit]) for unit, (state, pid) in after.items()):
            break
        time.sleep(1)
    assert all(state == 'active' and pid not in ('0', before[unit]) for unit, (state, pid) in after.items()), after
    assert api_answers(site) == sorted(SERVERS)


def test_the_services_come_back_when_the_machine_restarts(site):
    machine = site['machine']
    machine.stop()
    assert not tcp_open(SEED_IP, 6385, timeout=1)
    machine.boot()
    # enabled units: systemd starts them at boot, nobody else does; the engine kept its nodes
    assert api_answers(site, timeout=120) == sorted(SERVERS)
    assert {unit: active(machine, unit) for unit in UNITS} == {unit: 'active' for unit in UNITS}


def test_absent_removes_the_boot_services_and_keeps_the_engines_data(site):
    machine = site['machine']
    run_playbook(ROOT / 'playbooks/site.yml', dict(site['vars'], rackops_site_state='absent'), '-i', str(site['inventory']))
    assert {unit: active(machine, unit) for unit in UNITS} == {unit: 'inactive' for unit in UNITS}
    assert machine.ssh('ls /etc/systemd/system/', check=True).stdout.count('rackops-') == 0
    assert not tcp_open(SEED_IP, 8080, timeout=1)
    assert machine.ssh('test -s /var/lib/rackops/ironic/ironic.sqlite', check=False).returncode == 0
