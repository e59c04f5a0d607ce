"""A multi-host engine, as site.yml installs it on real systemd hosts reached over SSH: PostgreSQL on one
host; ironic-api and a conductor on another; a conductor host in the same (default) conductor group and one
in group `east`; json-rpc between hosts with the API credentials. The fleet playbooks drive it through the
API host and never notice. A conductor host whose plug is pulled hands its nodes to the other conductor of its
group, and takes them back when it comes up again by itself.

Four nspawn machines (machines.py) on a bridge of their own; the controller (this host) reaches them there.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time

import pytest
import yaml
from conftest import ROOT, VENV, install_database_driver, make_base, recap, recap_by_host, run_playbook, write_inventory
from machines import site_hosts

NETNS, HOST_IF = 'rvr-site', 'rvhsite'
SUBNET = '10.94.0'
CONTROLLER = SUBNET + '.1'
# name -> (address, inventory groups, host variables)
HOSTS = {
    'site-db': ('.10', ['ironic_database'], {}),
    'site-api': ('.11', ['ironic_api', 'ironic_conductor'], {}),
    'site-c1': ('.12', ['ironic_conductor'], {}),
    'site-c2': ('.13', ['ironic_conductor'], {'ironic_conductor_group': 'east'}),
}
PREFIX = 'site-node-'
# Ironic's defaults (a conductor is dead after 60 s without a heartbeat, the API's ring is rebuilt every
# 15 s) made short, so the failover happens within the test; and fake deployments that take a while, so a rolling
# restart finds some in flight
SITE_CONFIG = {'conductor': {'heartbeat_interval': 5, 'heartbeat_timeout': 30},
               'DEFAULT': {'hash_ring_reset_interval': 10}, 'fake': {'deploy_delay': '2'}}
ENGINE_HOSTS = ('site-api', 'site-c1', 'site-c2')
# each engine host's json-rpc certificate, key and the site's CA; the CA's own files on the first API host
TLS_DIR = '/etc/rackops/ironic/json-rpc-tls'
CA_DIR = '/etc/rackops/ironic/json-rpc-ca'


def address(name):
    return SUBNET + HOSTS[name][0]


@pytest.fixture(scope='module')
def site(engine):
    # (engine: the session's engine made the Ironic virtual environment each engine host gets a copy of)
    install_database_driver('postgresql')
    base = make_base('rackops-site-')
    try:
        with site_hosts(base, NETNS, HOST_IF, SUBNET, HOSTS, copy_in=(VENV,)) as (machines, inventory):
            site_vars = {'ironic_venv_dir': VENV, 'ironic_htpasswd_bcrypt_rounds': 4,
                         'ironic_config_overrides': SITE_CONFIG, 'rackops_controller_clouds_yaml': str(base / 'clouds.yaml')}
            # first a check run on the new hosts: what it left behind is looked at by its test
            checked = run_playbook(ROOT / 'playbooks/site.yml', site_vars, '-i', str(inventory), '--check',
                                   expect_ok=False)
            left = {name: machine.ssh("ls -d /etc/rackops /opt/rackops /var/log/rackops 2>/dev/null; systemctl "
                                      "list-units --no-legend --plain 'rackops*' 'postgresql@*'", check=False).stdout
                    for name, machine in machines.items()}
            left['controller'] = sorted(path.name for path in base.iterdir() if path.name == 'clouds.yaml')
            output = run_playbook(ROOT / 'playbooks/site.yml', site_vars, '-i', str(inventory))[1]
            yield {'base': base, 'machines': machines, 'inventory': inventory, 'vars': site_vars, 'output': output,
                   'checked': checked, 'left_by_check': left,
                   'env': {'OS_CLIENT_CONFIG_FILE': str(base / 'clouds.yaml')}}
    finally:
        if not os.environ.get('RACKOPS_TEST_KEEP_SITE'):
            subprocess.run(['rm', '-rf', str(base)], check=False)


def sdk(site):
    import openstack  # pylint: disable=import-outside-toplevel
    os.environ['OS_CLIENT_CONFIG_FILE'] = site['env']['OS_CLIENT_CONFIG_FILE']
    return openstack.connect(cloud='rackops')


def active_units(machine):
    listing = machine.ssh("systemctl list-units --state=active --no-legend --plain 'rackops-*' 'postgresql*'").stdout
    return sorted(line.split()[0] for line in listing.splitlines() if line.strip())


def test_each_host_runs_its_part_under_systemd(site):
    machines = site['machines']
    assert active_units(machines['site-api']) == [
        'rackops-ironic-api.service', 'rackops-ironic-conductor-1.service', 'rackops-ironic.target']
    for name in ('site-c1', 'site-c2'):
        assert active_units(machines[name]) == ['rackops-ironic-conductor-1.service', 'rackops-ironic.target'], name
    assert [unit for unit in active_units(machines['site-db']) if unit.startswith('postgresql@')] == [
        'postgresql@15-main.service']
    # the API knows both conductors, by the addresses the other hosts reach them at, with their groups
    conductors = {c.hostname: c for c in sdk(site).baremetal.conductors(details=True)}
    assert sorted(conductors) == [address('site-api'), address('site-c1'), address('site-c2')]
    assert conductors[address('site-c1')].conductor_group == conductors[address('site-api')].conductor_group == ''
    assert conductors[address('site-c2')].conductor_group == 'east'
    assert all(c.alive for c in conductors.values())
    # the controller's clouds.yaml points at the API host
    clouds = yaml.safe_load((site['base'] / 'clouds.yaml').read_text())
    assert clouds['clouds']['rackops']['auth']['endpoint'] == 'http://%s:6385' % address('site-api')


def test_a_check_run_on_new_hosts_shows_the_changes_and_writes_nothing(site):
    code, output = site['checked']
    assert code == 0, output[-6000:]
    totals = recap(output)
    assert totals['failed'] == 0 and totals['changed'] > 0, output[-4000:]
    # it shows each engine host's configuration, and (PostgreSQL's packages are on the hosts' image) the user and
    # database the cluster would get
    conf = output.split('TASK [rackops.baremetal.ironic : Write ironic.conf]', 1)[1].split('\n\n', 1)[0]
    assert sorted(re.findall(r'^changed: \[(\S+)\]', conf, re.M)) == sorted(ENGINE_HOSTS), conf
    assert 'a real run creates the user ironic and the database ironic' in output, output[-4000:]
    assert site['left_by_check'] == {name: '' for name in HOSTS} | {'controller': []}, site['left_by_check']


def registry_hardware_types(site, host):
    """The hardware types Ironic's database lists for the conductor of this host (what the API's ring reads)."""
    return site['machines']['site-db'].ssh(
        "runuser -u postgres -- psql -XAt -d ironic -c \"SELECT h.hardware_type FROM conductors c JOIN "
        "conductor_hardware_interfaces h ON h.conductor_id = c.id WHERE c.hostname = '%s' AND c.online "
        "GROUP BY h.hardware_type ORDER BY 1\"" % address(host)).stdout.split()


def test_a_second_site_run_changes_nothing_but_finishes_a_roll_interrupted_after_its_drain(site):
    output = run_playbook(ROOT / 'playbooks/site.yml', site['vars'], '-i', str(site['inventory']), '--check')[1]
    totals = recap(output)
    assert totals['changed'] == 0 and totals['failed'] == 0, output[-4000:]
    # a run stopped between a host's drain and its restart (Ctrl-C, a lost SSH connection): the conductor runs,
    # with the new configuration already, but Ironic's ring leaves it out
    machines = site['machines']
    types = registry_hardware_types(site, 'site-c1')
    assert 'fake-hardware' in types, types
    drained = machines['site-c1'].ssh('/opt/rackops/ironic/bin/rackops-ironicctl drain').stdout.split()
    assert drained == [address('site-c1')], drained
    assert registry_hardware_types(site, 'site-c1') == []
    assert machines['site-c1'].ssh('/opt/rackops/ironic/bin/rackops-ironicctl drained').stdout.split() == drained
    assert machines['site-c2'].ssh('/opt/rackops/ironic/bin/rackops-ironicctl drained').stdout.split() == []
    # the real second run (the same configuration) changes nothing but that: it restarts that host alone, and its
    # conductor is back in the ring
    output = run_playbook(ROOT / 'playbooks/site.yml', site['vars'], '-i', str(site['inventory']))[1]
    assert restarted_hosts(output) == ['site-c1'], output[-6000:]
    changed = {host: counts['changed'] for host, counts in recap_by_host(output).items() if counts['changed']}
    assert changed == {'site-c1': 2}, output[-6000:]  # the check that found it, and the restart
    assert registry_hardware_types(site, 'site-c1') == types


def test_the_database_listens_on_the_site_network_and_admits_only_the_engine_hosts(site):
    db = site['machines']['site-db']
    listening = db.ssh('ss -Hltn sport = :5432').stdout
    assert sorted(re.findall(r'(\S+):5432', listening)) == sorted(['127.0.0.1', address('site-db'), '[::1]']), listening
    assert db.ssh('stat -c %a:%U /etc/rackops/database/ironic.password').stdout.strip() == '600:root'
    password = db.ssh('cat /etc/rackops/database/ironic.password').stdout.strip()
    env = dict(os.environ, PGPASSWORD=password, PGCONNECT_TIMEOUT='10')
    # the controller is not an engine host: refused by pg_hba.conf, the right password or not
    refused = subprocess.run(['psql', '-XtA', '-h', address('site-db'), '-U', 'ironic', '-d', 'ironic', '-c', 'SELECT 1'],
                             env=env, capture_output=True, text=True, check=False)
    assert refused.returncode != 0 and 'no pg_hba.conf entry for host "%s"' % CONTROLLER in refused.stderr, refused.stderr
    # a conductor host is admitted (its engine uses this very login)
    conductor = site['machines']['site-c1']
    admitted = conductor.ssh("%s/bin/python -c 'import psycopg2; psycopg2.connect(host=\"%s\", user=\"ironic\", "
                             "dbname=\"ironic\", password=open(\"/dev/stdin\").read().strip()); print(\"ok\")' <<< %s"
                             % (VENV, address('site-db'), password), check=False)
    assert admitted.stdout.strip() == 'ok', admitted.stderr[-2000:]
    assert password not in site['output']


def json_rpc_call(site, origin, target, credentials='', scheme='https', trust_site_ca=True):
    """From one host of the site, a json-rpc call to a conductor on another: the HTTP status, or why there
    was none."""
    code = ('import base64, json, ssl, sys, urllib.request, urllib.error\n'
            'context = ssl.create_default_context(cafile=%s)\n'
            'request = urllib.request.Request("%s://%s:8089/", data=json.dumps({"jsonrpc": "2.0", "id": 1, '
            '"method": "get_conductor", "params": {}}).encode(), headers={"Content-Type": "application/json"})\n'
            'credentials = sys.stdin.read().strip()\n'
            'if credentials:\n'
            '    request.add_header("Authorization", "Basic " + base64.b64encode(credentials.encode()).decode())\n'
            'try:\n'
            '    print(urllib.request.urlopen(request, timeout=20, context=context).status)\n'
            'except urllib.error.HTTPError as error:\n'
            '    print(error.code)\n'
            'except (urllib.error.URLError, OSError) as error:\n'
            '    print(type(getattr(error, "reason", error)).__name__)\n') % (
                '"%s/ca.pem"' % TLS_DIR if trust_site_ca else 'None', scheme, address(target))
    result = site['machines'][origin].ssh("python3 -c '%s' <<< '%s'" % (code, credentials))
    answer = result.stdout.strip()
    return int(answer) if answer.isdigit() else answer


def test_json_rpc_between_hosts_needs_the_credentials(site):
    password = site['machines']['site-api'].ssh('cat /etc/rackops/ironic/api-password').stdout.strip()
    assert json_rpc_call(site, 'site-api', 'site-c1') == 401
    assert json_rpc_call(site, 'site-c2', 'site-c1', 'admin:wrong') == 401
    # with them, the conductor answers (an unknown method is a json-rpc error, not an HTTP one)
    assert json_rpc_call(site, 'site-api', 'site-c2', 'admin:' + password) == 200
    # and every host has the one password (the API sends it, the conductors check it)
    for name in ('site-c1', 'site-c2'):
        rpc = site['machines'][name].ssh("sed -n '/^\\[json_rpc\\]/,/^\\[/p' /etc/rackops/ironic/ironic.conf").stdout
        assert 'host_ip = %s' % address(name) in rpc and 'password = ' + password in rpc.replace('$$', '$')


def test_json_rpc_between_hosts_runs_over_tls_with_the_sites_own_ca(site):
    machines = site['machines']
    password = machines['site-api'].ssh('cat /etc/rackops/ironic/api-password').stdout.strip()
    # the conductors speak TLS only: a plain request does not get through, credentials or not
    plain = json_rpc_call(site, 'site-api', 'site-c1', 'admin:' + password, scheme='http')
    assert plain not in (200, 401), plain
    # a client that does not trust the site's CA refuses the conductor's certificate
    assert json_rpc_call(site, 'site-c1', 'site-c2', 'admin:' + password, trust_site_ca=False) == \
        'SSLCertVerificationError'
    # each host's certificate is for the address the others reach it at, from the CA kept on the first API host
    ca = machines['site-api'].ssh('cat %s/ca.pem' % CA_DIR).stdout
    for name in ENGINE_HOSTS:
        text = machines[name].ssh('openssl x509 -in %s/cert.pem -noout -text' % TLS_DIR).stdout
        assert 'IP Address:%s' % address(name) in text and 'CN = rackops.baremetal json-rpc CA' in text, text
        assert machines[name].ssh('stat -c %%a:%%U:%%G %s/key.pem' % TLS_DIR).stdout.strip() == '640:root:ironic'
        assert machines[name].ssh('cat %s/ca.pem' % TLS_DIR).stdout == ca and 'BEGIN CERTIFICATE' in ca
    assert machines['site-api'].ssh('stat -c %%a:%%U %s %s/ca.key' % (CA_DIR, CA_DIR)).stdout.split() == [
        '700:root', '600:root']
    for name in ('site-c1', 'site-c2', 'site-db'):
        assert machines[name].ssh('test -e %s' % CA_DIR, check=False).returncode != 0, name
    # no key in what the run printed
    for name in ENGINE_HOSTS:
        key = machines[name].ssh('cat %s/key.pem' % TLS_DIR).stdout
        body = ''.join(key.splitlines()[1:-1])
        assert body and body[:40] not in site['output'].replace('\\n', '')


def test_a_fleet_through_the_site_lands_on_the_conductors_of_its_group(site):
    servers = {'%s%d' % (PREFIX, i): {'nics': [{'mac': '52:54:00:94:00:%02x' % i}],
                                      **({'conductor_group': 'east'} if i % 2 else {})} for i in range(4)}
    inventory = write_inventory(site['base'] / 'fleet.yml', servers, {
        'bmc': {'driver': 'fake-hardware'}, 'interfaces': {'deploy': 'fake', 'boot': 'fake'},
        'image': {'source': 'http://127.0.0.1:9/disk.img', 'checksum': 'sha256:' + '0' * 64}})
    extra = {'rackops_report_dir': str(site['base'] / 'reports')}
    for playbook in ('enroll.yml', 'provision.yml'):
        run_playbook(ROOT / 'playbooks' / playbook, extra, '-i', str(inventory), env=site['env'])
    conn = sdk(site)
    nodes = {n.name: n for n in conn.baremetal.nodes(details=True) if n.name.startswith(PREFIX)}
    assert {name: n.provision_state for name, n in nodes.items()} == {name: 'active' for name in servers}
    for name, node in nodes.items():
        group = servers[name].get('conductor_group', '')
        assert node.conductor_group == group
        assert node.conductor in ([address('site-c2')] if group == 'east'
                                  else [address('site-api'), address('site-c1')]), (name, node.conductor)
    again = run_playbook(ROOT / 'playbooks/provision.yml', extra, '-i', str(inventory), env=site['env'])[1]
    assert recap(again)['changed'] == 0, again[-3000:]
    run_playbook(ROOT / 'playbooks/undeploy.yml', extra, '-i', str(inventory), env=site['env'])
    states = {n.name: n.provision_state for n in conn.baremetal.nodes() if n.name.startswith(PREFIX)}
    assert states == {name: 'available' for name in servers}
    report = json.loads((site['base'] / 'reports/undeploy.json').read_text())
    assert sorted(node['name'] for node in report['nodes']) == sorted(servers)


def test_a_group_no_conductor_serves_fails_its_nodes_naming_the_group(site):
    inventory = write_inventory(site['base'] / 'west.yml', {'site-west-0': {
        'nics': [{'mac': '52:54:00:94:01:00'}], 'conductor_group': 'west'}}, {'bmc': {'driver': 'fake-hardware'}})
    code, output = run_playbook(ROOT / 'playbooks/enroll.yml', None, '-i', str(inventory), env=site['env'],
                                expect_ok=False)
    assert code != 0
    row = [line for line in output.splitlines() if 'site-west-0' in line and 'FAILED' in line]
    assert row and 'conductor group "west"' in output, output[-3000:]
    assert 'site-west-0' not in [n.name for n in sdk(site).baremetal.nodes()]


def conductors_of(conn, names):
    return {n.name: n.conductor for n in conn.baremetal.nodes(details=True) if n.name in names}


def wait_until(predicate, timeout, what):
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(2)
    raise AssertionError('not within %d s: %s' % (timeout, what() if callable(what) else what))


def conductor_registry(site):
    """What the database says of each conductor, which is what the API's ring is built from, and the
    conductor's own account of its starts and stops on each engine host: for a failure message."""
    rows = site['machines']['site-db'].ssh(
        "runuser -u postgres -- psql -XAt -d ironic -c \"SELECT c.hostname, c.online, c.updated_at, now(), "
        "string_agg(DISTINCT h.hardware_type, ',') FROM conductors c LEFT JOIN conductor_hardware_interfaces h "
        "ON h.conductor_id = c.id GROUP BY c.id ORDER BY c.hostname\"", check=False)
    journals = {name: site['machines'][name].ssh(
        "(journalctl -q --no-pager -u 'rackops-ironic-conductor-*'; grep -hE 'conductor|ERROR' "
        "/var/log/rackops/ironic/*.log) | grep -E 'Start|Stop|stopped|registered|ERROR' | tail -n 30",
        check=False).stdout for name in ('site-api', 'site-c1')}
    return 'database: %s %s; journals: %s' % (rows.stdout, rows.stderr[-500:], journals)


