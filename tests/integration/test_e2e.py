"""End to end on the virtual rack, provisioned from a real systemd host: PXE -> agent -> image on
disk -> boot -> SSH, and back.

Two QEMU machines (TCG here) - one SeaBIOS behind an emulated IPMI BMC, one UEFI (OVMF) behind a
Redfish one - go together through the same playbooks an operator runs. The provisioning host is
a Debian machine with systemd as PID 1 (systemd-nspawn, see machines.py) on the rack's bridge,
reached over SSH as a site's host is; this host is the controller. `lab.yml` builds the rack
(its BMCs on addresses the provisioning host reaches) and runs `site.yml` on that machine: the
engine, DHCP/TFTP and HTTP as systemd units, the API on the provisioning network. The images are
built here (diskimage-builder; cached between runs in /var/tmp/rackops-test/images) and published
into the machine's HTTP root: diskimage-builder needs loop devices a container has not. Then, from
the controller through the clouds.yaml site.yml wrote for it, `provision.yml` enrolls, inspects
(in-band, the real agent), cleans, deploys the Debian image with a config drive, and
`undeploy.yml` takes it back; in between the site's services are killed and the whole machine
restarts. Each check reads the machine itself: its serial console, its disk, SSH.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from conftest import IMAGES, VENV, WebConsole, make_base, recap, run_playbook
from machines import make_machine, tcp_open

ROOT = Path(__file__).resolve().parents[2]
NETNS, HOST_IF = 'rvr-e2e', 'rvhe2e'
LAB_ADDRESS = '10.95.0.1'
SUBNET = LAB_ADDRESS.rsplit('.', 1)[0]
# the provisioning host, on the rack's bridge
SITE_ADDRESS = SUBNET + '.2/24'
SITE_IP = SUBNET + '.2'
HTTP_PORT = 8080
# the site's browser consoles (shellinabox behind the site's nginx): not Debian's own port 4200
WEB_CONSOLE_PORT = 4280
IMAGES_URL = 'http://%s:%d/images' % (SITE_IP, HTTP_PORT)
PARTITION_IMAGE = {'type': 'partition', 'source': IMAGES_URL + '/debian-bookworm-partition.qcow2',
                   'checksum': IMAGES_URL + '/debian-bookworm-partition.qcow2.sha256',
                   'kernel': IMAGES_URL + '/debian-bookworm-partition.vmlinuz',
                   'ramdisk': IMAGES_URL + '/debian-bookworm-partition.initrd', 'root_gb': 2}
UNITS = ['rackops-ironic.service', 'rackops-pxe-dnsmasq.service', 'rackops-pxe-http.service',
         'rackops-pxe-webconsole.service']
MAC_PREFIX = '52:54:00:95:00'
# name -> (firmware, BMC)
MACHINES = {'e2e-bios': ('bios', 'ipmi'), 'e2e-uefi': ('uefi', 'redfish')}
NAMES = sorted(MACHINES)
# the UEFI machine deploys the same OS as a partition image: the agent makes its partitions (and the EFI system
# partition) and installs GRUB from the image; the IPMI machine, the whole-disk image
PARTITIONED = 'e2e-uefi'
# the BMCs, on this host's side of the rack's bridge: the provisioning host reaches them there
BMC_FIRST = SUBNET + '.10'
# a third machine the boot services do not know: it never gets a DHCP answer
LOST, LOST_MAC, LOST_BMC = 'e2e-lost', MAC_PREFIX + ':03', SUBNET + '.12'
MEMORY_MB, DISK_GB = 2048, 4
NET = ROOT / 'roles/virtual_rack/files/vr-net.sh'
# where the roles put them on the provisioning host (their defaults)
IRONIC_CONF, DNSMASQ_CONF = 'etc/rackops/ironic/ironic.conf', 'etc/rackops/pxe/dnsmasq.conf'
HTTP_ROOT, DHCP_LOG = 'var/lib/rackops/httpboot', '/var/log/rackops/pxe/dnsmasq.log'


@pytest.fixture(scope='module')
def lab(engine, e2e_prebuild):
    # (engine: the session's engine made the Ironic virtual environment the machine gets a copy of;
    # e2e_prebuild: the machine's root file system and the images, built while earlier tests ran)
    prebuild_seconds = e2e_prebuild.wait()
    base = make_base('rackops-e2e-')
    lab_vars = {
        'virtual_rack_name': NETNS, 'virtual_rack_host_interface': HOST_IF,
        'virtual_rack_address': LAB_ADDRESS, 'virtual_rack_ipv6_address': 'fd95::1',
        'virtual_rack_mac_prefix': MAC_PREFIX,
        'virtual_rack_machines': (
            [dict({'name': name, 'firmware': firmware, 'bmc': bmc, 'memory_mb': MEMORY_MB, 'disk_gb': DISK_GB},
                  **({'baremetal': {'image': PARTITION_IMAGE}} if name == PARTITIONED else {}))
             for name, (firmware, bmc) in sorted(MACHINES.items())]
            # not in the rack's inventory: site.yml's boot services do not answer it
            + [{'name': LOST, 'firmware': 'bios', 'memory_mb': 256, 'disk_gb': 1, 'bmc_address': LOST_BMC,
                'inventory': False}]),
        'virtual_rack_bmc_first_address': BMC_FIRST, 'virtual_rack_dir': str(base / 'rack'),
        'virtual_rack_inventory_file': str(base / 'virtual-rack.yml'),
        # the site, on the provisioning host: its interface and address on the rack's bridge
        'rackops_provisioning_interface': 'host0', 'rackops_provisioning_address': SITE_ADDRESS,
        'rackops_provisioning_http_port': HTTP_PORT, 'rackops_site_images': False,
        'rackops_web_console_port': WEB_CONSOLE_PORT,
        'rackops_controller_clouds_yaml': str(base / 'clouds.yaml'),
        'ironic_venv_dir': VENV, 'ironic_htpasswd_bcrypt_rounds': 4,
        'rackops_report_dir': str(base / 'reports'), 'rackops_cloud': 'rackops',
    }
    env = {'OS_CLIENT_CONFIG_FILE': str(base / 'clouds.yaml')}
    machine = None
    # the rack's bridge first (lab.yml's own step finds it there): the machine boots onto it
    subprocess.run(['sh', str(NET), 'up', NETNS, HOST_IF, LAB_ADDRESS + '/24', 'fd95::1/64'], check=True,
                   capture_output=True)
    site_inventory = base / 'site.yml'
    try:
        machine = make_machine('rvr-e2e-site', base, NETNS, 'br0', SITE_ADDRESS, copy_in=(VENV,))
        site_inventory.write_text(yaml.safe_dump({'all': {'children': {
            'provisioner': {'hosts': {machine.name: machine.inventory_vars()}}}}}))
        started = time.monotonic()
        run_playbook(ROOT / 'tests/integration/playbooks/publish_images.yml', {
            'images_publish_dir': str(machine.directory / HTTP_ROOT / 'images'),
            'images_publish_url': IMAGES_URL,
            'images_install_dir': str(IMAGES / 'builder'), 'images_work_dir': str(IMAGES / 'work')})
        images_seconds = time.monotonic() - started
        machine.boot()
        started = time.monotonic()
        output = run_playbook(ROOT / 'playbooks/lab.yml', lab_vars, '-i', str(site_inventory))[1]
        inventory = Path(lab_vars['virtual_rack_inventory_file'])
        hosts = yaml.safe_load(inventory.read_text())['all']['children']['baremetal']['hosts']
        yield {'base': base, 'vars': lab_vars, 'env': env, 'inventory': inventory, 'hosts': hosts,
               'machine': machine, 'site_inventory': site_inventory, 'lab_output': output,
               'lab_seconds': time.monotonic() - started, 'images_seconds': images_seconds,
               'prebuild_seconds': prebuild_seconds}
    finally:
        run_playbook(ROOT / 'playbooks/lab.yml', dict(lab_vars, rackops_lab_state='absent'), '-i', str(site_inventory),
                     expect_ok=False)
        if machine:
            machine.stop()
            print('provisioning host console (last lines):\n' + machine.log.read_text(errors='replace')[-1500:])
        subprocess.run(['sh', str(NET), 'down', NETNS, HOST_IF], check=False, capture_output=True)
        subprocess.run(['rm', '-rf', str(base)], check=False)


def on_site(lab, path) -> Path:
    """A file of the provisioning host, read through its root file system (a directory here)."""
    return lab['machine'].directory / str(path).lstrip('/')


def unit_states(lab):
    machine = lab['machine']
    return {unit: machine.ssh('systemctl is-active ' + unit, check=False).stdout.strip() for unit in UNITS}


def main_pids(lab):
    return {unit: lab['machine'].ssh('systemctl show -p MainPID --value ' + unit).stdout.strip() for unit in UNITS}


def api_nodes(lab, timeout=60):
    """The controller lists the engine's nodes through its clouds.yaml: their names."""
    code = ('import openstack, json; print(json.dumps(sorted(n.name for n in '
            'openstack.connect(cloud="rackops").baremetal.nodes())))')
    deadline = time.monotonic() + timeout
    while True:
        result = subprocess.run([sys.executable, '-c', code], env=dict(os.environ, **lab['env']),
                                capture_output=True, text=True, check=False)
        if result.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def provision(lab, playbook, *args, expect_ok=True, hosts=','.join(NAMES), inventory=None):
    return run_playbook(ROOT / 'playbooks' / playbook, dict(lab['vars'], rackops_inspect=True),
                        '-i', str(inventory or lab['inventory']), '--limit', hosts, *args, env=lab['env'],
                        expect_ok=expect_ok)


