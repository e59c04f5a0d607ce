"""Benchmark: thousands of fake-hardware nodes through a multi-host engine, as site.yml installs it.

The site: four systemd hosts (the integration tests' nspawn machines, tests/integration/machines.py) on a bridge of
their own - PostgreSQL on site-db, ironic-api alone on site-api, a conductor on site-c1 and one on site-c2 (one
conductor group). site.yml installs it over SSH; the fleet playbooks drive it through the API from this host.

  1. enroll.yml takes --small nodes (200) to `available`: the per-node cost the big run is compared with;
     they are removed again;
  2. enroll.yml takes -n nodes (5,000) to `available` (zero failed), then its re-run (changed=0);
  3. provision.yml + undeploy.yml take --lifecycle nodes (1,000) of them through the lifecycle, with both
     conductor hosts, then with one (site-c2's engine stopped, its nodes taken over by site-c1).

For each run it prints the wall time; the per-node cost; the controller's ansible-playbook peak RSS; the play's
own time outside the fleet modules (each task's time, from benchmarks/callback_plugins) with its costliest
tasks; and the CPU seconds each host's processes used in it (read from /proc here: the machines' processes are
this kernel's), which says what limited it. Targets: per-node cost at -n <= 1.2 x at --small; the play's own
work <= 60 s; ansible-playbook <= 2 GiB RSS.

usage (root; after `make test` or an integration run built the Ironic venv and the machines' root file system):
  .venv/bin/python benchmarks/site_scale.py [-n 5000] [--small 200] [--lifecycle 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openstack
import yaml
from _common import ANSIBLE_PLAYBOOK, REPO, ansible_env, changed_total, failures
from fleet_enroll import mac
from fleet_lifecycle import IMAGE

sys.path.insert(0, str(REPO / 'tests/integration'))
from machines import site_hosts  # noqa: E402  pylint: disable=wrong-import-position

VENV = os.environ.get('RACKOPS_TEST_VENV', '/var/tmp/rackops-test/ironic-venv')
NETNS, HOST_IF, SUBNET = 'rvr-bench', 'rvhbench', '10.92.0'
HOSTS = {
    'site-db': ('.10', ['ironic_database'], {}),
    'site-api': ('.11', ['ironic_api'], {}),
    'site-c1': ('.12', ['ironic_conductor'], {}),
    'site-c2': ('.13', ['ironic_conductor'], {}),
}
# a stopped conductor is dead to the API within 30 s, and out of its ring 10 s later (Ironic: 60 s, 15 s)
SITE_CONFIG = {'conductor': {'heartbeat_interval': 5, 'heartbeat_timeout': 30},
               'DEFAULT': {'hash_ring_reset_interval': 10}}
PREFIX = 'scale-'
FLEET_MODULES = re.compile(r'^rackops\.baremetal\.(node|power|inspect|clean|deploy|node_info)$')
# what a host's processes are, by their command line
KINDS = (('ironic-api', 'ironic-api'), ('ironic-conductor', 'ironic-conductor'), ('postgres', 'postgres'))
CLK_TCK = os.sysconf('SC_CLK_TCK')


def name(i):
    return '%s%04d' % (PREFIX, i)


def write_inventory(path, n):
    hosts = {name(i): {'baremetal': {'nics': [{'mac': mac(i)}]}} for i in range(n)}
    defaults = {'bmc': {'driver': 'fake-hardware'}, 'interfaces': {'deploy': 'fake', 'boot': 'fake'}, 'image': IMAGE}
    path.write_text(yaml.safe_dump({'all': {'children': {'baremetal': {
        'hosts': hosts, 'vars': {'baremetal_defaults': defaults, 'ansible_connection': 'local'}}}}}))


class Site:
    """The booted hosts: where each one's processes are, and the CPU they used."""

    def __init__(self, machines):
        self.machines = machines

    def namespaces(self):
        """{pid namespace: host name}: each machine's systemd (the nspawn process's child) heads its own."""
        found = {}
        for host, machine in self.machines.items():
            if machine.process and machine.process.poll() is None:
                for pid in subprocess.run(['ps', '--ppid', str(machine.process.pid), '-o', 'pid='], capture_output=True,
                                          text=True, check=False).stdout.split():
                    found[os.readlink('/proc/%s/ns/pid' % pid)] = host
        return found

    def cpu(self):
        """{(host, kind): CPU seconds} of the processes running now, with those of their children that ended
        (a database connection's backend process ends with it: its parent, the postmaster, counts its time)."""
        namespaces = self.namespaces()
        seconds: dict = {}
        for entry in os.scandir('/proc'):
            if not entry.name.isdigit():
                continue
            try:
                host = namespaces.get(os.readlink('/proc/%s/ns/pid' % entry.name))
                if host is None:
                    continue
                with open('/proc/%s/cmdline' % entry.name, 'rb') as handle:
                    command = handle.read().replace(b'\0', b' ').decode(errors='replace')
                with open('/proc/%s/stat' % entry.name, encoding='utf-8') as handle:
                    fields = handle.read().rsplit(')', 1)[1].split()
            except OSError:  # ended meanwhile
                continue
            kind = next((label for needle, label in KINDS if needle in command), 'other')
            # utime, stime, cutime, cstime (proc(5) fields 14-17)
            seconds[(host, kind)] = seconds.get((host, kind), 0) + sum(map(int, fields[11:15])) / CLK_TCK
        return seconds


