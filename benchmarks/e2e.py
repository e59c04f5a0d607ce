"""Time the real path per phase: PXE -> agent -> image on disk -> the OS, for 1 and for N machines.

Builds the virtual lab (playbooks/lab.yml; images come from the role's cache
after the first build), runs the operator's provision.yml with inspection,
and samples while it runs - one node list call per second and each machine's
serial log - to time, per machine:

  power-on -> agent    the first power-on (inspection starts) to the agent's first heartbeat
  inspect + clean      the agent's first heartbeat to `available` (fast track: same agent boot)
  image write          `deploying` to the reboot into the image (`active`)
  reboot -> OS         `active` to the login prompt on the serial console
  total                provision.yml's start to the last machine's login prompt

Machine i is SeaBIOS behind IPMI when i is even, UEFI behind Redfish when odd
(as in the e2e test and the demo). Then removes the lab, keeping the serial
logs in /var/tmp/rackops-bench-logs. Usage:
  .venv/bin/python benchmarks/e2e.py -n 1 -n 2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import threading
import time
from pathlib import Path

from _common import ANSIBLE_PLAYBOOK, REPO, ansible_env, changed_total

SUBNET = '10.94.0'
KEPT_LOGS = '/var/tmp/rackops-bench-logs'
LAB = {
    'virtual_rack_name': 'rvr-bench', 'virtual_rack_host_interface': 'rvhbench',
    'virtual_rack_address': SUBNET + '.1', 'virtual_rack_ipv6_address': 'fd94::1',
    'virtual_rack_mac_prefix': '52:54:00:94:00', 'virtual_rack_bmc_first_address': '127.0.94.10',
    'virtual_rack_dir': '/var/tmp/rackops-bench/rack', 'virtual_rack_inventory_file': '/var/tmp/rackops-bench/rack.yml',
    'ironic_install_dir': '/var/tmp/rackops-bench/opt', 'ironic_config_dir': '/var/tmp/rackops-bench/etc',
    'ironic_state_dir': '/var/tmp/rackops-bench/state', 'ironic_log_dir': '/var/tmp/rackops-bench/log',
    'ironic_http_root': '/var/tmp/rackops-bench/httpboot', 'ironic_tftp_root': '/var/tmp/rackops-bench/tftpboot',
    'ironic_image_cache_dir': '/var/tmp/rackops-bench/image-cache',
    'ironic_api_port': 6395, 'ironic_cli_link_dir': '', 'ironic_cloud_name': 'rackops-bench',
    'ironic_clouds_yaml_path': '/var/tmp/rackops-bench/clouds.yaml',
    'images_build_trust_host_ca': True,
    # the integration tests' image cache: built once, shared
    'images_install_dir': '/var/tmp/rackops-test/images/builder', 'images_work_dir': '/var/tmp/rackops-test/images/work',
    'pxe_http_port': 8095, 'pxe_install_dir': '/var/tmp/rackops-bench/pxe', 'pxe_config_dir': '/var/tmp/rackops-bench/pxe-etc',
    'pxe_state_dir': '/var/tmp/rackops-bench/pxe-state', 'pxe_log_dir': '/var/tmp/rackops-bench/pxe-log',
    'rackops_cloud': 'rackops-bench', 'rackops_report_dir': '/var/tmp/rackops-bench/reports',
}


def playbook(name, extra, *args):
    env = ansible_env({'OS_CLIENT_CONFIG_FILE': LAB['ironic_clouds_yaml_path']})
    proc = subprocess.run([ANSIBLE_PLAYBOOK, str(REPO / 'playbooks' / name), '-e', json.dumps(extra), *args],
                          cwd=REPO, env=env, capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit('%s failed:\n%s' % (name, (proc.stdout + proc.stderr)[-4000:]))
    return proc.stdout


class Sampler(threading.Thread):
    """Once a second: the nodes' provision states (one list call) and new serial-log markers."""

    MARKERS = {'agent': 'sleeping before next heartbeat', 'login': ' login:'}

    def __init__(self, machines):
        super().__init__(daemon=True)
        import openstack
        os.environ['OS_CLIENT_CONFIG_FILE'] = LAB['ironic_clouds_yaml_path']
        self.baremetal = openstack.connect(cloud=LAB['rackops_cloud']).baremetal
        self.machines = machines
        self.first = {name: {} for name in machines}   # name -> {event: wall time}
        self.stop = threading.Event()

    def note(self, name, event, now):
        self.first[name].setdefault(event, now)

    def run(self):
        while not self.stop.is_set():
            now = time.monotonic()
            for node in self.baremetal.nodes(fields=['name', 'provision_state']):
                if node.name in self.first:
                    self.note(node.name, node.provision_state, now)
            for name, serial in self.machines.items():
                text = Path(serial).read_text(errors='replace') if Path(serial).exists() else ''
                # the deployed OS's login prompt, not the deploy ramdisk's: after the last
                # kernel start, whose command line names the image's root by label
                last_boot = text[text.rfind('Command line:'):]
                if 'agent' not in self.first[name] and self.MARKERS['agent'] in text:
                    self.note(name, 'agent', now)
                if 'root=LABEL=root' in last_boot and self.MARKERS['login'] in last_boot:
                    self.note(name, 'login', now)
            self.stop.wait(1)