def sdk(lab):
    """The controller's openstacksdk connection to the site's engine (its clouds.yaml)."""
    import openstack
    os.environ['OS_CLIENT_CONFIG_FILE'] = lab['env']['OS_CLIENT_CONFIG_FILE']
    return openstack.connect(cloud='rackops')


def sdk_node(lab, name):
    return sdk(lab).baremetal.get_node(name)


def report_nodes(lab, report_dir=None):
    report = json.loads((Path(report_dir or lab['vars']['rackops_report_dir']) / 'provision.json').read_text())
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


def test_the_lab_is_built_and_the_site_runs_as_systemd_units(lab):
    assert {name: lab['hosts'][name]['baremetal']['bmc']['driver'] for name in NAMES} == {
        name: kind[1] for name, kind in MACHINES.items()}
    bmc = lab['hosts'][NAMES[0]]['baremetal']['bmc']
    assert bmc['password'] not in lab['lab_output']
    # the BMCs answer where the provisioning host reaches them: the rack's host interface
    assert bmc['address'] == BMC_FIRST
    for name in ('ipa.kernel', 'ipa.initramfs', 'debian-bookworm.qcow2', 'debian-bookworm-partition.qcow2',
                 'debian-bookworm-partition.vmlinuz', 'debian-bookworm-partition.initrd'):
        published = on_site(lab, HTTP_ROOT) / 'images' / name
        digest = (published.parent / (name + '.sha256')).read_text().split()[0]
        assert len(digest) == 64 and published.stat().st_size > 1_000_000, name
    # the provisioning host: systemd as PID 1, the site's services its units
    machine = lab['machine']
    assert machine.ssh('ps -p 1 -o comm=').stdout.strip() == 'systemd'
    assert unit_states(lab) == {unit: 'active' for unit in UNITS}
    # the API listens on the provisioning network (where agents call back), not everywhere
    listening = machine.ssh('ss -ltnH').stdout
    assert '%s:6385' % SITE_IP in listening and '0.0.0.0:6385' not in listening, listening
    # the controller's clouds.yaml entry (0600) points there
    clouds = Path(lab['env']['OS_CLIENT_CONFIG_FILE'])
    assert clouds.stat().st_mode & 0o777 == 0o600
    assert yaml.safe_load(clouds.read_text())['clouds']['rackops']['auth']['endpoint'] == 'http://%s:6385' % SITE_IP
    # site.yml wired the rest from the provisioning network alone: the conductor's default deploy
    # ramdisk is the one published (the inventory names none), and DHCP reserves exactly the
    # inventory's PXE NICs
    http = 'http://%s:%d' % (SITE_IP, HTTP_PORT)
    conf = on_site(lab, IRONIC_CONF).read_text()
    assert 'deploy_kernel = %s/images/ipa.kernel\n' % http in conf
    assert 'deploy_ramdisk = %s/images/ipa.initramfs\n' % http in conf
    assert 'http_url = %s\n' % http in conf and 'host_ip = %s\n' % SITE_IP in conf
    with urllib.request.urlopen(urllib.request.Request(http + '/images/ipa.kernel', method='HEAD'), timeout=10) as reply:
        assert reply.status == 200
    assert not any('deploy_kernel' in json.dumps(host) for host in lab['hosts'].values())
    dnsmasq = on_site(lab, DNSMASQ_CONF).read_text()
    assert 'interface=host0\n' in dnsmasq and 'dhcp-ignore=tag:!known' in dnsmasq
    assert sorted(re.findall(r'^dhcp-host=(\S+)$', dnsmasq, re.M)) == [
        '%s:%02x,%s' % (MAC_PREFIX, i + 1, name) for i, name in enumerate(NAMES)]
    print('root file system and images built beside the earlier tests in %.0f s; published in %.0f s; '
          'lab (rack and site) in %.0f s' % (lab['prebuild_seconds'], lab['images_seconds'], lab['lab_seconds']))


