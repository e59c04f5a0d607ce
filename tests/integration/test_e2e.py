"""End to end on the virtual rack: PXE -> agent -> image on disk -> boot -> SSH, and back.

Two QEMU machines (TCG here) - one SeaBIOS behind an emulated IPMI BMC, one
UEFI (OVMF) behind a Redfish one - go together through the same playbooks an
operator runs: `lab.yml` builds the rack, installs the engine on
the rack's network, builds the images (diskimage-builder; cached between runs
in /var/tmp/rackops-test/images) and starts the boot services; then
`provision.yml` enrolls, inspects (in-band, the real agent), cleans, deploys
the Debian image with a config drive, and `undeploy.yml` takes it back.
Each check reads the machine itself: its serial console, its disk, SSH.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from conftest import VENV, free_port, make_base, recap, run_playbook

ROOT = Path(__file__).resolve().parents[2]
LAB_ADDRESS = '10.95.0.1'
SUBNET = LAB_ADDRESS.rsplit('.', 1)[0]
MAC_PREFIX = '52:54:00:95:00'
# name -> (firmware, BMC)
MACHINES = {'e2e-bios': ('bios', 'ipmi'), 'e2e-uefi': ('uefi', 'redfish')}
NAMES = sorted(MACHINES)
# a third machine the boot services do not know: it never gets a DHCP answer
LOST, LOST_MAC, LOST_BMC = 'e2e-lost', MAC_PREFIX + ':03', '127.0.95.12'
MEMORY_MB, DISK_GB = 2048, 4
# Built images survive the test run: an unchanged rebuild is skipped (the role's cache).
IMAGES = Path(os.environ.get('RACKOPS_TEST_IMAGES', '/var/tmp/rackops-test/images'))


@pytest.fixture(scope='module')
def lab():
    base = make_base('rackops-e2e-')
    port = free_port()
    lab_vars = {
        'virtual_rack_name': 'rvr-e2e', 'virtual_rack_host_interface': 'rvhe2e',
        'virtual_rack_address': LAB_ADDRESS, 'virtual_rack_ipv6_address': 'fd95::1',
        'virtual_rack_mac_prefix': MAC_PREFIX,
        'virtual_rack_machines': (
            [{'name': name, 'firmware': firmware, 'bmc': bmc, 'memory_mb': MEMORY_MB, 'disk_gb': DISK_GB}
             for name, (firmware, bmc) in sorted(MACHINES.items())]
            # not in the rack's inventory: site.yml's boot services do not answer it
            + [{'name': LOST, 'firmware': 'bios', 'memory_mb': 256, 'disk_gb': 1, 'bmc_address': LOST_BMC,
                'inventory': False}]),
        'virtual_rack_bmc_first_address': '127.0.95.10', 'virtual_rack_dir': str(base / 'rack'),
        'virtual_rack_inventory_file': str(base / 'virtual-rack.yml'),
        'ironic_install_dir': str(base / 'opt'), 'ironic_venv_dir': VENV,
        'ironic_config_dir': str(base / 'etc'), 'ironic_state_dir': str(base / 'state'),
        'ironic_http_root': str(base / 'httpboot'), 'ironic_tftp_root': str(base / 'tftpboot'),
        'ironic_image_cache_dir': str(base / 'image-cache'),
        'ironic_log_dir': str(base / 'log'), 'ironic_api_port': port, 'ironic_cli_link_dir': '',
        'ironic_clouds_yaml_path': str(base / 'clouds.yaml'), 'ironic_cloud_name': 'rackops',
        'ironic_htpasswd_bcrypt_rounds': 4,
        'images_install_dir': str(IMAGES / 'builder'), 'images_work_dir': str(IMAGES / 'work'),
        # this network intercepts TLS: pip inside the build chroot must trust the host's CA
        'images_build_trust_host_ca': True,
        'rackops_provisioning_http_port': free_port(), 'pxe_install_dir': str(base / 'pxe'),
        'pxe_config_dir': str(base / 'pxe-etc'), 'pxe_state_dir': str(base / 'pxe-state'),
        'pxe_log_dir': str(base / 'pxe-log'), 'pxe_service_manager': 'supervisor',
        'rackops_report_dir': str(base / 'reports'), 'rackops_cloud': 'rackops',
    }
    env = {'OS_CLIENT_CONFIG_FILE': str(base / 'clouds.yaml')}
    try:
        started = time.monotonic()
        output = run_playbook(ROOT / 'playbooks/lab.yml', lab_vars)[1]
        inventory = Path(lab_vars['virtual_rack_inventory_file'])
        hosts = yaml.safe_load(inventory.read_text())['all']['children']['baremetal']['hosts']
        yield {'base': base, 'vars': lab_vars, 'env': env, 'inventory': inventory, 'hosts': hosts,
               'lab_output': output, 'lab_seconds': time.monotonic() - started}
    finally:
        run_playbook(ROOT / 'playbooks/lab.yml', dict(lab_vars, rackops_lab_state='absent'), expect_ok=False)
        subprocess.run(['rm', '-rf', str(base)], check=False)


def provision(lab, playbook, *args, expect_ok=True, hosts=','.join(NAMES), inventory=None):
    return run_playbook(ROOT / 'playbooks' / playbook, dict(lab['vars'], rackops_inspect=True),
                        '-i', str(inventory or lab['inventory']), '--limit', hosts, *args, env=lab['env'],
                        expect_ok=expect_ok)


def sdk_node(lab, name):
    import openstack
    os.environ['OS_CLIENT_CONFIG_FILE'] = lab['env']['OS_CLIENT_CONFIG_FILE']
    return openstack.connect(cloud='rackops').baremetal.get_node(name)


def report_nodes(lab):
    report = json.loads((Path(lab['vars']['rackops_report_dir']) / 'provision.json').read_text())
    return {node['name']: node for node in report['nodes']}


def qmp(path, *requests):
    """Send QMP requests to a machine's QEMU; their replies (events skipped)."""
    replies = []
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(30)
        sock.connect(path)
        reader = sock.makefile('rb')
        json.loads(reader.readline())
        for request in ({'execute': 'qmp_capabilities'},) + requests:
            sock.sendall(json.dumps(request).encode() + b'\n')
            reply = json.loads(reader.readline())
            while 'event' in reply:
                reply = json.loads(reader.readline())
            replies.append(reply)
    return replies[1:]


