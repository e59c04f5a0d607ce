"""The pxe role: a real dnsmasq and nginx on a veth pair whose far end sits in a network namespace.

The namespace plays the machines: busybox's udhcpc asks for a lease the way
firmware does (option 93 says BIOS or UEFI), curl fetches iPXE over TFTP and
files over HTTP, and the kernel's IPv6 autoconfiguration sees the router
advertisements. Nothing listens outside the veth pair the test made.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from conftest import WebConsole, make_base, recap, run_playbook
from machines import tcp_open

HOST_IP = '10.98.0.1'
KNOWN_MAC = '52:54:00:9e:00:01'
RESERVED_IP = '10.98.0.21'


def sh(*cmd, check=True, timeout=60):
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=timeout)
    if check:
        assert proc.returncode == 0, '%s: %s%s' % (' '.join(cmd), proc.stdout, proc.stderr)
    return proc


@pytest.fixture(scope='module')
def net():
    """A namespace with one end of a veth pair; the host end has the provisioning addresses."""
    tag = uuid.uuid4().hex[:6]
    ns, host_if, ns_if = 'rpxe-' + tag, 'rpxh' + tag, 'rpxn' + tag
    sh('ip', 'netns', 'add', ns)
    try:
        sh('ip', 'link', 'add', host_if, 'type', 'veth', 'peer', 'name', ns_if, 'netns', ns)
        sh('ip', 'addr', 'add', HOST_IP + '/24', 'dev', host_if)
        sh('ip', '-6', 'addr', 'add', 'fd98::1/64', 'dev', host_if, 'nodad')
        sh('ip', 'link', 'set', host_if, 'up')
        sh('ip', 'netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up')
        sh('ip', 'netns', 'exec', ns, 'ip', 'link', 'set', ns_if, 'address', KNOWN_MAC, 'up')
        # an address of its own (outside the DHCP range) for the TFTP and HTTP fetches
        sh('ip', 'netns', 'exec', ns, 'ip', 'addr', 'add', '10.98.0.40/24', 'dev', ns_if)
        yield {'ns': ns, 'host_if': host_if, 'ns_if': ns_if}
    finally:
        sh('ip', 'link', 'del', host_if, check=False)
        sh('ip', 'netns', 'del', ns, check=False)


@pytest.fixture(scope='module')
def pxe(net):
    base = make_base('rackops-pxe-')
    port = 18000 + os.getpid() % 1000
    role_vars = {
        'pxe_interface': net['host_if'], 'pxe_dhcp_range_start': '10.98.0.50', 'pxe_dhcp_range_end': '10.98.0.60',
        'pxe_hosts': [{'name': 'node-1', 'mac': KNOWN_MAC.upper(), 'ip': RESERVED_IP}],
        'pxe_ipv6_ra_prefix': 'fd98::', 'pxe_http_port': port, 'pxe_root_owner': 'root',
        'pxe_tftp_root': str(base / 'tftpboot'), 'pxe_http_root': str(base / 'httpboot'),
        'pxe_install_dir': str(base / 'opt'), 'pxe_config_dir': str(base / 'etc'),
        'pxe_state_dir': str(base / 'state'), 'pxe_log_dir': str(base / 'log'),
        'pxe_service_manager': 'supervisor'}
    playbook = base / 'pxe.yml'
    playbook.write_text(json.dumps([{'hosts': 'localhost', 'gather_facts': False,
                                     'roles': [{'role': 'rackops.baremetal.pxe'}]}]))
    run_playbook(playbook, role_vars)
    setup = {'base': base, 'port': port, 'vars': role_vars, 'playbook': playbook,
             'run': lambda **overrides: run_playbook(playbook, dict(role_vars, **overrides))}
    yield setup
    run_playbook(playbook, dict(role_vars, pxe_state='absent'), expect_ok=False)
    sh('rm', '-rf', str(base), check=False)


def in_ns(net, *cmd, check=True, timeout=60):
    return sh('ip', 'netns', 'exec', net['ns'], *cmd, check=check, timeout=timeout)


def lease(net, base, arch=None):
    """One DHCP exchange from the namespace: the variables udhcpc hands its script, or None."""
    out = base / ('lease-%s.env' % uuid.uuid4().hex[:6])
    script = base / 'udhcpc.sh'
    script.write_text('#!/bin/sh\n[ "$1" = bound ] && env > %s\nexit 0\n' % out)
    script.chmod(0o755)
    cmd = ['busybox', 'udhcpc', '-i', net['ns_if'], '-n', '-q', '-f', '-t', '3', '-T', '1', '-s', str(script)]
    if arch is not None:
        cmd += ['-x', '0x5d:%04x' % arch]  # option 93, client system architecture
    in_ns(net, *cmd, check=False, timeout=30)
    if not out.exists():
        return None
    return dict(line.split('=', 1) for line in out.read_text().splitlines() if '=' in line)


def pids_of(pidfile: Path):
    return int(pidfile.read_text().strip()) if pidfile.exists() else None


def test_dhcp_answers_the_reserved_machine_with_the_right_boot_file(pxe, net):
    bios = lease(net, pxe['base'], arch=0)
    assert bios is not None, (pxe['base'] / 'log/dnsmasq.log').read_text()[-2000:]
    assert bios['ip'] == RESERVED_IP and bios['siaddr'] == HOST_IP and bios['boot_file'] == 'undionly.kpxe'
    uefi = lease(net, pxe['base'], arch=7)
    assert uefi['ip'] == RESERVED_IP and uefi['boot_file'] == 'snponly.efi'


def test_an_unknown_machine_gets_no_answer(pxe, net):
    try:
        in_ns(net, 'ip', 'link', 'set', net['ns_if'], 'address', '52:54:00:9e:00:99')
        assert lease(net, pxe['base'], arch=0) is None
        assert 'ignored' in (pxe['base'] / 'log/dnsmasq.log').read_text()
    finally:
        in_ns(net, 'ip', 'link', 'set', net['ns_if'], 'address', KNOWN_MAC)


def test_tftp_serves_ipxe_and_http_serves_the_root(pxe, net):
    for name in ('undionly.kpxe', 'snponly.efi'):
        out = pxe['base'] / ('fetched-' + name)
        in_ns(net, 'curl', '-sf', '--max-time', '20', 'tftp://%s/%s' % (HOST_IP, name), '-o', str(out))
        assert hashlib.sha256(out.read_bytes()).digest() == hashlib.sha256(Path('/usr/lib/ipxe', name).read_bytes()).digest()

    (pxe['base'] / 'httpboot/boot.ipxe').write_text('#!ipxe\necho rackops\n')
    url = 'http://%s:%d/' % (HOST_IP, pxe['port'])
    assert in_ns(net, 'curl', '-sf', '--max-time', '10', url + 'boot.ipxe').stdout == '#!ipxe\necho rackops\n'
    assert in_ns(net, 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', url + 'missing').stdout == '404'
    # bound to the provisioning address only
    refused = sh('curl', '-s', '--max-time', '3', 'http://127.0.0.1:%d/boot.ipxe' % pxe['port'], check=False)
    assert refused.returncode != 0


def test_router_advertisements_reach_the_machines(pxe, net):
    deadline = time.monotonic() + 20
    addresses = ''
    while time.monotonic() < deadline:
        addresses = in_ns(net, 'ip', '-6', 'addr', 'show', 'dev', net['ns_if']).stdout
        if 'fd98::' in addresses:
            break
        time.sleep(1)
    assert 'fd98::' in addresses, addresses


def test_second_run_changes_nothing_and_a_new_reservation_restarts_dnsmasq(pxe, net):
    output = pxe['run']()[1]
    assert recap(output)['changed'] == 0
    pid = pids_of(pxe['base'] / 'state/run/dnsmasq.pid')
    hosts = pxe['vars']['pxe_hosts'] + [{'name': 'node-2', 'mac': '52:54:00:9e:00:02', 'ip': '10.98.0.22'}]
    output = pxe['run'](pxe_hosts=hosts)[1]
    assert recap(output)['changed'] > 0
    assert 'dhcp-host=52:54:00:9e:00:02,10.98.0.22,node-2' in (pxe['base'] / 'etc/dnsmasq.conf').read_text()
    assert pids_of(pxe['base'] / 'state/run/dnsmasq.pid') != pid
    assert lease(net, pxe['base'], arch=0)['ip'] == RESERVED_IP


def test_bad_input_is_refused_before_anything_is_written(pxe, net, tmp_path):
    default_if = sh('ip', '-j', 'route', 'show', 'default').stdout
    default_if = json.loads(default_if)[0]['dev'] if default_if.strip() not in ('', '[]') else None
    before = (pxe['base'] / 'etc/dnsmasq.conf').read_text()
    cases = [({'pxe_hosts': [{'name': 'bad', 'mac': '52:54:00:zz:00:01'}]}, 'pxe_hosts: bad has an invalid mac'),
             ({'pxe_dhcp_range_end': 'ten'}, 'pxe_dhcp_range_end: not an IPv4 address'),
             ({'pxe_interface': 'nosuch0'}, 'pxe_interface: nosuch0 is not an interface of this host')]
    if default_if:
        cases.append(({'pxe_interface': default_if}, 'carries the default route'))
    for overrides, message in cases:
        rc, output = run_playbook(pxe['playbook'], dict(pxe['vars'], **overrides), expect_ok=False)
        assert rc != 0 and message in output, output[-2000:]
    assert (pxe['base'] / 'etc/dnsmasq.conf').read_text() == before


class FakeSerialConsole:
    """What Ironic's socat console is to whoever connects: a machine's serial port, here a getty's prompt that
    echoes what is typed."""

    def __init__(self, address, port):
        self.server = socket.create_server((address, port))
        self.server.settimeout(0.5)
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while self.running:
            try:
                conn = self.server.accept()[0]
            except socket.timeout:
                continue
            threading.Thread(target=self.getty, args=(conn,), daemon=True).start()

    @staticmethod
    def getty(conn):
        with conn:
            conn.sendall(b'\r\nnode-1 login: ')
            while data := conn.recv(100):
                conn.sendall(data.replace(b'\r', b'\r\n'))

    def close(self):
        self.running = False
        self.thread.join()
        self.server.close()


def test_a_browser_reaches_the_serial_consoles_and_nothing_else(pxe, net):
    # the role's shellinabox behind its nginx, on the provisioning address: each page is one console of the
    # engine's port range there (here a stand-in for Ironic's socat), and only those
    web_port = pxe['port'] + 1
    first = 19000 + os.getpid() % 500
    console = FakeSerialConsole(HOST_IP, first + 3)
    web = {'pxe_web_console_port': web_port, 'pxe_web_console_target_ports': '%d:%d' % (first, first + 9)}
    try:
        output = pxe['run'](**web)[1]
        assert recap(output)['changed'] > 0, output[-3000:]
        page = 'http://%s:%d/?%d' % (HOST_IP, web_port, first + 3)
        with urllib.request.urlopen(page, timeout=10) as response:
            assert response.status == 200 and b'<title>Shell In A Box</title>' in response.read()
        session = WebConsole(page)
        assert 'node-1 login: ' in session.read_until('login:', 30), session.seen
        session.send('root\r')
        assert 'login: root\r\n' in session.read_until('root\r\n', 30), session.seen
        # a port outside the range, or no port: nothing is connected
        refused = WebConsole('http://%s:%d/?22' % (HOST_IP, web_port))
        assert 'Port 22 is not a console port' in refused.read_until('console port', 30), refused.seen
        assert 'No console in this address' in WebConsole('http://%s:%d/?x;id' % (HOST_IP, web_port)).read_until(
            'No console', 30)
        # shellinaboxd itself has no TCP port (nginx serves it on the provisioning address only)
        listening = sh('ss', '-Htlnp').stdout
        assert 'shellinaboxd' not in listening and '%s:%d' % (HOST_IP, web_port) in listening, listening
        # Debian's own shellinabox service (a login page on port 4200) stays off where the role installed it
        if (pxe['base'] / 'state/shellinabox-installed-by-rackops').exists():
            assert not list(Path('/etc/rc2.d').glob('S??shellinabox'))
        assert recap(pxe['run'](**web)[1])['changed'] == 0
    finally:
        console.close()
    # off again: nothing serves the page
    output = pxe['run']()[1]
    assert recap(output)['changed'] > 0, output[-3000:]
    assert not tcp_open(HOST_IP, web_port, timeout=2)
    assert sh('pgrep', '-f', str(pxe['base'] / 'state/run/webconsole.sock'), check=False).returncode == 1
    assert not (pxe['base'] / 'opt/rackops-web-console').exists()


def test_absent_stops_everything_it_started(pxe, net):
    state = pxe['base'] / 'state/run'
    pids = [pids_of(state / name) for name in ('dnsmasq.pid', 'nginx.pid', 'supervisord.pid')]
    assert all(pids)
    run_playbook(pxe['playbook'], dict(pxe['vars'], pxe_state='absent'))
    for pid in pids:
        assert not Path('/proc/%d' % pid).exists(), 'pid %d still running' % pid
    assert not (pxe['base'] / 'etc').exists() and (pxe['base'] / 'httpboot/boot.ipxe').exists()
    # and back, for the module teardown
    run_playbook(pxe['playbook'], pxe['vars'])
