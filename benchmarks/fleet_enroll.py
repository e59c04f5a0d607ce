"""Benchmark: enroll N fake-hardware nodes to `available`, three ways, one Ironic, one run.

  (a) a plain openstacksdk script, sequential calls (create + port each, manage each, wait, provide each, wait)
  (b) our playbooks/enroll.yml with rackops_provision_state=available (and its idempotent re-run)
  (c) openstack.cloud.baremetal_node, one task per inventory host, forks=20

usage (after `make demo`, which installs the engine and its `rackops` clouds.yaml entry):
  .venv/bin/python benchmarks/fleet_enroll.py [-n 200] [--cloud rackops] [--skip-c]

(c) needs the `ansible` package, whose openstack.cloud (2.6) works with current
openstacksdk only on ansible-core >= 2.20, i.e. Python >= 3.12: the script builds
.build/bench-baseline-venv with the newest python3.12/python3.13 it finds.
Prints wall times and the ratios the targets are stated in (benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import openstack
import yaml
from _common import ANSIBLE_PLAYBOOK, REPO, ansible_env, baseline_venv, changed_total, failures, timed
from _engine import add_arguments, engine

PREFIX = 'bench-'
INTERFACES = {'deploy_interface': 'fake', 'boot_interface': 'fake'}


def mac(i):
    return '52:54:00:b0:%02x:%02x' % (i // 256, i % 256)


def ours(conn):
    return [n for n in conn.baremetal.nodes(fields=['uuid', 'name', 'provision_state'])
            if n.name and n.name.startswith(PREFIX)]


def cleanup(conn):
    for node in ours(conn):
        conn.baremetal.delete_node(node.id)


def check_all_available(conn, n, label):
    states = {}
    for node in ours(conn):
        states[node.provision_state] = states.get(node.provision_state, 0) + 1
    if states != {'available': n}:
        raise SystemExit('%s: expected %d available nodes, got %s' % (label, n, states))


def run_sdk_sequential(conn, n):
    """What a plain script does: one call at a time, then openstacksdk's own fleet wait."""
    bm = conn.baremetal
    nodes = []
    for i in range(n):
        node = bm.create_node(name='%s%03d' % (PREFIX, i), driver='fake-hardware', provision_state='enroll',
                              **INTERFACES)
        bm.create_port(node_id=node.id, address=mac(i))
        nodes.append(node)
    for action, state in (('manage', 'manageable'), ('provide', 'available')):
        for node in nodes:
            bm.set_node_provision_state(node.id, action)
        bm.wait_for_nodes_provision_state([node.id for node in nodes], state, timeout=1800)


def write_inventory(path, n):
    hosts = {'%s%03d' % (PREFIX, i): {'baremetal': {'nics': [{'mac': mac(i)}]}} for i in range(n)}
    defaults = {'bmc': {'driver': 'fake-hardware'}, 'interfaces': {'deploy': 'fake', 'boot': 'fake'}}
    group = {'hosts': hosts, 'vars': {'baremetal_defaults': defaults}}
    path.write_text(yaml.safe_dump({'all': {'children': {'baremetal': group}}}))


def run_ours(inventory, cloud):
    # -v: the node task's result (with its per-step timings) is printed
    cmd = [ANSIBLE_PLAYBOOK, '-v', str(REPO / 'playbooks/enroll.yml'), '-i', str(inventory),
           '-e', json.dumps({'rackops_provision_state': 'available', 'rackops_cloud': cloud})]
    proc = subprocess.run(cmd, env=ansible_env({'ANSIBLE_CALLBACK_RESULT_FORMAT': 'json'}),
                          capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit('enroll.yml failed:\n' + proc.stdout[-4000:] + proc.stderr[-2000:])
    timings = re.search(r'"timings": (\{[^}]*\})', proc.stdout)
    if timings:
        print('    node module, seconds per step (they overlap): %s'
              % ', '.join('%s %.1f' % item for item in json.loads(timings.group(1)).items()))
    return changed_total(proc.stdout)


def run_openstack_cloud(inventory_dir, n, cloud):
    python = baseline_venv()
    playbook = inventory_dir / 'oc.yml'
    playbook.write_text(yaml.safe_dump([{
        'hosts': 'baremetal', 'gather_facts': False, 'connection': 'local',
        'vars': {'ansible_python_interpreter': str(python)},
        'tasks': [{'openstack.cloud.baremetal_node': {
            'cloud': cloud, 'name': '{{ inventory_hostname }}', 'driver': 'fake-hardware', 'driver_info': {},
            'deploy_interface': 'fake', 'boot_interface': 'fake',
            'nics': [{'mac': '{{ baremetal.nics[0].mac }}'}]}}],
    }]))
    cmd = [str(python.parent / 'ansible-playbook'), str(playbook), '-i', str(inventory_dir / 'inventory.yml'),
           '-f', '20']
    proc = subprocess.run(cmd, env=dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_HOST_KEY_CHECKING='0'),
                          capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit('openstack.cloud run failed:\n' + failures(proc.stdout))


def main():
    parser = argparse.ArgumentParser(description='enroll N nodes to available: sdk vs ours vs openstack.cloud')
    parser.add_argument('-n', type=int, default=200)
    parser.add_argument('--cloud', default='rackops', help='the clouds.yaml entry of --engine demo')
    add_arguments(parser)
    parser.add_argument('--skip-c', action='store_true', help='skip the openstack.cloud run (c)')
    args = parser.parse_args()
    with engine(args) as cloud:
        conn = openstack.connect(cloud=cloud)
        cleanup(conn)
        work = Path(tempfile.mkdtemp(prefix='rackops-bench-'))
        inventory = work / 'inventory.yml'
        write_inventory(inventory, args.n)
        print('N=%d fake-hardware nodes, Ironic at %s' % (args.n, conn.baremetal.get_endpoint()))
        try:
            a = timed('(a) openstacksdk, sequential', lambda: run_sdk_sequential(conn, args.n))[0]
            check_all_available(conn, args.n, '(a)')
            cleanup(conn)
            b = timed('(b) rackops.baremetal enroll.yml (available)', lambda: run_ours(inventory, cloud))[0]
            check_all_available(conn, args.n, '(b)')
            b2, changed = timed('(b) idempotent re-run', lambda: run_ours(inventory, cloud))
            cleanup(conn)
            print('\n(b)/(a) = %.2f  (target <= 1.25)' % (b / a))
            print('(b) re-run: %.1f s, changed=%d  (target <= 10 s, changed=0)' % (b2, changed))
            if not args.skip_c:
                c = timed('(c) openstack.cloud.baremetal_node, forks=20',
                          lambda: run_openstack_cloud(work, args.n, cloud))[0]
                check_all_available(conn, args.n, '(c)')
                cleanup(conn)
                print('(c)/(b) = %.2f  (target >= 5)' % (c / b))
        finally:
            cleanup(conn)
            shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
