"""Benchmark: the power state of N emulated IPMI BMCs, two ways, same emulators, one run.

  (a) rackops.baremetal.bmc: one task for every BMC (check mode power on: a read)
  (b) community.general.ipmi_power, one task per inventory host, forks=20 (check mode state on: a read)

usage:
  .venv/bin/python benchmarks/bmc_power.py [-n 200] [--runs 3]

The BMCs are roles/virtual_rack/files/bmc_emulator.py, N of them in one process, each on its own
loopback address (127.0.1.x) on one port, as a rack's BMCs all listen on 623.
(b) runs from the `ansible` package in .build/bench-baseline-venv (see _common).
Prints wall times of each ansible-playbook run (start-up included) and the ratio
the targets are stated in (benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from _common import ANSIBLE_PLAYBOOK, REPO, ansible_env, baseline_venv, timed

PORT = 6623


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def bmc_specs(n):
    return [{'name': 'bmc%03d' % i, 'address': '127.0.%d.%d' % (1 + i // 250, 1 + i % 250), 'port': PORT,
             'username': 'admin', 'password': 'pw-%03d' % i} for i in range(n)]


def start_emulator(work, specs):
    config = work / 'bmcs.json'
    config.write_text(json.dumps(specs))
    control = '127.0.0.1:%d' % free_port()
    log = (work / 'emulator.log').open('w')
    proc = subprocess.Popen([sys.executable, str(REPO / 'roles/virtual_rack/files/bmc_emulator.py'), '--config', str(config),
                             '--control', control], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(tuple([control.split(':')[0], int(control.split(':')[1])]), timeout=1):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit('the BMC emulator did not start; see %s' % (work / 'emulator.log'))


def run(cmd, env, label):
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit('%s failed:\n%s%s' % (label, proc.stdout[-4000:], proc.stderr[-2000:]))
    return proc.stdout


def run_ours(work, specs):
    playbook = work / 'ours.yml'
    playbook.write_text(yaml.safe_dump([{'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        {'name': 'Power state of every BMC', 'rackops.baremetal.bmc': {
            'bmcs': specs, 'operation': 'power', 'power': 'on', 'timeout': 20}, 'check_mode': True,
         'register': 'out'},
        {'name': 'Every BMC answered', 'ansible.builtin.assert': {
            'that': ['out.bmcs | rejectattr("failed") | list | length == %d' % len(specs)]}},
    ]}]))
    run([ANSIBLE_PLAYBOOK, str(playbook)],
        ansible_env(), 'our bmc task')


def run_community(work, specs, python):
    inventory = work / 'inventory.yml'
    inventory.write_text(yaml.safe_dump({'all': {'hosts': {s['name']: {
        'bmc_address': s['address'], 'bmc_password': s['password']} for s in specs}}}))
    playbook = work / 'community.yml'
    playbook.write_text(yaml.safe_dump([{
        'hosts': 'all', 'gather_facts': False, 'connection': 'local',
        'vars': {'ansible_python_interpreter': str(python)},
        'tasks': [{'name': 'Power state', 'community.general.ipmi_power': {
            'name': '{{ bmc_address }}', 'port': PORT, 'user': 'admin', 'password': '{{ bmc_password }}',
            'state': 'on'}, 'check_mode': True}],
    }]))
    run([str(python.parent / 'ansible-playbook'), str(playbook), '-i', str(inventory), '-f', '20'],
        dict(ansible_env(), ANSIBLE_HOST_KEY_CHECKING='0'), 'community.general.ipmi_power')


def main():
    parser = argparse.ArgumentParser(description='power state of N BMCs: one bmc task vs ipmi_power per host')
    parser.add_argument('-n', type=int, default=200)
    parser.add_argument('--runs', type=int, default=3)
    args = parser.parse_args()
    python = baseline_venv()
    work = Path(tempfile.mkdtemp(prefix='rackops-bench-bmc-'))
    specs = bmc_specs(args.n)
    emulator = start_emulator(work, specs)
    print('N=%d emulated IPMI BMCs on 127.0.x.y:%d' % (args.n, PORT))
    try:
        for attempt in range(args.runs):
            ours = timed('(a) rackops.baremetal.bmc, one task', lambda: run_ours(work, specs))[0]
            theirs = timed('(b) community.general.ipmi_power, forks=20',
                           lambda: run_community(work, specs, python))[0]
            print('run %d: (a) %.1f s (target <= 3 s), (b)/(a) = %.1f (target >= 10)'
                  % (attempt + 1, ours, theirs / ours), flush=True)
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
