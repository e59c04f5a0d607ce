"""The BMC emulator in front of a real QEMU machine: IPMI in, QMP out, and its serial port over SOL.

The virtual rack builds on this: ipmitool (the standard client) and the `bmc`
module power a QEMU machine on and off and change its boot order, and the
assertions ask QEMU itself over QMP. The machine's disk holds a boot sector
that answers on its serial port, so Serial-over-LAN is proven both ways
without an operating system.
"""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import socket
import subprocess
import time

import pytest
from conftest import run_playbook
from emulators import BmcEmulator
import yaml

# scripts/host-deps.sh installs it (bindep.txt); missing, the test fails rather than skips
QEMU = shutil.which('qemu-system-x86_64') or 'qemu-system-x86_64'


class Qmp:
    """A tiny QMP client for the assertions, one connection per command (QEMU
    serves one QMP client at a time; the emulator does the same)."""

    def __init__(self, path):
        self.path = str(path)

    def execute(self, command, **arguments):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(10)
            sock.connect(self.path)
            reader = sock.makefile('rb')
            reply = None
            for request in (None, {'execute': 'qmp_capabilities'}, {'execute': command, 'arguments': arguments}):
                if request is not None:
                    sock.sendall(json.dumps(request).encode() + b'\n')
                reply = json.loads(reader.readline())
                while 'event' in reply:
                    reply = json.loads(reader.readline())
        assert 'error' not in reply, reply
        return reply['return']

    def status(self):
        return self.execute('query-status')['status']

    def bootindex(self, qdev):
        return self.execute('qom-get', path='/machine/peripheral/%s' % qdev, property='bootindex')


# A boot sector (16-bit x86, loaded at 0x7c00) that prints a banner on COM1, then echoes what it receives
# there, lower-case letters in upper case: what comes back was typed into the machine, not echoed on the way.
ECHO_BOOT_SECTOR = bytes.fromhex(
    'fa'        # 00 cli
    '31c0'      # 01 xor ax, ax
    '8ed8'      # 03 mov ds, ax
    'be2c7c'    # 05 mov si, 0x7c2c (the banner)
    'baf803'    # 08 mov dx, 0x3f8 (COM1 data)
    'ac'        # 0b lodsb
    '84c0'      # 0c test al, al
    '7403'      # 0e jz 0x13
    'ee'        # 10 out dx, al
    'ebf8'      # 11 jmp 0x0b
    'bafd03'    # 13 mov dx, 0x3fd (COM1 line status)
    'ec'        # 16 in al, dx
    'a801'      # 17 test al, 1 (data ready)
    '74fb'      # 19 jz 0x16
    'baf803'    # 1b mov dx, 0x3f8
    'ec'        # 1e in al, dx
    '3c61'      # 1f cmp al, 'a'
    '7206'      # 21 jb 0x29
    '3c7a'      # 23 cmp al, 'z'
    '7702'      # 25 ja 0x29
    '2c20'      # 27 sub al, 0x20
    'ee'        # 29 out dx, al
    'ebe7'      # 2a jmp 0x13
) + b'rackops-sol-ready\r\n\0'
ECHO_BOOT_SECTOR += bytes(510 - len(ECHO_BOOT_SECTOR)) + b'\x55\xaa'


@pytest.fixture(scope='module')
def machine(tmp_path_factory):
    """A QEMU machine, powered off (-S), no network peer, a disk with the echoing boot sector, its serial
    port on a socket (logged as the virtual rack's are); TCG."""
    work = tmp_path_factory.mktemp('qemu')
    disk = work / 'disk.img'
    disk.write_bytes(ECHO_BOOT_SECTOR)
    subprocess.run(['truncate', '-s', '16M', str(disk)], check=True)
    qmp_path = work / 'qmp.sock'
    log = (work / 'qemu.log').open('w')
    proc = subprocess.Popen([  # pylint: disable=consider-using-with
        QEMU, '-S', '-no-shutdown', '-nodefaults', '-display', 'none', '-machine', 'pc', '-accel', 'tcg',
        '-m', '64', '-qmp', 'unix:%s,server=on,wait=off' % qmp_path,
        '-chardev', 'socket,id=serial0,path=%s,server=on,wait=off,logfile=%s,logappend=on' % (
            work / 'serial.sock', work / 'serial.log'), '-serial', 'chardev:serial0',
        '-device', 'virtio-net-pci,id=net0,romfile=',
        '-drive', 'if=none,id=d0,file=%s,format=raw' % disk, '-device', 'virtio-blk-pci,drive=d0,id=disk0',
    ], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while not qmp_path.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    assert qmp_path.exists(), (work / 'qemu.log').read_text()
    yield work, qmp_path
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope='module')
def rack(machine, tmp_path_factory):
    qmp_path = machine[1]
    emulator = BmcEmulator(tmp_path_factory.mktemp('qemu-bmc'), 1, first_octet=230, port=6270, prefix='vm',
                           extra={'qmp': str(qmp_path), 'qmp_boot_devices': {'network': 'net0', 'hd': 'disk0'},
                                  'serial': str(machine[0] / 'serial.sock')})
    yield emulator
    emulator.stop()