def last_boot(serial):
    # from the last kernel start on: the deployed OS's command line names its root (root_argument)
    text = serial.read_text(errors='replace')
    return text[text.rfind('Command line:'):]


def root_argument(name):
    # the whole-disk image's boot loaders name the root by label; GRUB's configuration, which the agent made
    # on the partitioned machine (grub-mkconfig), by its file system's UUID
    return 'root=UUID=' if name == PARTITIONED else 'root=LABEL=root'


def test_provision_inspects_cleans_and_deploys_the_machines(lab):
    # enroll, manage, inspect, clean and deploy: fast track keeps one agent up from inspection to the
    # deploy (one agent boot per machine); then each boots its disk (checked below, after tests that need
    # the machines not: their boot takes minutes under TCG)
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
        assert node.instance_info.get('image_type', 'whole-disk') == (
            'partition' if name == PARTITIONED else 'whole-disk'), (name, node.instance_info)
        # the image is on the disk: its boot sector's signature
        assert disk_tail_of_mbr(host)[14:] == b'\x55\xaa', name


def test_a_second_provision_changes_nothing(lab):
    output = provision(lab, 'provision.yml')[1]
    assert recap(output)['changed'] == 0, output[-3000:]


def test_a_second_lab_run_changes_nothing(lab):
    output = run_playbook(ROOT / 'playbooks/lab.yml', lab['vars'], '-i', str(lab['site_inventory']))[1]
    assert recap(output)['changed'] == 0, output[-3000:]