def disk_tail_of_mbr(host) -> bytes:
    """Bytes 496-511 of the machine's disk as the running machine sees it: an NBD export of
    QEMU's own drive (the qcow2 file, read from outside, misses what QEMU still caches)."""
    qmp_path = host['virtual_rack']['qmp']
    nbd = str(Path(qmp_path).parent / 'nbd.sock')
    started = qmp(qmp_path, {'execute': 'nbd-server-start',
                             'arguments': {'addr': {'type': 'unix', 'data': {'path': nbd}}}},
                  {'execute': 'nbd-server-add', 'arguments': {'device': 'd0', 'name': 'd0'}})
    assert all('return' in reply for reply in started), started
    try:
        dump = subprocess.run(['qemu-io', '-r', '-f', 'raw', 'nbd+unix:///d0?socket=' + nbd, '-c', 'read -v 496 16'],
                              capture_output=True, text=True, check=True, timeout=60).stdout
    finally:
        qmp(qmp_path, {'execute': 'nbd-server-stop'})
    line = next(line for line in dump.splitlines() if line.startswith('000001f0:'))
    return bytes.fromhex(line.split(':', 1)[1][:50].replace(' ', ''))


def ssh(lab, host, *command):
    key = Path(lab['vars']['virtual_rack_dir']) / 'ssh/id_ed25519'
    address = host['baremetal']['network']['ipv4']['address'].split('/')[0]
    return subprocess.run(['ssh', '-i', str(key), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
                           '-o', 'ConnectTimeout=5', '-o', 'BatchMode=yes', 'root@' + address, *command],
                          capture_output=True, text=True, timeout=60, check=False)