def test_a_conductor_host_that_loses_power_hands_its_nodes_over_and_takes_them_back(site):
    # enough nodes that Ironic's hash ring gives both conductors of the default group some: the ring splits
    # these two addresses about 34/66, so 10 random node UUIDs all fell on one conductor in 1 run of 70 (twice
    # seen); with 24, 1 in 20,000
    servers = {'site-fo-%d' % i: {'nics': [{'mac': '52:54:00:94:02:%02x' % i}]} for i in range(24)}
    inventory = write_inventory(site['base'] / 'failover.yml', servers, {'bmc': {'driver': 'fake-hardware'}})
    extra = {'rackops_report_dir': str(site['base'] / 'reports')}
    run_playbook(ROOT / 'playbooks/enroll.yml', extra, '-i', str(inventory), env=site['env'])
    conn = sdk(site)
    c1, survivor = address('site-c1'), address('site-api')
    # (the API's ring is a snapshot renewed every hash_ring_reset_interval: one taken while a conductor's heartbeat
    # was late, on a loaded machine, lacks it until the next)
    wait_until(lambda: set(conductors_of(conn, servers).values()) == {c1, survivor}, 60,
               lambda: 'the nodes on both conductors of the group: %s; conductors %s; %s' % (
                   conductors_of(conn, servers),
                   {c.hostname: (c.conductor_group, c.alive) for c in conn.baremetal.conductors(details=True)},
                   conductor_registry(site)))
    moved = sorted(name for name, conductor in conductors_of(conn, servers).items() if conductor == c1)
    machine = site['machines']['site-c1']
    machine.power_off()
    takeover = wait_until(lambda: set(conductors_of(conn, servers).values()) == {survivor}, 240,
                          'the nodes of the dead conductor on the other one')
    # and the survivor acts on them: a power action on the whole fleet succeeds
    output = run_playbook(ROOT / 'playbooks/power.yml', dict(extra, rackops_power='off'), '-i', str(inventory),
                          env=site['env'])[1]
    assert recap(output)['failed'] == 0
    assert {n.name: n.power_state for n in conn.baremetal.nodes(details=True) if n.name in servers} == {
        name: 'power off' for name in servers}
    # the host comes back: its services start by themselves, and the ring gives it its nodes again
    machine.boot()
    back = wait_until(lambda: sorted(n for n, c in conductors_of(conn, servers).items() if c == c1) == moved, 240,
                      'the same nodes back on the conductor that came back')
    assert active_units(machine) == ['rackops-ironic-conductor-1.service', 'rackops-ironic.target']
    output = run_playbook(ROOT / 'playbooks/power.yml', dict(extra, rackops_power='on'), '-i', str(inventory),
                          env=site['env'])[1]
    assert recap(output)['failed'] == 0
    print('failover: %d node(s) taken over %.0f s after the plug was pulled, back %.0f s after the host was started'
          % (len(moved), takeover, back))