def run(count):
    # as the e2e test and the demo: even machines SeaBIOS behind IPMI, odd ones UEFI behind Redfish
    machines = [{'name': 'bench-%d' % i, 'firmware': ('bios', 'uefi')[i % 2], 'bmc': ('ipmi', 'redfish')[i % 2],
                 'memory_mb': 2048, 'disk_gb': 4} for i in range(count)]
    lab = dict(LAB, virtual_rack_machines=machines)
    subprocess.run(['mkdir', '-p', '/var/tmp/rackops-bench'], check=True)
    try:
        playbook('lab.yml', lab)
        serials = {m['name']: '%s/machines/%s/serial.log' % (LAB['virtual_rack_dir'], m['name']) for m in machines}
        sampler = Sampler(serials)
        sampler.start()
        start = time.monotonic()
        output = playbook('provision.yml', dict(lab, rackops_inspect=True), '-i', LAB['virtual_rack_inventory_file'])
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and not all('login' in f for f in sampler.first.values()):
            time.sleep(1)
        sampler.stop.set()
        sampler.join()
        rerun = playbook('provision.yml', dict(lab, rackops_inspect=True), '-i', LAB['virtual_rack_inventory_file'])
        # the lab goes, the serial logs stay: where a slow phase is explained
        subprocess.run(['mkdir', '-p', KEPT_LOGS], check=True)
        for name, serial in serials.items():
            shutil.copy(serial, '%s/%d-machines-%s.serial.log' % (KEPT_LOGS, count, name))
        rows = []
        for name, ev in sampler.first.items():
            def span(a, b):
                return ev[b] - ev[a] if a in ev and b in ev else float('nan')
            kind = next('%s/%s' % (m['firmware'], m['bmc']) for m in machines if m['name'] == name)
            rows.append({'name': name, 'kind': kind,
                         'power-on -> agent': span('inspect wait', 'agent'),
                         'inspect + clean': span('agent', 'available'), 'image write': span('deploying', 'active'),
                         'reboot -> OS': span('active', 'login'),
                         'total': (ev['login'] - start) if 'login' in ev else float('nan')})
        return rows, changed_total(output), changed_total(rerun)
    finally:
        teardown = subprocess.run([ANSIBLE_PLAYBOOK, str(REPO / 'playbooks/lab.yml'), '-e',
                                   json.dumps(dict(lab, rackops_lab_state='absent'))],
                                  cwd=REPO, env=ansible_env(), capture_output=True, text=True, check=False)
        if teardown.returncode:
            # its files are the only way to its processes: keep them, say so
            raise SystemExit('removing the lab failed; /var/tmp/rackops-bench is kept:\n'
                             + (teardown.stdout + teardown.stderr)[-3000:])
        subprocess.run(['rm', '-rf', '/var/tmp/rackops-bench'], check=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('-n', type=int, action='append', help='machines per run (repeatable; default 1 and 2)')
    counts = parser.parse_args().n or [1, 2]
    columns = ['power-on -> agent', 'inspect + clean', 'image write', 'reboot -> OS', 'total']
    totals = {}
    print('| machines | node | ' + ' | '.join(columns) + ' |')
    print('|---|---|' + '---|' * len(columns))
    for count in counts:
        rows, changed, rerun_changed = run(count)
        for row in rows:
            print('| %d | %s (%s) | ' % (count, row['name'], row['kind']) + ' | '.join('%.0f s' % row[c] for c in columns) + ' |')
        totals[count] = max(row['total'] for row in rows)
        print('| %d | (run: changed=%d, re-run changed=%d) |' % (count, changed, rerun_changed), flush=True)
    if 1 in totals and len(totals) > 1:
        for count, total in sorted(totals.items()):
            if count > 1:
                print('parallel ratio, %d machines vs 1: %.2f (1.00 = no slower than one)' % (count, total / totals[1]))
    print('median total: %.0f s' % statistics.median(totals.values()))


if __name__ == '__main__':
    main()