def test_killed_services_come_back(lab):
    before = main_pids(lab)
    lab['machine'].ssh('kill -9 ' + ' '.join(before.values()))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        states, after = unit_states(lab), main_pids(lab)
        if all(states[unit] == 'active' and after[unit] not in ('0', before[unit]) for unit in UNITS):
            break
        time.sleep(1)
    assert all(states[unit] == 'active' and after[unit] not in ('0', before[unit]) for unit in UNITS), (states, after)
    assert api_nodes(lab) == NAMES


def test_the_site_comes_back_when_its_host_restarts(lab):
    machine = lab['machine']
    machine.stop()
    assert not tcp_open(SITE_IP, 6385, timeout=1)
    machine.boot()
    # enabled units: systemd starts them at boot, nobody else does; the engine kept its nodes,
    # and the next test undeploys them through it
    assert api_nodes(lab, timeout=120) == NAMES
    assert unit_states(lab) == {unit: 'active' for unit in UNITS}


def test_the_deployed_machines_boot_their_os_from_disk_and_answer_ssh(lab):
    # (the provisioning host's restart above did not matter: the config drive gave their addresses)
    serials = {name: Path(lab['hosts'][name]['virtual_rack']['serial_log']) for name in NAMES}
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not all(
            root_argument(name) in last_boot(serial) and ' login:' in last_boot(serial)
            for name, serial in serials.items()):
        time.sleep(5)
    for name, serial in serials.items():
        console = last_boot(serial)
        assert root_argument(name) in console and '%s login:' % name in console, (name, console[-3000:])
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
    # the partition image's machine: the agent made its EFI system partition (mounted from the fstab it
    # extended) and put GRUB there, also on the firmware's removable-media path
    result = ssh(lab, lab['hosts'][PARTITIONED], 'findmnt -no FSTYPE /boot/efi; ls /boot/efi/EFI')
    assert result.returncode == 0 and result.stdout.split()[0] == 'vfat' and 'BOOT' in result.stdout.split(), (
        result.stdout, result.stderr)


