"""Real systemd hosts for tests: Debian bookworm machines booted with systemd-nspawn.

Each machine runs systemd as PID 1 and sshd, in a network namespace of its own, with one
interface (host0) on a bridge of the caller's choosing and a static address there; Ansible
reaches it over SSH with a key made for it, as it reaches a site's hosts. The root file system
is built once with debootstrap (about 85 s, more with the packages) and cached by a hash of its
inputs; each machine boots a copy of it, which outlives a reboot of the machine.

This host has no systemd bus: machines are started with --register=no --keep-unit and tracked
by the PID of their systemd-nspawn process (machinectl cannot see them).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml

# brings a network namespace with a bridge up and down (the virtual rack's own)
NET = Path(__file__).resolve().parents[2] / 'roles/virtual_rack/files/vr-net.sh'
CACHE = Path(os.environ.get('RACKOPS_TEST_MACHINES', '/var/tmp/rackops-test/machines'))
RELEASE = 'bookworm'
MIRROR = os.environ.get('RACKOPS_TEST_MIRROR', 'http://deb.debian.org/debian')
# systemd and sshd, and what the site's roles install (ironic, pxe, database) already there: the
# machines have no way to the package mirror (their network is the test's own bridge).
PACKAGES = ['systemd', 'systemd-sysv', 'dbus', 'iproute2', 'openssh-server', 'python3', 'python3-apt', 'sudo',
            'python3-venv', 'python3-packaging', 'ipmitool', 'socat', 'qemu-utils', 'dnsmasq-base', 'ipxe', 'nginx-light', 'procps',
            'postgresql', 'mariadb-server', 'mariadb-client', 'shellinabox']
# Changes to what is done to the root file system after debootstrap: part of the cache key.
SETUP = 7


def root_filesystem(nice=False) -> Path:
    """The machines' root file system, built unless the cache has one from the same inputs
    (nice: at low priority, beside running tests)."""
    key = hashlib.sha256(json.dumps([RELEASE, MIRROR, sorted(PACKAGES), SETUP]).encode()).hexdigest()[:12]
    root = CACHE / ('%s-%s' % (RELEASE, key))
    if (root / '.rackops-complete').exists():
        return root
    CACHE.mkdir(parents=True, exist_ok=True)
    # the end-to-end prebuild and a test that boots machines may ask at once: one builds, the other waits
    with open(CACHE / '.lock', 'w', encoding='utf-8') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (root / '.rackops-complete').exists():
            return root
        return _build(root, nice)


def _build(root: Path, nice: bool) -> Path:
    building = root.with_name(root.name + '.building')
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    debootstrap = ['debootstrap', '--variant=minbase', '--include=' + ','.join(PACKAGES), RELEASE, str(building), MIRROR]
    subprocess.run((['nice', '-n', '10'] if nice else []) + debootstrap, check=True, capture_output=True, timeout=1800)
    # The system's own nginx would answer on :80 of every address: the pxe role runs its own.
    # systemd-networkd brings up host0 from the file each machine gets.
    # Debian's PostgreSQL and MariaDB would start on every machine: the database role enables the one it runs.
    # Debian's shellinabox (a login page on port 4200) too: the pxe role keeps it off where it installs it.
    for command in (['systemctl', 'disable', 'nginx.service'], ['systemctl', 'mask', 'nginx.service'],
                    ['systemctl', 'disable', 'shellinabox.service'],
                    ['systemctl', 'disable', 'postgresql.service'], ['systemctl', 'disable', 'mariadb.service'],
                    ['systemctl', 'disable', 'mariadb.socket'],
                    ['systemctl', 'enable', 'systemd-networkd.service', 'ssh.service']):
        subprocess.run(['chroot', str(building), *command], check=True, capture_output=True)
    # a login prompt on the console would only wait: the machines are reached over SSH
    subprocess.run(['chroot', str(building), 'systemctl', 'mask', 'console-getty.service'], check=True, capture_output=True)
    (building / 'etc/apt/apt.conf.d/99rackops-no-network').write_text(
        '// The test machines have no way to the mirror.\nAcquire::Retries "0";\n')
    (building / '.rackops-complete').write_text(time.strftime('%Y-%m-%dT%H:%M:%S\n'))
    shutil.rmtree(root, ignore_errors=True)
    building.rename(root)
    for other in CACHE.glob(RELEASE + '-*'):  # built from other inputs: never used again
        if other != root:
            shutil.rmtree(other, ignore_errors=True)
    return root


@dataclass
class Machine:
    name: str
    directory: Path
    netns: str
    bridge: str
    address: str           # with prefix, e.g. 10.95.0.2/24
    key: Path              # the private key that logs in as root
    log: Path = field(init=False)
    process: subprocess.Popen | None = field(default=None, init=False)

    def __post_init__(self):
        self.log = self.directory.parent / (self.name + '.console.log')

    @property
    def ip(self) -> str:
        return self.address.split('/', maxsplit=1)[0]

    def boot(self, timeout=120):
        """Start systemd in the machine and wait until sshd answers."""
        with open(self.log, 'ab') as log:
            self.process = subprocess.Popen(
                # nsenter, not `ip netns exec`: that mounts a new /sys, without the cgroup
                # hierarchy systemd-nspawn needs ("No medium found")
                ['nsenter', '--net=/run/netns/' + self.netns, 'systemd-nspawn', '--quiet', '-D', str(self.directory), '--boot',
                 '--register=no', '--keep-unit', '-M', self.name, '--network-bridge=' + self.bridge,
                 '--console=pipe'],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError('machine %s stopped while booting:\n%s' % (self.name, self.log.read_text()[-3000:]))
            if self.ssh('systemctl is-system-running --wait', timeout=60, check=False).returncode in (0, 1):
                return
            time.sleep(1)
        raise AssertionError('machine %s: no SSH within %s s:\n%s' % (self.name, timeout, self.log.read_text()[-3000:]))

    def ssh(self, command, timeout=120, check=True):
        result = subprocess.run(
            ['ssh', '-i', str(self.key), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
             '-o', 'ConnectTimeout=3', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', 'root@' + self.ip, command],
            capture_output=True, text=True, timeout=timeout, check=False)
        if check:
            assert result.returncode == 0, (command, result.stdout[-2000:], result.stderr[-2000:])
        return result

    def stop(self, timeout=60):
        """Shut the machine down as a host is shut down (systemd stops every unit), then wait."""
        if not self.process or self.process.poll() is not None:
            return
        # systemd-nspawn turns SIGTERM into an orderly shutdown of the machine's systemd
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(30)

    def power_off(self):
        """Pull the plug: SIGKILL to the machine's systemd (PID 1 of its PID namespace), so the kernel kills
        every process in it at once and nothing shuts down in order. (SIGKILL to systemd-nspawn itself would
        leave the machine running, orphaned.)"""
        if not self.process or self.process.poll() is not None:
            return
        children = subprocess.run(['ps', '--ppid', str(self.process.pid), '-o', 'pid='], capture_output=True,
                                  text=True, check=False).stdout.split()
        for pid in children:
            os.kill(int(pid), signal.SIGKILL)
        self.process.wait(60)

    def inventory_vars(self) -> dict:
        return {'ansible_host': self.ip, 'ansible_user': 'root', 'ansible_ssh_private_key_file': str(self.key),
                'ansible_ssh_common_args': '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null',
                'ansible_python_interpreter': '/usr/bin/python3'}


def make_machine(name: str, base: Path, netns: str, bridge: str, address: str, gateway: str = '',
                 copy_in: tuple = ()) -> Machine:
    """A machine of its own copy of the root file system, with its address, host name and SSH key.

    copy_in: host paths copied to the same path inside (a prepared virtual environment, say).
    """
    root = root_filesystem()
    directory = base / name
    subprocess.run(['cp', '-a', '--reflink=auto', str(root), str(directory)], check=True)
    key = base / (name + '.key')
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', str(key)], check=True)
    ssh_dir = directory / 'root/.ssh'
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    (ssh_dir / 'authorized_keys').write_text(Path(str(key) + '.pub').read_text())
    (ssh_dir / 'authorized_keys').chmod(0o600)
    (directory / 'etc/hostname').write_text(name + '\n')
    network = '[Match]\nName=host0\n\n[Network]\nAddress=%s\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n' % address
    if gateway:
        network += 'Gateway=%s\n' % gateway
    (directory / 'etc/systemd/network/10-host0.network').write_text(network)
    for path in copy_in:
        target = directory / str(path).lstrip('/')
        target.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(['cp', '-a', '--reflink=auto', str(path), str(target)], check=True)
    return Machine(name=name, directory=directory, netns=netns, bridge=bridge, address=address, key=key)


def tcp_open(address: str, port: int, timeout=2.0) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


@contextmanager
def site_hosts(base: Path, netns: str, host_if: str, subnet: str, hosts: dict, copy_in: tuple = ()):
    """Hosts of a multi-host site on a bridge of their own, booted, with their inventory: yields (machines,
    inventory path). hosts: {name: (address suffix, inventory groups, host variables)}; the controller is
    subnet + '.1'. Copies copy_in into every host but those of group ironic_database.
    RACKOPS_TEST_KEEP_SITE=1 keeps them running afterwards, to look around after a failure (tear down by hand).
    """
    machines = {}
    subprocess.run(['sh', str(NET), 'up', netns, host_if, subnet + '.1/24', ''], check=True, capture_output=True)
    try:
        children: dict = {}
        for name, (suffix, groups, _vars) in hosts.items():
            machines[name] = make_machine(name, base, netns, 'br0', subnet + suffix + '/24',
                                          copy_in=() if 'ironic_database' in groups else copy_in)
        for machine in machines.values():
            machine.boot()
        for name, (_suffix, groups, host_vars) in hosts.items():
            for group in groups:
                children.setdefault(group, {'hosts': {}})['hosts'][name] = dict(machines[name].inventory_vars(),
                                                                                **host_vars)
        inventory = base / 'site.yml'
        inventory.write_text(yaml.safe_dump({'all': {'children': children}}))
        yield machines, inventory
    finally:
        if os.environ.get('RACKOPS_TEST_KEEP_SITE'):
            print('kept: %s %s' % (base, {name: m.process.pid for name, m in machines.items() if m.process}))
        else:
            for machine in machines.values():  # all at once: each takes its conductors' graceful shutdown
                if machine.process and machine.process.poll() is None:
                    machine.process.send_signal(signal.SIGTERM)
            for machine in machines.values():
                machine.stop()
            subprocess.run(['sh', str(NET), 'down', netns, host_if], check=False, capture_output=True)
