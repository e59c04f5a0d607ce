"""The virtual rack and the pxe role together, from playbooks/virtual_rack.yml as an operator runs it.

Two machines (SeaBIOS behind an IPMI BMC, OVMF behind a Redfish one) on a
bridge in a namespace; dnsmasq and nginx from the pxe role on the veth into it.
ipmitool and plain Redfish requests power them on and off (cold: a new QEMU
process each time). Their network boots - each firmware's lease, iPXE, the
agent - are test_e2e's, which boots the same machines through Ironic.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, make_base, recap, run_playbook

SUBNET = '10.97.0'
MAC_PREFIX = '52:54:00:97:00'


def qmp_status(path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(path))
        reader = sock.makefile('rb')
        reply = json.loads(reader.readline())
        for request in ({'execute': 'qmp_capabilities'}, {'execute': 'query-status'}):
            sock.sendall(json.dumps(request).encode() + b'\n')
            reply = json.loads(reader.readline())
            while 'event' in reply:
                reply = json.loads(reader.readline())
    return reply['return']['status']


def ipmitool(bmc, *args):
    return subprocess.run(['ipmitool', '-I', 'lanplus', '-C', '3', '-H', bmc['address'], '-p', str(bmc['port']),
                           '-U', bmc['username'], '-E', *args], env=dict(os.environ, IPMI_PASSWORD=bmc['password']),
                          capture_output=True, text=True, check=True, timeout=60).stdout


def redfish(bmc, path='', body=None, password=None, method=None):
    """One Redfish request to a rack BMC's system (HTTP Basic); the JSON reply, or the HTTP status on an error."""
    credentials = '%s:%s' % (bmc['username'], password or bmc['password'])
    request = urllib.request.Request(bmc['address'] + bmc['system_id'] + path,
                                     method=method or ('POST' if body else 'GET'),
                                     data=json.dumps(body).encode() if body else None,
                                     headers={'Authorization': 'Basic ' + base64.b64encode(credentials.encode()).decode(),
                                              'Content-Type': 'application/json'})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            data = reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code
    return json.loads(data) if data else {}


def power(host, state):
    bmc = host['baremetal']['bmc']
    if bmc['driver'] == 'redfish':
        redfish(bmc, '/Actions/ComputerSystem.Reset', {'ResetType': 'On' if state == 'on' else 'ForceOff'})
    else:
        ipmitool(bmc, 'chassis', 'power', state)


def power_state(host):
    bmc = host['baremetal']['bmc']
    if bmc['driver'] == 'redfish':
        return redfish(bmc)['PowerState'].lower()
    return ipmitool(bmc, 'chassis', 'power', 'status').split()[-1]


@pytest.fixture(scope='module')
def rack():
    tag = uuid.uuid4().hex[:5]
    base = make_base('rackops-vr-')
    port = 18500 + os.getpid() % 400
    host_if = 'rvh' + tag
    machines = [{'name': 'vrt-bios', 'firmware': 'bios', 'memory_mb': 256, 'disk_gb': 1},
                {'name': 'vrt-uefi', 'firmware': 'uefi', 'bmc': 'redfish', 'memory_mb': 256, 'disk_gb': 1}]
    role_vars = {
        'virtual_rack_name': 'rvr-' + tag, 'virtual_rack_host_interface': host_if, 'virtual_rack_address': SUBNET + '.1',
        'virtual_rack_ipv6_address': 'fd97::1', 'virtual_rack_mac_prefix': MAC_PREFIX, 'virtual_rack_machines': machines,
        'virtual_rack_bmc_first_address': '127.0.97.10', 'virtual_rack_dir': str(base / 'rack'),
        'virtual_rack_inventory_file': str(base / 'virtual-rack.yml'),
        'pxe_http_port': port, 'pxe_root_owner': 'root',
        'pxe_tftp_root': str(base / 'tftpboot'), 'pxe_http_root': str(base / 'httpboot'),
        'pxe_install_dir': str(base / 'pxe'), 'pxe_config_dir': str(base / 'pxe-etc'),
        'pxe_state_dir': str(base / 'pxe-state'), 'pxe_log_dir': str(base / 'pxe-log'),
        'pxe_service_manager': 'supervisor'}
    # the operator's playbook: the rack, then the pxe role serving it
    playbook = ROOT / 'playbooks/virtual_rack.yml'
    output = run_playbook(playbook, role_vars)[1]
    yield {'base': base, 'vars': role_vars, 'playbook': playbook, 'port': port, 'first_output': output}
    run_playbook(playbook, dict(role_vars, rackops_rack_state='absent'), expect_ok=False)
    subprocess.run(['rm', '-rf', str(base)], check=False)


