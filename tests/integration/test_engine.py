"""The `ironic` role against a real Ironic: auth, files, CLI, supervision, restarts."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from conftest import load_yaml, recap

DRIVERS = {'ipmi', 'redfish', 'idrac', 'manual-management', 'fake-hardware'}


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_second_install_changes_nothing_and_prints_no_password(engine):
    assert recap(engine.first_install_output)['changed'] > 0
    assert engine.password not in engine.first_install_output
    # at -vvv: what Ansible would print of every task's arguments and results
    output = engine.install('-vvv')
    counters = recap(output)
    assert counters['changed'] == 0, output[-4000:]
    assert counters['failed'] == 0
    assert engine.password not in output


def test_anonymous_requests_are_refused(engine):
    assert engine.request('/')[0] == 200  # version discovery stays public
    assert engine.request('/v1/nodes')[0] == 401
    assert engine.request('/v1/nodes', password='wrong-password')[0] == 401


def test_authenticated_requests_are_answered(engine):
    status, body = engine.request('/v1/drivers', engine.password)
    assert status == 200
    assert DRIVERS <= {d['name'] for d in json.loads(body)['drivers']}


def test_secret_files_are_private(engine):
    etc = Path(engine.vars['ironic_config_dir'])
    # the database too: its nodes' driver_info holds BMC passwords
    database = Path(engine.vars['ironic_state_dir']) / 'ironic.sqlite'
    for path in (etc / 'htpasswd', etc / 'api-password', engine.clouds_yaml, database):
        assert mode(path) == 0o600, path
    htpasswd = (etc / 'htpasswd').read_text()
    assert htpasswd.startswith('admin:$2b$04$')
    assert engine.password not in htpasswd


def test_clouds_yaml_serves_the_openstack_cli(engine):
    entry = load_yaml(engine.clouds_yaml)['clouds']['rackops']
    assert entry['auth_type'] == 'http_basic'
    assert entry['auth']['endpoint'] == engine.endpoint
    out = subprocess.run(
        [engine.vars['ironic_venv_dir'] + '/bin/openstack', '--os-cloud', 'rackops',
         'baremetal', 'driver', 'list', '-f', 'json'],
        env=dict(os.environ, **engine.env), capture_output=True, text=True, check=True).stdout
    assert DRIVERS <= {row.get('Supported driver(s)', row.get('name')) for row in json.loads(out)}
    out = subprocess.run(
        [engine.vars['ironic_venv_dir'] + '/bin/baremetal', '--os-cloud', 'rackops', 'node', 'list'],
        env=dict(os.environ, **engine.env), capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr


def test_status_stop_start_and_clouds_yaml_kept_through_an_install(engine):
    # an operator's clouds.yaml with another cloud in it, and ours removed by hand
    data = load_yaml(engine.clouds_yaml)
    del data['clouds']['rackops']  # the role must put it back and keep the other one
    data['clouds']['someone-else'] = {'auth_type': 'none', 'auth': {'endpoint': 'http://192.0.2.1:6385'}}
    engine.clouds_yaml.write_text(yaml.safe_dump(data))
    assert engine.ctl_run('status').returncode == 0
    assert engine.ctl_run('stop').returncode == 0
    assert engine.ctl_run('status').returncode != 0
    with pytest.raises(OSError):  # nothing listens any more
        engine.request('/')
    output = engine.install()  # the role starts a stopped engine again, and merges clouds.yaml
    assert recap(output)['changed'] >= 1
    assert engine.ctl_run('status').returncode == 0
    engine.wait_api()
    after = load_yaml(engine.clouds_yaml)
    assert after['clouds']['someone-else']['auth']['endpoint'] == 'http://192.0.2.1:6385'
    assert after['clouds']['rackops']['auth']['password'] == engine.password
    assert mode(engine.clouds_yaml) == 0o600


def test_records_survive_a_restart(engine):
    conn = engine.sdk()
    node = conn.baremetal.create_node(name='it-survivor', driver='fake-hardware')
    try:
        assert engine.ctl_run('restart').returncode == 0
        engine.wait_api()
        again = engine.sdk().baremetal.get_node('it-survivor')
        assert again.id == node.id
    finally:
        engine.sdk().baremetal.delete_node(node.id)


def test_supervisor_restarts_a_killed_ironic(engine):
    conn = engine.sdk()
    node = conn.baremetal.create_node(name='it-killed', driver='fake-hardware')
    try:
        pid = int(engine.ctl_run('pid').stdout.strip())
        killed_at = time.monotonic()
        os.killpg(os.getpgid(pid), signal.SIGKILL)
        deadline = killed_at + 30
        new_pid = None
        while time.monotonic() < deadline:
            out = engine.ctl_run('pid').stdout.strip()
            if out.isdigit() and int(out) != pid:
                new_pid = int(out)
                break
            time.sleep(0.2)
        assert new_pid, 'Ironic was not restarted within 30 s'
        answered_at = engine.wait_api(timeout=60)
        assert answered_at - killed_at < 30
        assert engine.sdk().baremetal.get_node('it-killed').id == node.id
    finally:
        engine.sdk().baremetal.delete_node(node.id)


def test_absent_stops_the_service_and_keeps_the_data(engine):
    conn = engine.sdk()
    node = conn.baremetal.create_node(name='it-kept', driver='fake-hardware')
    pid = int(engine.ctl_run('pid').stdout.strip())
    output = engine.install(ironic_state='absent')
    assert recap(output)['changed'] >= 1
    assert not Path(engine.ctl).exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert (Path(engine.vars['ironic_state_dir']) / 'ironic.sqlite').exists()
    output = engine.install(ironic_state='absent')
    assert recap(output)['changed'] == 0
    engine.install()
    assert engine.sdk().baremetal.get_node('it-kept').id == node.id
    engine.sdk().baremetal.delete_node(node.id)