def test_a_running_server_ironic_no_longer_knows_is_adopted_without_reimaging(lab):
    # Ironic forgets a deployed machine (maintenance, delete); the machine goes on running its OS.
    # enroll.yml with provision_state active takes it over as it is: Ironic's adopt.
    name = NAMES[0]
    host = lab['hosts'][name]
    serial = Path(host['virtual_rack']['serial_log'])
    kernels_before = serial.read_text(errors='replace').count('Command line:')
    baremetal = sdk(lab).baremetal
    node = baremetal.get_node(name)
    baremetal.set_node_maintenance(node.id, reason='test: forget it')
    baremetal.delete_node(node.id)
    assert name not in api_nodes(lab)

    output = provision(lab, 'enroll.yml', '-e', 'rackops_provision_state=active', hosts=name)[1]
    assert recap(output)['changed'] == 1, output[-3000:]
    node = sdk_node(lab, name)
    assert (node.provision_state, node.power_state) == ('active', 'power on'), (node.provision_state, node.last_error)
    assert node.instance_info['image_source'].endswith('/debian-bookworm.qcow2')
    # nothing was written to it: it never restarted and still answers as itself
    assert serial.read_text(errors='replace').count('Command line:') == kernels_before
    result = ssh(lab, host, 'hostname')
    assert result.returncode == 0 and result.stdout.strip() == name, result.stderr
    # re-runs: the adoption and the provisioning (which sees the image recorded) change nothing
    output = provision(lab, 'enroll.yml', '-e', 'rackops_provision_state=active', hosts=name)[1]
    assert recap(output)['changed'] == 0, output[-3000:]
    output = provision(lab, 'provision.yml', hosts=name)[1]
    assert recap(output)['changed'] == 0, output[-3000:]


def read_console(sock, wanted, timeout=60, poke=b''):
    """What the console sends until ``wanted`` appears (``poke`` typed every few seconds meanwhile)."""
    seen = b''
    deadline = time.monotonic() + timeout
    next_poke = 0.0
    while wanted not in seen and time.monotonic() < deadline:
        if poke and time.monotonic() >= next_poke:
            sock.sendall(poke)
            next_poke = time.monotonic() + 5
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            continue
        if not chunk:
            break
        seen += chunk
    return seen


def test_the_ipmi_machines_serial_console_through_ironic(lab):
    # Ironic's ipmitool-socat console on the provisioning host, the BMC's Serial-over-LAN, the
    # machine's serial port: its getty answers, and what is typed reaches it
    name = NAMES[0]
    output = provision(lab, 'console.yml', hosts=name)[1]
    assert recap(output)['changed'] == 1, output[-3000:]
    info = sdk(lab).baremetal.get_node_console(name)
    assert info['console_enabled'] and info['console_info']['type'] == 'socat', info
    url = info['console_info']['url']
    assert url.startswith('tcp://%s:' % SITE_IP) and url in output, (url, output[-3000:])
    port = int(url.rsplit(':', 1)[1])
    with socket.create_connection((SITE_IP, port), timeout=10) as sock:
        sock.settimeout(2)
        seen = read_console(sock, b'login:', poke=b'\r')
        assert b'login:' in seen and name.encode() in seen, seen[-2000:]
        sock.sendall(b'root\r')
        seen = read_console(sock, b'Password:')
        assert b'Password:' in seen, seen[-2000:]
        sock.sendall(b'\x03\r')  # no password: back to the login prompt
    # the same console in a browser: the site's shellinabox page for it, whose terminal is that serial port
    page = 'http://%s:%d/?%d' % (SITE_IP, WEB_CONSOLE_PORT, port)
    assert 'in a browser at %s' % page in output, output[-3000:]
    with urllib.request.urlopen(page, timeout=10) as response:
        assert response.status == 200 and b'<title>Shell In A Box</title>' in response.read()
    terminal = WebConsole(page)
    seen = terminal.read_until('login:', 60, poke='\r')
    assert 'login:' in seen and name in seen, seen[-2000:]
    terminal.send('root\r')
    assert 'Password:' in terminal.read_until('Password:', 30), terminal.seen[-2000:]
    terminal.send('\x03\r')
    assert recap(provision(lab, 'console.yml', hosts=name)[1])['changed'] == 0
    output = provision(lab, 'console.yml', '-e', 'rackops_console=disabled', hosts=name)[1]
    assert recap(output)['changed'] == 1, output[-3000:]
    assert not sdk(lab).baremetal.get_node_console(name)['console_enabled']
    # the port is released: nothing listens there any more
    assert not tcp_open(SITE_IP, port, timeout=2)


