"""The engine's scale-out layout: ironic-api plus two ironic-conductors over
json-rpc, on a real PostgreSQL server (a private one this module starts).

The modules and playbooks must not notice the difference: the fleet enrolls to
`available` through enroll.yml, and Ironic's hash ring spreads it over both
conductors.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT, Engine, engine_vars, free_port, make_base, recap, run_playbook, write_inventory

SCRATCH_PG = ROOT / 'scripts/scratch-postgresql.sh'
FLEET = 12


def free_port_pair() -> int:
    """A port p with p and p + 1 both free (the two conductors' json-rpc ports)."""
    for port in (free_port() for attempt in range(50)):
        with socket.socket() as sock:
            try:
                sock.bind(('127.0.0.1', port + 1))
            except OSError:
                continue
        return port
    raise AssertionError('no two consecutive free ports')


def processes_under(base: Path) -> list[str]:
    # -ww: without it ps cuts lines at $COLUMNS (pytest sets it), before the path
    out = subprocess.run(['ps', '-ww', '-eo', 'pid=,args='], capture_output=True, text=True, check=True).stdout
    return [line.strip() for line in out.splitlines() if str(base) in line and 'supervisord' not in line]


def supervisorctl(engine, *args):
    return subprocess.run([engine.vars['ironic_venv_dir'] + '/bin/supervisorctl',
                           '-c', str(engine.base / 'etc/supervisord.conf'), *args],
                          capture_output=True, text=True, check=False).stdout.strip()


def children(pid: str) -> list[str]:
    """The PIDs of a process's children (a cotyledon master's workers)."""
    return subprocess.run(['ps', '--ppid', pid, '-o', 'pid='], capture_output=True, text=True,
                          check=True).stdout.split()


def programs(engine) -> dict:
    """{program: state} as our supervisord sees them."""
    return dict(line.split()[:2] for line in supervisorctl(engine, 'status').splitlines())


@pytest.fixture(scope='module')
def split_engine():
    base = make_base('rackops-split-')
    port, rpc_port = free_port(), free_port_pair()
    pg_dir = base / 'postgresql'
    url = subprocess.run([str(SCRATCH_PG), 'start', str(pg_dir), str(free_port())],
                         capture_output=True, text=True, check=True).stdout.strip()
    eng = Engine(base=base, port=port, vars=dict(
        engine_vars(base, port), ironic_database='postgresql', ironic_database_url=url,
        ironic_process_layout='split', ironic_conductor_count=2, ironic_json_rpc_port=rpc_port))
    eng.db_password = url.split(':')[2].split('@')[0]
    try:
        eng.first_install_output = eng.install()
        yield eng
    finally:
        eng.remove()
        subprocess.run([str(SCRATCH_PG), 'stop', str(pg_dir)], check=False)
        shutil.rmtree(base, ignore_errors=True)


def conductors(engine):
    status, body = engine.request('/v1/conductors?fields=hostname,alive', engine.password,
                                  headers={'X-OpenStack-Ironic-API-Version': 'latest'})
    assert status == 200, body
    return {c['hostname']: c['alive'] for c in json.loads(body)['conductors']}


def test_api_and_two_conductors_run_as_their_own_processes(split_engine):
    rpc = split_engine.vars['ironic_json_rpc_port']
    assert programs(split_engine) == {'rackops-ironic:rackops-ironic-api': 'RUNNING',
                                      'rackops-ironic:rackops-ironic-conductor-1': 'RUNNING',
                                      'rackops-ironic:rackops-ironic-conductor-2': 'RUNNING'}
    procs = processes_under(split_engine.base / 'etc')
    assert [p for p in procs if '/ironic-api ' in p], procs
    assert {re.search(r'(conductor-\d)\.conf', p).group(1) for p in procs if '/ironic-conductor ' in p} == {
        'conductor-1', 'conductor-2'}
    assert not [p for p in procs if '/bin/ironic ' in p], procs  # no all-in-one process beside them
    assert conductors(split_engine) == {'127.0.0.1:%d' % rpc: True, '127.0.0.1:%d' % (rpc + 1): True}
    assert 'postgresql' in (split_engine.base / 'etc/ironic.conf').read_text()


def test_no_password_in_the_output(split_engine):
    output = split_engine.first_install_output
    assert split_engine.db_password not in output
    assert split_engine.password not in output


def test_json_rpc_wants_the_api_credentials(split_engine):
    url = 'http://127.0.0.1:%d' % split_engine.vars['ironic_json_rpc_port']
    body = json.dumps({'jsonrpc': '2.0', 'method': 'get_conductor_info', 'params': {}, 'id': '1'}).encode()
    req = urllib.request.Request(url, data=body, headers={'Content-Type': 'application/json'})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 401


def test_the_fleet_enrolls_over_both_conductors(split_engine, tmp_path):
    servers = {'sp-%02d' % i: {'nics': [{'mac': '52:54:00:5a:00:%02x' % i}]} for i in range(FLEET)}
    inventory = write_inventory(tmp_path / 'fleet.yml', servers,
                                {'bmc': {'driver': 'fake-hardware'}, 'interfaces': {'deploy': 'fake', 'boot': 'fake'}})
    extra = {'rackops_provision_state': 'available'}
    output = run_playbook(ROOT / 'playbooks/enroll.yml', extra, '-i', str(inventory), env=split_engine.env)[1]
    assert recap(output)['failed'] == 0
    nodes = [n for n in split_engine.sdk().baremetal.nodes(details=True) if n.name.startswith('sp-')]
    assert len(nodes) == FLEET
    assert {n.provision_state for n in nodes} == {'available'}
    # the hash ring gave each conductor a share (all 12 on one: p = 2 / 4096)
    assert set(n.conductor for n in nodes) == set(conductors(split_engine)), [n.conductor for n in nodes]

    output = run_playbook(ROOT / 'playbooks/enroll.yml', extra, '-i', str(inventory), env=split_engine.env)[1]
    assert recap(output)['changed'] == 0, output[-3000:]


def test_a_call_survives_its_conductor_restarting(split_engine):
    """The API retries a json-rpc call whose connection failed (ironic_json_rpc_connect_retries)
    instead of answering 500 "Unable to establish connection", as it did under load."""
    rpc = split_engine.vars['ironic_json_rpc_port']
    node = next(n for n in split_engine.sdk().baremetal.nodes(details=True)
                if n.name.startswith('sp-') and n.conductor == '127.0.0.1:%d' % rpc)
    master = supervisorctl(split_engine, 'pid', 'rackops-ironic:rackops-ironic-conductor-1')
    workers = children(master)
    assert len(workers) == 1, workers
    # the worker is gone and, its master stopped, not back for a second: the call's
    # first connection is refused whatever the timing
    subprocess.run(['kill', '-STOP', master], check=True)
    try:
        subprocess.run(['kill', '-KILL', workers[0]], check=True)
        resume = threading.Timer(1.0, subprocess.run, (['kill', '-CONT', master],))
        resume.start()
        started = time.monotonic()
        result = split_engine.sdk().baremetal.validate_node(node.id, required=())
        waited = time.monotonic() - started
    finally:
        subprocess.run(['kill', '-CONT', master], check=False)
    assert result['power'].result, result['power'].reason
    assert waited >= 0.5  # it did wait for the restarted worker


def test_the_api_runs_one_worker_that_is_not_forked_again(split_engine):
    # by now the API has run for a minute: a second worker would have failed to
    # bind the port and been forked again a dozen times, each leaving a traceback
    workers = children(supervisorctl(split_engine, 'pid', 'rackops-ironic:rackops-ironic-api'))
    assert len(workers) == 1, workers
    log = (split_engine.base / 'log/rackops-ironic-api.stdout.log').read_text()
    assert 'Address already in use' not in log, log[-2000:]


def test_a_second_install_changes_nothing(split_engine):
    output = split_engine.install()
    assert recap(output)['changed'] == 0, output[-3000:]


def test_a_dead_conductor_is_restarted(split_engine):
    name = 'rackops-ironic:rackops-ironic-conductor-2'
    pid = supervisorctl(split_engine, 'pid', name)
    assert pid.isdigit() and pid != '0', pid
    subprocess.run(['kill', '-KILL', pid], check=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        new = supervisorctl(split_engine, 'pid', name)
        if new.isdigit() and new not in ('0', pid) and split_engine.ctl_run('status').returncode == 0:
            break
        time.sleep(0.5)
    else:
        raise AssertionError('conductor-2 was not restarted (pid %s)' % supervisorctl(split_engine, 'pid', name))
    assert not Path('/proc/%s' % pid).exists()


def wait_for_status(engine, code, timeout):
    """rackops-ironicctl status until it exits with code: its stderr then."""
    deadline = time.monotonic() + timeout
    while True:
        result = engine.ctl_run('status')
        if result.returncode == code:
            return result.stderr
        if time.monotonic() > deadline:
            raise AssertionError('status not %d within %d s: %d %s' % (code, timeout, result.returncode, result.stderr))
        time.sleep(1)


def test_status_tells_a_worker_that_crash_loops_under_its_running_master(split_engine):
    name = 'rackops-ironic:rackops-ironic-conductor-2'
    supervisorctl(split_engine, 'stop', name)
    # what makes a real worker crash-loop: another process holds its json-rpc port
    with socket.socket() as squatter:
        # (the conductor's last connections may linger in TIME_WAIT on the port: without SO_REUSEADDR they keep
        # the squatter out; with it, the squatter's listening socket still keeps the worker, which sets no
        # SO_REUSEPORT, out)
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        port = split_engine.vars['ironic_json_rpc_port'] + 1
        # (the worker orphaned when test_a_dead_conductor_is_restarted killed its master shuts down gracefully,
        # holding the port for up to the ring's reset interval and the graceful shutdown timeout)
        deadline = time.monotonic() + 60
        while True:
            try:
                squatter.bind(('127.0.0.1', port))
                break
            except OSError as error:
                if time.monotonic() > deadline:
                    raise AssertionError('%s: %s %s' % (error, supervisorctl(split_engine, 'status'), subprocess.run(
                        ['ss', '-Htanp', 'sport = :%d' % port], capture_output=True, text=True,
                        check=False).stdout)) from error
                time.sleep(1)
        squatter.listen()
        supervisorctl(split_engine, 'start', name)
        told = wait_for_status(split_engine, 1, 60)  # (between a death and the next fork: no worker)
        assert 'rackops-ironic-conductor-2: ' in told and 'rackops-ironic-conductor-1' not in told, told
        # once its master has run 30 s, at any moment, while supervisord shows that master running: no worker,
        # or one younger than 15 s
        master = supervisorctl(split_engine, 'pid', name)
        age = int(subprocess.run(['ps', '-o', 'etimes=', '-p', master], capture_output=True, text=True,
                                 check=True).stdout)
        time.sleep(max(0, 31 - age))
        for _look in range(4):
            result = split_engine.ctl_run('status')
            assert result.returncode == 1 and programs(split_engine)[name] == 'RUNNING', result.stderr
            time.sleep(3)
        # the master's own account (cotyledon logs each death in ironic.log)
        log = ''.join(path.read_text(errors='replace') for path in sorted((split_engine.base / 'log').glob('*.log')))
    # the port free again, the next worker stays up: steady once it has lived 15 s, under the same master
    assert wait_for_status(split_engine, 0, 60) == ''
    assert supervisorctl(split_engine, 'pid', name) == master
    assert re.search(r'Child \d+ exited with status', log), log[-3000:]


def test_stop_and_start_take_every_process(split_engine):
    assert split_engine.ctl_run('stop').returncode == 0
    assert processes_under(split_engine.base / 'etc') == []
    assert set(programs(split_engine).values()) == {'STOPPED'}
    assert split_engine.ctl_run('status').returncode != 0
    assert split_engine.ctl_run('start').returncode == 0
    assert split_engine.ctl_run('status').returncode == 0
    assert set(programs(split_engine).values()) == {'RUNNING'}
    split_engine.wait_api()
