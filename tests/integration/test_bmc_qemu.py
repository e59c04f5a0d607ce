"""The BMC emulator in front of a real QEMU machine: IPMI in, QMP out.

The virtual rack builds on this: ipmitool (the standard client) and the `bmc`
module power a QEMU machine on and off and change its boot order, and the
assertions ask QEMU itself over QMP.
"""

from __future__ import annotations

import json
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


@pytest.fixture(scope='module')
def machine(tmp_path_factory):
    """A QEMU machine, powered off (-S), no network peer, an empty disk; TCG."""
    work = tmp_path_factory.mktemp('qemu')
    disk = work / 'disk.img'
    subprocess.run(['truncate', '-s', '16M', str(disk)], check=True)
    qmp_path = work / 'qmp.sock'
    log = (work / 'qemu.log').open('w')
    proc = subprocess.Popen([  # pylint: disable=consider-using-with
        QEMU, '-S', '-no-shutdown', '-nodefaults', '-display', 'none', '-machine', 'pc', '-accel', 'tcg',
        '-m', '64', '-qmp', 'unix:%s,server=on,wait=off' % qmp_path,
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
                           extra={'qmp': str(qmp_path), 'qmp_boot_devices': {'network': 'net0', 'hd': 'disk0'}})
    yield emulator
    emulator.stop()


def test_ipmitool_and_the_bmc_module_drive_a_qemu_machine(machine, rack, tmp_path):
    qmp = Qmp(machine[1])
    spec = rack.specs[0]
    base = ['ipmitool', '-I', 'lanplus', '-C', '3', '-H', spec['address'], '-p', str(spec['port']),
            '-U', spec['username'], '-P', spec['password']]

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