def run(label, playbook, inventory, cloud_env, work, site, extra=None, limit=None, nodes=1):
    """One fleet playbook run, measured. Returns its numbers."""
    times = work / 'task-times.json'
    rusage = work / 'rusage'
    variables = {'rackops_cloud': 'rackops', 'rackops_report_dir': str(work / 'reports'),
                 'rackops_progress_interval': 10, 'rackops_timeout': 7200, **(extra or {})}
    command = ['/usr/bin/time', '-o', str(rusage), '-f', '%M %U %S', ANSIBLE_PLAYBOOK,
               str(REPO / 'playbooks' / playbook), '-i', str(inventory), '-e', json.dumps(variables)]
    if limit:
        command += ['--limit', limit]
    env = ansible_env(dict(cloud_env, RACKOPS_BENCH_TASK_TIMES=str(times),
                           ANSIBLE_CALLBACK_PLUGINS=str(REPO / 'benchmarks/callback_plugins'),
                           ANSIBLE_CALLBACKS_ENABLED='rackops_task_times'))
    before = site.cpu()
    start = time.perf_counter()
    proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = site.cpu()
    if proc.returncode:
        raise SystemExit('%s failed:\n%s\n%s' % (label, failures(proc.stdout), proc.stderr[-2000:]))
    rss_kib, user, system = rusage.read_text().split()[-3:]
    tasks = json.loads(times.read_text())
    in_modules, others = module_time(tasks)
    used = {key: after.get(key, 0) - before.get(key, 0) for key in after}
    result = {'label': label, 'wall': wall, 'nodes': nodes, 'per_node': wall / nodes,
              'changed': changed_total(proc.stdout), 'rss_mib': int(rss_kib) / 1024,
              'controller_cpu': float(user) + float(system), 'outside_modules': wall - in_modules,
              'before_first_task': wall - sum(task['seconds'] for task in tasks),
              'costliest_outside': [(task['name'], task['seconds']) for task in others[:4]], 'cpu': used}
    report(result)
    return result


def module_time(tasks):
    """The seconds the fleet modules ran, and the other tasks (costliest first). A module run as an async job
    (deploy, with progress lines) runs until the play collects its result (async_status): the progress tasks in
    between wait for it."""
    in_modules, others, job = 0.0, [], False
    for task in tasks:
        if FLEET_MODULES.match(task['action']):
            in_modules += task['seconds']
            job = task['async']
        elif job:
            in_modules += task['seconds']
            job = task['action'] not in ('ansible.builtin.async_status', 'async_status')
        else:
            others.append(task)
    return in_modules, sorted(others, key=lambda task: -task['seconds'])


def report(result):
    print('\n%-52s %8.1f s  %7.1f ms/node  changed=%d' % (
        result['label'], result['wall'], 1000 * result['per_node'], result['changed']), flush=True)
    costliest = ', '.join('%s %.1f s' % item for item in result['costliest_outside'])
    print('    ansible-playbook: peak RSS %.0f MiB, CPU %.1f s; outside the fleet modules %.1f s (before the first task '
          '%.1f s; costliest tasks: %s)' % (result['rss_mib'], result['controller_cpu'], result['outside_modules'],
                                            result['before_first_task'], costliest))
    hosts = sorted({host for host, _kind in result['cpu']})
    print('    CPU s on the hosts: ' + '; '.join(
        host + ' ' + ', '.join('%s %.1f' % (kind, seconds) for (where, kind), seconds in sorted(result['cpu'].items())
                               if where == host and seconds >= 0.5)
        for host in hosts), flush=True)


def delete_nodes(conn, names):
    def delete(node_name):
        conn.baremetal.delete_node(node_name, ignore_missing=True)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(delete, names))


def states(conn):
    counts: dict = {}
    for node in conn.baremetal.nodes(fields=['name', 'provision_state']):
        if node.name and node.name.startswith(PREFIX):
            counts[node.provision_state] = counts.get(node.provision_state, 0) + 1
    return counts


def expect(conn, n, state, label):
    found = states(conn)
    if found != {state: n}:
        raise SystemExit('%s: expected %d %s nodes, got %s' % (label, n, state, found))


def conductors(conn):
    return {c.hostname: c.alive for c in conn.baremetal.conductors(details=True)}