def test_the_lab_is_built(lab):
    assert {name: lab['hosts'][name]['baremetal']['bmc']['driver'] for name in NAMES} == {
        name: kind[1] for name, kind in MACHINES.items()}
    bmc = lab['hosts'][NAMES[0]]['baremetal']['bmc']
    assert bmc['password'] not in lab['lab_output']
    for name in ('ipa.kernel', 'ipa.initramfs', 'debian-bookworm.qcow2'):
        published = Path(lab['vars']['ironic_http_root']) / 'images' / name
        digest = (published.parent / (name + '.sha256')).read_text().split()[0]
        assert len(digest) == 64 and published.stat().st_size > 1_000_000, name
    # site.yml wired the rest from the provisioning network alone: the conductor's default deploy
    # ramdisk is the one the images role published (the inventory names none), and DHCP reserves
    # exactly the inventory's PXE NICs
    http = 'http://%s:%d' % (LAB_ADDRESS, lab['vars']['rackops_provisioning_http_port'])
    conf = (Path(lab['vars']['ironic_config_dir']) / 'ironic.conf').read_text()
    assert 'deploy_kernel = %s/images/ipa.kernel\n' % http in conf
    assert 'deploy_ramdisk = %s/images/ipa.initramfs\n' % http in conf
    assert 'http_url = %s\n' % http in conf and 'host_ip = %s\n' % LAB_ADDRESS in conf
    with urllib.request.urlopen(urllib.request.Request(http + '/images/ipa.kernel', method='HEAD'), timeout=10) as reply:
        assert reply.status == 200
    assert not any('deploy_kernel' in json.dumps(host) for host in lab['hosts'].values())
    dnsmasq = (Path(lab['vars']['pxe_config_dir']) / 'dnsmasq.conf').read_text()
    assert sorted(re.findall(r'^dhcp-host=(\S+)$', dnsmasq, re.M)) == [
        '%s:%02x,%s' % (MAC_PREFIX, i + 1, name) for i, name in enumerate(NAMES)]
    print('lab built in %.0f s' % lab['lab_seconds'])


def test_an_image_that_is_not_there_fails_the_deploy_with_ironics_error(lab):
    # the same rack with a wrong image URL: inspection and cleaning go through, the deploy fails
    inventory = yaml.safe_load(lab['inventory'].read_text())
    defaults = inventory['all']['children']['baremetal']['vars']['baremetal_defaults']
    defaults['image'] = {'source': defaults['image']['source'].replace('debian-bookworm', 'missing'),
                         'checksum': 'sha256:' + '0' * 64}
    broken = lab['base'] / 'broken-image.yml'
    broken.write_text(yaml.safe_dump(inventory))
    rc, output = provision(lab, 'provision.yml', inventory=broken, expect_ok=False)
    assert rc != 0, output[-3000:]
    nodes = report_nodes(lab)
    assert sorted(nodes) == NAMES
    for node in nodes.values():
        assert node['failed'] and node['provision_state'] == 'deploy failed', node
        assert 'missing.qcow2' in node['last_error'] and '404' in node['last_error'], node['last_error']
    junit = (Path(lab['vars']['rackops_report_dir']) / 'provision.xml').read_text()
    assert junit.count('<failure') == len(NAMES) and 'missing.qcow2' in junit
    # the run says where to look next, per machine
    assert 'fix what last_error says' in output
    for name in NAMES:
        assert lab['hosts'][name]['rackops_console_log'] in output, name


def last_boot(serial):
    # from the last kernel start on: the deployed OS's command line names its root by label
    text = serial.read_text(errors='replace')
    return text[text.rfind('Command line:'):]