def ipmitool_command(spec):
    return ['ipmitool', '-I', 'lanplus', '-C', '3', '-H', spec['address'], '-p', str(spec['port']),
            '-U', spec['username'], '-P', spec['password']]


def test_ipmitool_and_the_bmc_module_drive_a_qemu_machine(machine, rack, tmp_path):
    qmp = Qmp(machine[1])
    spec = rack.specs[0]
    base = ipmitool_command(spec)

    def ipmitool(*args):
        return subprocess.run(base + list(args), capture_output=True, text=True, check=True, timeout=30).stdout

    assert qmp.status() == 'prelaunch' and 'Chassis Power is off' in ipmitool('chassis', 'power', 'status')
    ipmitool('chassis', 'bootdev', 'pxe')
    assert (qmp.bootindex('net0'), qmp.bootindex('disk0')) == (0, 1)
    ipmitool('chassis', 'power', 'on')
    assert qmp.status() == 'running'
    assert 'Chassis Power is on' in ipmitool('chassis', 'power', 'status')
    ipmitool('chassis', 'power', 'off')
    assert qmp.status() in ('paused', 'prelaunch')  # stopped, reset: boots afresh when on
    assert rack.states()['vm-00']['machine']['boot_order'] == {'network': 0, 'hd': 1}

    # the module, against the same machine: boot from disk, power on, idempotent
    bmc = {'name': 'vm-00', 'address': spec['address'], 'port': spec['port'], 'username': spec['username'],
           'password': spec['password']}
    playbook = tmp_path / 'play.yml'
    playbook.write_text(yaml.safe_dump([{'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        {'name': 'Boot from disk', 'rackops.baremetal.bmc': {
            'bmc': bmc, 'operation': 'boot_device', 'boot_device': 'disk', 'boot_device_persistent': True}},
        {'name': 'Power on', 'rackops.baremetal.bmc': {'bmc': bmc, 'operation': 'power', 'power': 'on'}},
    ]}]))
    output = run_playbook(playbook)[1]
    assert 'changed=2' in output
    assert (qmp.bootindex('disk0'), qmp.bootindex('net0')) == (0, 1) and qmp.status() == 'running'
    assert 'changed=0' in run_playbook(playbook)[1]
    # a hard reset keeps it running; soft off asks the guest (no OS here: it stays on)
    ipmitool('chassis', 'power', 'reset')
    assert qmp.status() == 'running'


class SolSession:
    """``ipmitool sol activate`` as an operator runs it, on a terminal: what is typed goes in, the output is
    collected. (On a pipe, ipmitool's stdout is block-buffered: its output would come only when it exits.)"""

    def __init__(self, spec):
        self.terminal, client = pty.openpty()
        self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
            ipmitool_command(spec) + ['sol', 'activate'], stdin=client, stdout=client, stderr=client,
            start_new_session=True)
        os.close(client)
        self.output = b''

    def read_until(self, text, timeout=30):
        deadline = time.monotonic() + timeout
        while text not in self.output and time.monotonic() < deadline:
            if select.select([self.terminal], [], [], 0.5)[0]:
                try:
                    self.output += os.read(self.terminal, 4096)
                except OSError:  # the terminal closed: ipmitool ended
                    break
        return text in self.output

    def type(self, text):
        os.write(self.terminal, text)

    def end(self, escape=True):
        if escape and self.proc.poll() is None:
            self.type(b'~.')  # ipmitool's escape: deactivates the payload and exits
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.read_until(b'\0', timeout=0.5)  # what is left
        os.close(self.terminal)


def test_serial_over_lan_reaches_the_machines_serial_port(machine, rack):
    spec = rack.specs[0]
    subprocess.run(ipmitool_command(spec) + ['chassis', 'power', 'on'], check=True, capture_output=True, timeout=30)
    log = machine[0] / 'serial.log'
    deadline = time.monotonic() + 60
    while b'rackops-sol-ready' not in log.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.5)
    # the banner came while no client was connected: the log has it all the same
    assert b'rackops-sol-ready' in log.read_bytes(), log.read_bytes()[-500:]

    first = SolSession(spec)
    assert first.read_until(b'SOL Session operational'), first.output
    time.sleep(0.5)  # the escape character is only taken at the start of a line: a fresh line to be sure
    first.type(b'hello sol\r')
    assert first.read_until(b'HELLO SOL'), first.output
    # ended the way socat ends it under Ironic's console: killed, without deactivating
    first.proc.terminate()
    first.end(escape=False)

    second = SolSession(spec)
    assert second.read_until(b'SOL Session operational'), second.output
    second.type(b'taken over\r')
    assert second.read_until(b'TAKEN OVER'), second.output
    second.end()
    assert second.proc.returncode == 0, second.output
    assert b'HELLO SOL' in log.read_bytes() and b'TAKEN OVER' in log.read_bytes()
    # the escape deactivated the payload: the BMC says so
    deactivate = subprocess.run(ipmitool_command(spec) + ['sol', 'deactivate'], capture_output=True, text=True,
                                timeout=30, check=False)
    assert 'already de-activated' in deactivate.stdout + deactivate.stderr, deactivate
    calls = rack.states()['vm-00']['calls']
    assert calls.get('activate_payload') == 2 and calls.get('deactivate_payload', 0) >= 1, calls