def main():
    parser = argparse.ArgumentParser(description='5,000 nodes through a multi-host engine on nspawn hosts')
    parser.add_argument('-n', type=int, default=5000, help='nodes of the big enrollment')
    parser.add_argument('--small', type=int, default=200, help='nodes of the per-node baseline')
    parser.add_argument('--lifecycle', type=int, default=1000, help='nodes taken through provision and undeploy')
    args = parser.parse_args()
    if args.lifecycle > args.n:
        raise SystemExit('--lifecycle must not exceed -n')
    # the database driver the ironic role asks for, in the venv the hosts get a copy of (they have no PyPI)
    drivers = yaml.safe_load((REPO / 'roles/ironic/vars/main.yml').read_text())['_ironic_database_drivers']
    subprocess.run([VENV + '/bin/pip', 'install', '-q', *drivers['postgresql']], check=True)
    base = Path(tempfile.mkdtemp(prefix='rackops-bench-site-'))
    base.chmod(0o755)
    work = base / 'work'
    work.mkdir()
    results = []
    try:
        with site_hosts(base, NETNS, HOST_IF, SUBNET, HOSTS, copy_in=(VENV,)) as (machines, site_inventory):
            site = Site(machines)
            clouds = base / 'clouds.yaml'
            start = time.perf_counter()
            proc = subprocess.run([ANSIBLE_PLAYBOOK, str(REPO / 'playbooks/site.yml'), '-i', str(site_inventory), '-e',
                                   json.dumps({'ironic_venv_dir': VENV, 'ironic_config_overrides': SITE_CONFIG,
                                               'rackops_controller_clouds_yaml': str(clouds)})],
                                  env=ansible_env(), capture_output=True, text=True, check=False)
            if proc.returncode:
                raise SystemExit('site.yml failed:\n' + failures(proc.stdout))
            print('site installed in %.0f s: %s' % (time.perf_counter() - start, ', '.join(
                '%s %s' % (host, '+'.join(groups)) for host, (_suffix, groups, _vars) in HOSTS.items())), flush=True)
            cloud_env = {'OS_CLIENT_CONFIG_FILE': str(clouds)}
            os.environ.update(cloud_env)
            conn = openstack.connect(cloud='rackops')
            available = {'rackops_provision_state': 'available'}

            small = work / 'small.yml'
            write_inventory(small, args.small)
            results.append(run('enroll.yml, %d nodes -> available' % args.small, 'enroll.yml', small, cloud_env, work,
                               site, available, nodes=args.small))
            expect(conn, args.small, 'available', 'small enrollment')
            delete_nodes(conn, [name(i) for i in range(args.small)])

            big = work / 'big.yml'
            write_inventory(big, args.n)
            enrolled = run('enroll.yml, %d nodes -> available' % args.n, 'enroll.yml', big, cloud_env, work, site,
                           available, nodes=args.n)
            results.append(enrolled)
            expect(conn, args.n, 'available', 'big enrollment')
            results.append(run('enroll.yml re-run, %d nodes' % args.n, 'enroll.yml', big, cloud_env, work, site,
                               available, nodes=args.n))

            limit = 'baremetal[0:%d]' % (args.lifecycle - 1)
            for hosts in (2, 1):
                if hosts == 1:
                    machines['site-c2'].ssh('systemctl stop rackops-ironic.target')
                    deadline = time.monotonic() + 120
                    while any(alive for host, alive in conductors(conn).items() if host.endswith('.13')):
                        if time.monotonic() > deadline:
                            raise SystemExit('site-c2 still alive to the API: %s' % conductors(conn))
                        time.sleep(5)
                    time.sleep(SITE_CONFIG['DEFAULT']['hash_ring_reset_interval'] + 2)
                print('\nconductors: %s' % conductors(conn))
                for playbook, target in (('provision.yml', 'active'), ('undeploy.yml', 'available')):
                    result = run('%s, %d nodes, %d conductor host(s)' % (playbook, args.lifecycle, hosts), playbook,
                                 big, cloud_env, work, site, limit=limit, nodes=args.lifecycle)
                    result['conductor_hosts'] = hosts
                    results.append(result)
                    found = states(conn)
                    if found.get(target) != (args.n if target == 'available' else args.lifecycle):
                        raise SystemExit('after %s: %s' % (playbook, found))

            print('\n== targets')
            ratio = enrolled['per_node'] / results[0]['per_node']
            print('per-node cost at %d / at %d: %.2f  (target <= 1.2)' % (args.n, args.small, ratio))
            print('play outside the fleet modules at %d: %.1f s  (target <= 60)' % (args.n, enrolled['outside_modules']))
            print('ansible-playbook peak RSS, largest run: %.0f MiB  (target <= 2048)' % max(r['rss_mib'] for r in results))
            print('re-run at %d: changed=%d, %.1f s' % (args.n, results[2]['changed'], results[2]['wall']))
            for hosts in (2, 1):
                lifecycle = [r for r in results if r.get('conductor_hosts') == hosts]
                verbs = sum(r['nodes'] for r in lifecycle) / sum(r['wall'] for r in lifecycle)
                print('%d conductor host(s): %.1f node verbs/s (deploy or undeploy to its target), %.1f per conductor'
                      % (hosts, verbs, verbs / hosts))
            (base.parent / 'rackops-bench-site.json').write_text(json.dumps(
                [dict(r, cpu={'%s/%s' % key: value for key, value in r['cpu'].items()}) for r in results], indent=1))
    finally:
        subprocess.run(['rm', '-rf', str(base)], check=False)


if __name__ == '__main__':
    sys.exit(main())