def test_provision_takes_the_machines_to_their_os(lab):
    # the fixed input: the same run converges
    rc, output = provision(lab, 'provision.yml', expect_ok=False)
    serials = {name: Path(lab['hosts'][name]['virtual_rack']['serial_log']) for name in NAMES}
    assert rc == 0, output[-5000:] + ''.join('\n--- %s serial ---\n%s' % (name, serial.read_text(errors='replace')[-3000:])
                                             for name, serial in serials.items())
    nodes = report_nodes(lab)
    assert {name: (n['provision_state'], n['failed']) for name, n in nodes.items()} == {
        name: ('active', False) for name in NAMES}, nodes

    for name in NAMES:
        host = lab['hosts'][name]
        # inspection (the agent on the machine) found the machine's real configuration
        node = sdk_node(lab, name)
        props = node.properties
        assert (props['cpus'], props['memory_mb'], props['local_gb'], props['cpu_arch']) == (
            1, MEMORY_MB, DISK_GB - 1, 'x86_64'), (name, props)
        assert node.driver == MACHINES[name][1] and 'boot_mode:%s' % MACHINES[name][0] in props['capabilities']
        # the image is on the disk and the machine booted it: its console shows Debian's login
        assert disk_tail_of_mbr(host)[14:] == b'\x55\xaa', name

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not all(
            'root=LABEL=root' in last_boot(serial) and ' login:' in last_boot(serial) for serial in serials.values()):
        time.sleep(5)
    for name, serial in serials.items():
        console = last_boot(serial)
        assert 'root=LABEL=root' in console and '%s login:' % name in console, (name, console[-3000:])
    # the UEFI machine came up through the firmware's UEFI path, and straight
    # from its disk as Ironic asked: no network boot between the deploy
    # agent's kernel and the OS's (it used to try PXE v4, v6 and HTTP first)
    uefi = serials['e2e-uefi'].read_text(errors='replace')
    assert 'BdsDxe' in uefi
    os_start = uefi.rfind('Command line:')
    before_os = uefi[uefi.rfind('Command line:', 0, os_start):os_start]
    # (the firmware's own lines: the agent's log on the console lists the NVRAM entries too)
    network_boots = [line for line in before_os.splitlines()
                     if line.lstrip().startswith('BdsDxe:') and ('PXEv' in line or 'HTTPv' in line)]
    assert not network_boots, network_boots

    # the config drive gave each its address, host name and the lab's key
    for name in NAMES:
        deadline = time.monotonic() + 180
        while True:
            result = ssh(lab, lab['hosts'][name], 'hostname')
            if result.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(5)
        assert result.returncode == 0 and result.stdout.strip() == name, (name, result.stderr)


def test_a_second_provision_changes_nothing(lab):
    output = provision(lab, 'provision.yml')[1]
    assert recap(output)['changed'] == 0, output[-3000:]


def test_undeploy_cleans_the_disks_and_makes_them_available(lab):
    output = provision(lab, 'undeploy.yml')[1]
    for name in NAMES:
        assert sdk_node(lab, name).provision_state == 'available', (name, output[-3000:])
        # automated cleaning erased the disk's metadata: no partition table any more
        assert disk_tail_of_mbr(lab['hosts'][name])[14:] != b'\x55\xaa', name


def test_a_machine_that_never_network_boots_times_out_pointing_at_its_logs(lab):
    # the machine the boot services were not told about, enrolled all the same: a server the
    # inventory lists now but listed not when site.yml last ran
    inventory = yaml.safe_load(lab['inventory'].read_text())
    hosts = inventory['all']['children']['baremetal']['hosts']
    lost = json.loads(json.dumps(hosts[NAMES[0]]))
    lost['baremetal']['nics'] = [{'mac': LOST_MAC, 'pxe': True}]
    lost['baremetal']['bmc']['address'] = LOST_BMC
    lost['rackops_console_log'] = lost['virtual_rack']['serial_log'] = str(
        Path(lab['vars']['virtual_rack_dir']) / 'machines' / LOST / 'serial.log')
    hosts[LOST] = lost
    listed = lab['base'] / 'lost.yml'
    listed.write_text(yaml.safe_dump(inventory))
    rc, output = provision(lab, 'provision.yml', '-e', 'rackops_timeout=150', hosts=LOST, inventory=listed,
                           expect_ok=False)
    assert rc != 0
    (node,) = report_nodes(lab).values()
    assert node['name'] == LOST and node['failed'] and node['provision_state'] == 'inspect wait', node
    assert 'never reported back' in node['msg'], node['msg']
    # the report names the machine's console log and the DHCP server's log ...
    console_log = str(Path(lab['vars']['virtual_rack_dir']) / 'machines' / LOST / 'serial.log')
    dhcp_log = str(Path(lab['vars']['pxe_log_dir']) / 'dnsmasq.log')
    assert console_log in output and dhcp_log in output, output[-3000:]
    # ... and they tell the story: the machine asked, the server did not answer
    assert re.search(r'DHCPDISCOVER\(\S+\) %s (ignored|no address available)' % LOST_MAC,
                     Path(dhcp_log).read_text()), Path(dhcp_log).read_text()[-2000:]
