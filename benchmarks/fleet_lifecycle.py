"""Benchmark: the full lifecycle of N fake-hardware nodes, three ways, one Ironic, one run.

enroll -> available -> active -> available, with:
  (a) a plain openstacksdk script, sequential calls and openstacksdk's fleet waits
  (b) our playbooks: provision.yml (then its idempotent re-run on the active fleet), undeploy.yml
  (c) openstack.cloud: baremetal_node (enroll -> available), baremetal_node_action (deploy, then
      undeploy), one task per inventory host, forks=20

usage (after `make demo`):
  .venv/bin/python benchmarks/fleet_lifecycle.py [-n 200] [--cloud rackops] [--skip-c]

Fake deploys do not fetch the image; its URL and checksum only have to be well formed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import openstack
import yaml
from _common import ANSIBLE_PLAYBOOK, REPO, ansible_env, baseline_venv, changed_total, failures, timed
from _engine import add_arguments, engine
from fleet_enroll import PREFIX, mac, ours, run_sdk_sequential

IMAGE = {'source': 'http://127.0.0.1:9/images/disk.img', 'checksum': 'sha256:' + '0' * 64}
INSTANCE_INFO = {'image_source': IMAGE['source'], 'image_os_hash_algo': 'sha256',
                 'image_os_hash_value': '0' * 64}


def cleanup(conn):
    for node in ours(conn):
        if node.provision_state not in ('available', 'manageable', 'enroll'):
            conn.baremetal.set_node_maintenance(node.id)
        conn.baremetal.delete_node(node.id)


def expect(conn, n, state, label):
    states = {}
    for node in ours(conn):
        states[node.provision_state] = states.get(node.provision_state, 0) + 1
    if states != {state: n}:
        raise SystemExit('%s: expected %d %s nodes, got %s' % (label, n, state, states))


def run_sdk(conn, n):
    run_sdk_sequential(conn, n)
    bm = conn.baremetal
    nodes = ours(conn)
    for node in nodes:
        bm.patch_node(node.id, [{'op': 'add', 'path': '/instance_info', 'value': INSTANCE_INFO}])
        bm.set_node_provision_state(node.id, 'active')
    bm.wait_for_nodes_provision_state([node.id for node in nodes], 'active', timeout=1800)
    for node in nodes:
        bm.set_node_provision_state(node.id, 'deleted')
    bm.wait_for_nodes_provision_state([node.id for node in nodes], 'available', timeout=1800)


def write_inventory(path, n):
    hosts = {'%s%03d' % (PREFIX, i): {'baremetal': {'nics': [{'mac': mac(i)}]}} for i in range(n)}
    defaults = {'bmc': {'driver': 'fake-hardware'}, 'interfaces': {'deploy': 'fake', 'boot': 'fake'},
                'image': IMAGE}
    path.write_text(yaml.safe_dump({'all': {'children': {'baremetal': {
        'hosts': hosts, 'vars': {'baremetal_defaults': defaults}}}}}))


def playbook(name, inventory, cloud, work):
    cmd = [ANSIBLE_PLAYBOOK, str(REPO / 'playbooks' / name), '-i', str(inventory),
           '-e', json.dumps({'rackops_cloud': cloud, 'rackops_report_dir': str(work / 'reports'),
                             'rackops_progress_interval': 5})]
    proc = subprocess.run(cmd, env=ansible_env(), capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit('%s failed:\n%s%s' % (name, proc.stdout[-4000:], proc.stderr[-2000:]))
    return changed_total(proc.stdout)


def run_openstack_cloud(work, cloud, tasks):
    python = baseline_venv()
    path = work / 'oc.yml'
    path.write_text(yaml.safe_dump([{'hosts': 'baremetal', 'gather_facts': False, 'connection': 'local',
                                     'vars': {'ansible_python_interpreter': str(python)}, 'tasks': tasks}]))
    proc = subprocess.run([str(python.parent / 'ansible-playbook'), str(path), '-i', str(work / 'inventory.yml'),
                           '-f', '20'], env=dict(os.environ, ANSIBLE_NOCOLOR='1'),
                          capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit('openstack.cloud run failed:\n' + failures(proc.stdout))


def oc_enroll(cloud):
    return [{'openstack.cloud.baremetal_node': {
        'cloud': cloud, 'name': '{{ inventory_hostname }}', 'driver': 'fake-hardware', 'driver_info': {},
        'deploy_interface': 'fake', 'boot_interface': 'fake', 'nics': [{'mac': '{{ baremetal.nics[0].mac }}'}]}}]


def oc_action(cloud, state):
    args = {'cloud': cloud, 'name': '{{ inventory_hostname }}', 'state': state}
    if state == 'present':
        args['instance_info'] = INSTANCE_INFO
    return [{'openstack.cloud.baremetal_node_action': args}]


def main():
    parser = argparse.ArgumentParser(description='full lifecycle of N nodes: sdk vs ours vs openstack.cloud')
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
            a = timed('(a) openstacksdk, sequential, whole lifecycle', lambda: run_sdk(conn, args.n))[0]
            expect(conn, args.n, 'available', '(a)')
            cleanup(conn)
            b1 = timed('(b) provision.yml (enroll -> active)',
                       lambda: playbook('provision.yml', inventory, cloud, work))[0]
            expect(conn, args.n, 'active', '(b)')
            b2, changed = timed('(b) provision.yml idempotent re-run',
                                lambda: playbook('provision.yml', inventory, cloud, work))
            b3 = timed('(b) undeploy.yml (active -> available)',
                       lambda: playbook('undeploy.yml', inventory, cloud, work))[0]
            expect(conn, args.n, 'available', '(b)')
            b = b1 + b3
            cleanup(conn)
            print('\n(b) = %.1f s; (b)/(a) = %.2f  (target <= 1.25)' % (b, b / a))
            print('(b) re-run on %d active nodes: %.1f s, changed=%d  (target <= 10 s, changed=0)' % (args.n, b2, changed))
            if not args.skip_c:
                c1 = timed('(c) openstack.cloud.baremetal_node, forks=20',
                           lambda: run_openstack_cloud(work, cloud, oc_enroll(cloud)))[0]
                for node in ours(conn):  # its quirk: it refuses nodes whose power state is unknown (None)
                    conn.baremetal.set_node_power_state(node.id, 'power off')
                c2 = timed('(c) openstack.cloud.baremetal_node_action deploy',
                           lambda: run_openstack_cloud(work, cloud, oc_action(cloud, 'present')))[0]
                expect(conn, args.n, 'active', '(c)')
                c3 = timed('(c) openstack.cloud.baremetal_node_action undeploy',
                           lambda: run_openstack_cloud(work, cloud, oc_action(cloud, 'absent')))[0]
                expect(conn, args.n, 'available', '(c)')
                c = c1 + c2 + c3
                print('(c) = %.1f s; (c)/(b) = %.2f  (target >= 5)' % (c, c / b))
        finally:
            cleanup(conn)
            shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