def test_a_rescued_machine_takes_user_rescue_on_its_console_and_boots_its_own_os_again(lab):
    # Ironic's agent rescue on the IPMI machine: the deploy ramdisk boots, with user rescue (the password given
    # to rescue.yml, never printed) on its serial console and the disk as it was; unrescued, the machine boots
    # its own OS from that disk again
    name = NAMES[0]
    host = lab['hosts'][name]
    serial = Path(host['virtual_rack']['serial_log'])
    password = 'Rescue-%d-pw' % os.getpid()
    lost_machine_run(lab)  # meanwhile (its test, below, looks at it)
    output = provision(lab, 'rescue.yml', '-e', json.dumps({'rackops_rescue_password': password}), hosts=name)[1]
    assert recap(output)['changed'] == 1, output[-3000:]
    assert password not in output
    assert sdk_node(lab, name).provision_state == 'rescue'
    assert recap(provision(lab, 'rescue.yml', '-e', json.dumps({'rackops_rescue_password': password}),
                           hosts=name)[1])['changed'] == 0
    output = provision(lab, 'console.yml', hosts=name)[1]
    page = re.search(r'in a browser at (http://\S+)', output).group(1)
    terminal = WebConsole(page)
    assert 'login:' in terminal.read_until('login:', 120, poke='\r'), terminal.seen[-2000:]
    terminal.send('rescue\r')
    assert 'Password:' in terminal.read_until('Password:', 30), terminal.seen[-2000:]
    since = len(terminal.seen)
    terminal.send(password + '\r')
    # (typed once the shell prompts: login drops what is typed before)
    assert '$ ' in terminal.read_until('$ ', 60, since=since)[since:], terminal.seen[-2000:]
    terminal.send('echo rescued-as-$(id -un)\r')
    assert 'rescued-as-rescue' in terminal.read_until('rescued-as-rescue', 60), terminal.seen[-2000:]
    terminal.send('exit\r')
    provision(lab, 'console.yml', '-e', 'rackops_console=disabled', hosts=name)
    kernels = serial.read_text(errors='replace').count('Command line:')

    output = provision(lab, 'rescue.yml', '-e', 'rackops_rescue=unrescued', hosts=name)[1]
    assert recap(output)['changed'] == 1, output[-3000:]
    assert sdk_node(lab, name).provision_state == 'active'
    deadline = time.monotonic() + 240
    while ssh(lab, host, 'hostname').stdout.strip() != name and time.monotonic() < deadline:
        time.sleep(5)
    assert ssh(lab, host, 'hostname').stdout.strip() == name, last_boot(serial)[-3000:]
    # from its own disk: a new kernel start, whose command line names its root by label
    assert serial.read_text(errors='replace').count('Command line:') > kernels
    assert 'root=LABEL=root' in last_boot(serial)


def test_undeploy_cleans_the_disks_and_makes_them_available(lab):
    # (the adopted machine among them, like any other)
    output = provision(lab, 'undeploy.yml')[1]
    for name in NAMES:
        assert sdk_node(lab, name).provision_state == 'available', (name, output[-3000:])
        # automated cleaning erased the disk's metadata: no partition table any more
        assert disk_tail_of_mbr(lab['hosts'][name])[14:] != b'\x55\xaa', name