def test_the_rack_is_built_powered_off_with_its_inventory(rack):
    inventory = yaml.safe_load(Path(rack['vars']['virtual_rack_inventory_file']).read_text())
    hosts = inventory['all']['children']['baremetal']['hosts']
    assert sorted(hosts) == ['vrt-bios', 'vrt-uefi']
    bios = hosts['vrt-bios']
    assert bios['baremetal']['nics'] == [{'mac': MAC_PREFIX + ':01', 'pxe': True}]
    assert bios['baremetal']['bmc']['address'] == '127.0.97.10' and bios['baremetal']['bmc']['password']
    assert bios['baremetal']['properties'] == {'cpus': 1, 'memory_mb': 256, 'local_gb': 0, 'cpu_arch': 'x86_64',
                                               'boot_mode': 'bios'}
    assert bios['baremetal']['bmc']['driver'] == 'ipmi'
    uefi = hosts['vrt-uefi']['baremetal']
    assert uefi['properties']['boot_mode'] == 'uefi'
    assert uefi['bmc']['driver'] == 'redfish' and uefi['bmc']['address'] == 'http://127.0.97.11:8000'
    assert uefi['bmc']['system_id'] == '/redfish/v1/Systems/vrt-uefi'
    assert uefi['interfaces']['boot'] == 'ipxe' and uefi['interfaces']['inspect'] == 'agent'
    assert bios['baremetal']['bmc']['password'] not in rack['first_output']
    for name, host in hosts.items():
        assert qmp_status(host['virtual_rack']['qmp']) == 'prelaunch', name
        assert power_state(host) == 'off', name
    # the Redfish face: UEFI only, and no entry without the password
    system = redfish(uefi['bmc'])
    assert system['Boot']['BootSourceOverrideMode'] == 'UEFI' and system['Id'] == 'vrt-uefi'
    assert redfish(uefi['bmc'], password='wrong') == 401


def test_power_is_cold_through_either_bmc(rack):
    # (that the machines then PXE-boot - BIOS and UEFI, through the pxe role's dnsmasq and nginx, into
    # Ironic's agent and on to their disks - is test_e2e's, on the same role: one boot each, not two)
    hosts = yaml.safe_load(Path(rack['vars']['virtual_rack_inventory_file']).read_text())['all']['children']['baremetal']['hosts']
    qemu_pids = {name: int((Path(host['virtual_rack']['qmp']).parent / 'qemu.pid').read_text()) for name, host in hosts.items()}
    for host in hosts.values():
        power(host, 'on')
        assert qmp_status(host['virtual_rack']['qmp']) == 'running'
        assert power_state(host) == 'on'
    for name, host in hosts.items():
        power(host, 'off')
        # cold: that QEMU process ended, a new one waits (-S) for the next power-on
        assert qmp_status(host['virtual_rack']['qmp']) == 'prelaunch'
        assert power_state(host) == 'off'
        pid = int((Path(host['virtual_rack']['qmp']).parent / 'qemu.pid').read_text())
        assert pid != qemu_pids[name] and not Path('/proc/%d' % qemu_pids[name]).exists(), name
        assert b'qemu-system' in Path('/proc/%d/cmdline' % pid).read_bytes(), name


def test_a_second_run_changes_nothing(rack):
    assert recap(run_playbook(rack['playbook'], rack['vars'])[1])['changed'] == 0


def test_absent_removes_everything(rack):
    rack_dir = Path(rack['vars']['virtual_rack_dir'])
    pids = [int(p.read_text()) for p in rack_dir.glob('**/*.pid')]
    assert len(pids) == 3  # two machines, one emulator
    run_playbook(rack['playbook'], dict(rack['vars'], rackops_rack_state='absent'))
    for pid in pids:
        assert not Path('/proc/%d' % pid).exists()
    namespaces = subprocess.run(['ip', 'netns', 'list'], capture_output=True, text=True, check=True).stdout
    assert rack['vars']['virtual_rack_name'] not in namespaces
    assert subprocess.run(['ip', 'link', 'show', rack['vars']['virtual_rack_host_interface']], capture_output=True,
                          check=False).returncode != 0
    assert not rack_dir.exists() and not Path(rack['vars']['virtual_rack_inventory_file']).exists()