def restarted_hosts(output):
    """The hosts the engine's restart handler changed, in the order they finished."""
    blocks = output.split('RUNNING HANDLER [rackops.baremetal.ironic : Restart ironic]')[1:]
    return [host for block in blocks for host in re.findall(r'^changed: \[(\S+)\]', block.split('\n\n', 1)[0], re.M)]


def unit_window(machine, unit):
    """When the unit last stopped and became active again, on the controller's monotonic clock (the machines
    share the host's), in seconds."""
    shown = machine.ssh('systemctl show -p ActiveExitTimestampMonotonic -p ActiveEnterTimestampMonotonic %s'
                        % unit).stdout
    values = dict(line.split('=', 1) for line in shown.split())
    return int(values['ActiveExitTimestampMonotonic']) / 1e6, int(values['ActiveEnterTimestampMonotonic']) / 1e6


def test_a_changed_setting_rolls_over_the_hosts_one_at_a_time_under_runs_in_flight(site):
    conn = sdk(site)
    # every conductor back and in the ring (the failover test above powered one off and on)
    wait_until(lambda: sorted(c.hostname for c in conn.baremetal.conductors(details=True) if c.alive)
               == sorted(address(name) for name in ENGINE_HOSTS), 120,
               lambda: 'every conductor alive: %s' % conductor_registry(site))
    # in the default group, which two hosts serve: a group one host serves has no conductor while it restarts
    servers = {'site-roll-%d' % i: {'nics': [{'mac': '52:54:00:94:03:%02x' % i}]} for i in range(6)}
    inventory = write_inventory(site['base'] / 'roll.yml', servers, {
        'bmc': {'driver': 'fake-hardware'}, 'interfaces': {'deploy': 'fake', 'boot': 'fake'},
        'image': {'source': 'http://127.0.0.1:9/disk.img', 'checksum': 'sha256:' + '0' * 64}})
    extra = {'rackops_report_dir': str(site['base'] / 'reports-roll')}
    run_playbook(ROOT / 'playbooks/enroll.yml', extra, '-i', str(inventory), env=site['env'])
    # fleet runs one after the other, provision then undeploy, until the site run has ended
    runs, stop = [], threading.Event()

    def churn():
        while not stop.is_set():
            playbook = 'undeploy.yml' if len(runs) % 2 else 'provision.yml'
            started = time.monotonic()
            code, output = run_playbook(ROOT / 'playbooks' / playbook, extra, '-i', str(inventory), env=site['env'],
                                        expect_ok=False)
            runs.append({'playbook': playbook, 'began': started, 'ended': time.monotonic(), 'rc': code,
                         'output': output})

    fleet = threading.Thread(target=churn)
    began = time.monotonic()
    fleet.start()
    try:
        changed = dict(site['vars'], ironic_config_overrides=dict(
            SITE_CONFIG, conductor=dict(SITE_CONFIG['conductor'], sync_power_state_interval=67)))
        code, output = run_playbook(ROOT / 'playbooks/site.yml', changed, '-i', str(site['inventory']),
                                    expect_ok=False)
    finally:
        stop.set()
        fleet.join(timeout=600)
    assert code == 0, output[-6000:]
    site['vars'] = changed  # the site's configuration now, for the tests after this one
    # one host at a time, in the play's order (when each went down and came back: below)
    restarted = restarted_hosts(output)
    assert restarted == list(ENGINE_HOSTS), output[-6000:]
    machines = site['machines']
    for name in ENGINE_HOSTS:
        conf = machines[name].ssh('cat /etc/rackops/ironic/ironic.conf').stdout
        assert 'sync_power_state_interval = 67' in conf, name
    windows = {name: unit_window(machines[name], 'rackops-ironic-conductor-1.service') for name in ENGINE_HOSTS}
    order = sorted(windows.values())
    assert all(began < stopped < active for stopped, active in order), windows
    assert all(before[1] < after[0] for before, after in zip(order, order[1:])), 'restarts overlap: %s' % windows
    # and the fleet never noticed: no run failed, and runs were in flight while each host restarted
    assert runs, 'no fleet run finished'
    failed = [run for run in runs if run['rc'] != 0]
    assert not failed, 'a fleet run failed during the rolling change: %s' % failed[0]['output'][-4000:]
    for name, (stopped, active) in windows.items():
        assert any(run['began'] < active and run['ended'] > stopped for run in runs), \
            'no fleet run in flight while %s restarted (%.0f-%.0f s): %s' % (
                name, stopped - began, active - began,
                [(run['playbook'], round(run['began'] - began), round(run['ended'] - began)) for run in runs])
    final = 'available' if runs[-1]['playbook'] == 'undeploy.yml' else 'active'
    assert {n.name: n.provision_state for n in conn.baremetal.nodes() if n.name in servers} == {
        name: final for name in servers}
    print('rolling change: %s; %d fleet run(s) in flight, none failed' % (
        ', '.join('%s down %.1f s' % (name, active - stopped) for name, (stopped, active) in windows.items()),
        len(runs)))