def test_an_image_not_there_or_not_its_checksum_fails_the_deploy_with_ironics_error(lab):
    # the same rack with broken images, on the machines the undeploy just cleaned (fast track: no boot) - the
    # IPMI machine's URL is not there; the UEFI machine's image is there, but its checksum is not the one given
    # (a URL the engine's image cache has not seen: it downloads, and checks, the image anew)
    inventory = yaml.safe_load(lab['inventory'].read_text())
    defaults = inventory['all']['children']['baremetal']['vars']['baremetal_defaults']
    source = defaults['image']['source']
    broken_images = {NAMES[0]: {'source': source.replace('debian-bookworm', 'missing'),
                                'checksum': 'sha256:' + '0' * 64},
                     NAMES[1]: {'source': source + '?not-its-checksum', 'checksum': 'sha256:' + '1' * 64}}
    for name, host in inventory['all']['children']['baremetal']['hosts'].items():
        host['baremetal']['image'] = broken_images[name]
    broken = lab['base'] / 'broken-image.yml'
    broken.write_text(yaml.safe_dump(inventory))
    rc, output = provision(lab, 'provision.yml', '-e', 'rackops_inspect=false', inventory=broken, expect_ok=False)
    assert rc != 0, output[-3000:]
    nodes = report_nodes(lab)
    assert sorted(nodes) == NAMES
    for node in nodes.values():
        assert node['failed'] and node['provision_state'] == 'deploy failed', node
    missing, mismatched = nodes[NAMES[0]]['last_error'], nodes[NAMES[1]]['last_error']
    assert 'missing.qcow2' in missing and '404' in missing, missing
    assert 'checksum is invalid or does not match' in mismatched, mismatched
    junit = (Path(lab['vars']['rackops_report_dir']) / 'provision.xml').read_text()
    assert junit.count('<failure') == len(NAMES) and 'missing.qcow2' in junit and 'does not match' in junit
    # the run says where to look next, per machine
    assert 'fix what last_error says' in output
    for name in NAMES:
        assert lab['hosts'][name]['rackops_console_log'] in output, name


def lost_machine_run(lab):
    """provision.yml for the machine the boot services were not told about, in a thread: started by the rescue
    test, whose one machine leaves a core free under TCG while the LOST machine waits for a DHCP answer (it
    needs no boot), and awaited by the LOST machine's test (which starts it itself when run alone). Its report
    goes to a directory of its own: the deploy tests in between write provision.json too."""
    if 'lost_run' not in lab:
        # enrolled all the same: a server the inventory lists now but listed not when site.yml last ran
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
        run = {'report_dir': lab['base'] / 'reports-lost'}

        def provision_lost():
            try:
                # (its firmware asks for an address seconds after power-on: 30 s of inspect wait see it ignored)
                run['rc'], run['output'] = provision(lab, 'provision.yml', '-e', 'rackops_timeout=30', '-e',
                                                     'rackops_report_dir=%s' % run['report_dir'], hosts=LOST,
                                                     inventory=listed, expect_ok=False)
            finally:
                # its firmware asks again and again, a core's worth under TCG: paused for the tests after this
                qmp(str(Path(lab['vars']['virtual_rack_dir']) / 'machines' / LOST / 'qmp.sock'), {'execute': 'stop'})

        run['thread'] = threading.Thread(target=provision_lost, daemon=True)
        run['thread'].start()
        lab['lost_run'] = run
    return lab['lost_run']


def test_a_machine_that_never_network_boots_times_out_pointing_at_its_logs(lab):
    run = lost_machine_run(lab)
    run['thread'].join(timeout=600)
    assert 'rc' in run, 'the LOST machine\'s provision.yml has not ended within 10 minutes'
    rc, output = run['rc'], run['output']
    assert rc != 0
    (node,) = report_nodes(lab, run['report_dir']).values()
    assert node['name'] == LOST and node['failed'] and node['provision_state'] == 'inspect wait', node
    assert 'never reported back' in node['msg'], node['msg']
    # the report names the machine's console log and the DHCP server's log ...
    console_log = str(Path(lab['vars']['virtual_rack_dir']) / 'machines' / LOST / 'serial.log')
    assert console_log in output and DHCP_LOG in output, output[-3000:]
    # ... and they tell the story: the machine asked, the server (on the provisioning host) did not answer
    dhcp_log = on_site(lab, DHCP_LOG).read_text()
    assert re.search(r'DHCPDISCOVER\(\S+\) %s (ignored|no address available)' % LOST_MAC, dhcp_log), dhcp_log[-2000:]


def test_absent_removes_the_site_services_and_keeps_the_engines_data(lab):
    run_playbook(ROOT / 'playbooks/site.yml', dict(lab['vars'], rackops_site_state='absent'),
                 '-i', str(lab['site_inventory']))
    machine = lab['machine']
    assert unit_states(lab) == {unit: 'inactive' for unit in UNITS}
    assert machine.ssh('ls /etc/systemd/system/').stdout.count('rackops-') == 0
    assert not tcp_open(SITE_IP, HTTP_PORT, timeout=1)
    assert machine.ssh('test -s /var/lib/rackops/ironic/ironic.sqlite', check=False).returncode == 0
