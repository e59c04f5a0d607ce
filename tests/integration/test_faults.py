"""Faults a fleet meets between runs, on a dedicated engine (#21).

- A node Ironic put into maintenance itself because its BMC stopped answering, and one an operator
  did. Ironic's power sync puts a node whose BMC does not answer into maintenance with fault `power
  failure` ("During sync_power_state, max retries exceeded ..."), and takes it out again only when
  its own recovery next reads the power state (every 5 minutes by default). Once the BMC answers, a
  re-run must converge: the modules end that maintenance themselves, after Ironic reaches the BMC
  again. An operator's own maintenance stays, and is reported as such. Real ipmitool against the
  project's pyghmi BMC emulator, whose BMCs the test silences.
- A run interrupted (Ctrl-C) while Ironic deploys, and two runs at once: no node is deployed twice;
  the re-run (or the second run) waits for the deploys under way.

The engine's power sync runs every 2 s and gives up after one retry (Ironic's defaults take minutes),
its own recovery is off, so that here only the modules end the maintenance, and a fake deploy takes
DEPLOY_DELAY seconds, long enough to interrupt.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time

import pytest
from conftest import ROOT, Engine, engine_vars, free_port, make_base, recap, remove_nodes, run_playbook, write_inventory
from emulators import BmcEmulator

POWER_FAILURE = 'power failure'
LEAVE = 'leave the maintenance Ironic set when the BMC stopped answering'
OPERATOR_REASON = 'replacing a DIMM'
# fault-00: its BMC is silenced, then answers again; fault-01: in an operator's maintenance;
# fault-02: its BMC is silenced and stays silent through the first re-run
SILENT, OPERATOR, STILL_SILENT = 'fault-00', 'fault-01', 'fault-02'
DEPLOY_DELAY = 12


@pytest.fixture(scope='module')
def fault_engine():
    base = make_base('rackops-fault-')
    port = free_port()
    settings = engine_vars(base, port)
    overrides = settings['ironic_config_overrides']
    settings['ironic_config_overrides'] = dict(overrides, conductor=dict(
        overrides['conductor'], sync_power_state_interval=2, power_state_sync_max_retries=1,
        power_failure_recovery_interval=0), fake={'power_delay': 0, 'deploy_delay': DEPLOY_DELAY})
    eng = Engine(base=base, port=port, vars=settings)
    try:
        eng.install()
        yield eng
    finally:
        eng.remove()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope='module')
def bmcs(tmp_path_factory):
    emulator = BmcEmulator(tmp_path_factory.mktemp('fault-bmcs'), 3, first_octet=150, port=6250, prefix='fault')
    yield emulator
    emulator.stop()


@pytest.fixture(scope='module')
def inventory(bmcs, tmp_path_factory):
    servers = {spec['name']: {'bmc': {'address': spec['address'], 'port': spec['port'], 'password': spec['password']},
                              'nics': [{'mac': '52:54:00:22:00:%02x' % i}]}
               for i, spec in enumerate(bmcs.specs)}
    # available without an agent: no cleaning
    return write_inventory(tmp_path_factory.mktemp('fault') / 'fault.yml', servers,
                           {'bmc': {'driver': 'ipmi', 'username': 'admin'}, 'automated_clean': False})


def enroll(engine, inventory, *args, expect_ok=True):
    return run_playbook(ROOT / 'playbooks/enroll.yml', {'rackops_provision_state': 'available'},
                        '-i', str(inventory), *args, env=engine.env, expect_ok=expect_ok)


def nodes(engine):
    return {n.name: n for n in engine.sdk().baremetal.nodes(details=True)}


def row(output, name):
    """The node's line of the run's table."""
    return next(line for line in output.splitlines() if line.strip().lstrip('"').startswith(name + ' '))


def wait_for_power_failure(engine, names, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = nodes(engine)
        if all(found[name].is_maintenance and found[name].fault == POWER_FAILURE for name in names):
            return found
        time.sleep(1)
    raise AssertionError('Ironic did not set power-failure maintenance: %s' % {
        name: (found[name].is_maintenance, found[name].fault) for name in names})


def test_ironics_power_failure_maintenance_ends_on_a_rerun_an_operators_stays(fault_engine, bmcs, inventory):
    run_playbook(ROOT / 'playbooks/enroll.yml', None, '-i', str(inventory), env=fault_engine.env)
    assert {n.provision_state for n in nodes(fault_engine).values()} == {'manageable'}

    # two BMCs stop answering: Ironic's power sync puts their nodes into maintenance itself
    bmcs.set(SILENT, unreachable=True)
    bmcs.set(STILL_SILENT, unreachable=True)
    conn = fault_engine.sdk()
    conn.baremetal.set_node_maintenance(nodes(fault_engine)[OPERATOR].id, reason=OPERATOR_REASON)
    found = wait_for_power_failure(fault_engine, [SILENT, STILL_SILENT])
    assert 'sync_power_state' in found[SILENT].maintenance_reason
    bmcs.set(SILENT, unreachable=False)

    # check mode: says what it would do, sends nothing
    code, output = enroll(fault_engine, inventory, '--check', expect_ok=False)
    assert LEAVE in row(output, SILENT), output[-3000:]
    assert nodes(fault_engine)[SILENT].is_maintenance

    code, output = enroll(fault_engine, inventory, expect_ok=False)
    assert code != 0
    found = nodes(fault_engine)
    # the BMC that answers again: out of maintenance, and on to available
    assert not found[SILENT].is_maintenance and found[SILENT].fault is None
    assert found[SILENT].provision_state == 'available'
    assert LEAVE in row(output, SILENT) and 'FAILED' not in row(output, SILENT)
    # the operator's maintenance: left as it is, reported with its reason, nothing asked of the node
    assert found[OPERATOR].is_maintenance and found[OPERATOR].maintenance_reason == OPERATOR_REASON
    assert found[OPERATOR].provision_state == 'manageable'
    assert 'is in maintenance (%s): not moved to available' % OPERATOR_REASON in row(output, OPERATOR)
    # a BMC still silent: Ironic could not reach it, so the node stays in maintenance, failed with why
    assert found[STILL_SILENT].is_maintenance and found[STILL_SILENT].fault == POWER_FAILURE
    assert found[STILL_SILENT].provision_state == 'manageable'
    assert 'reach the BMC' in row(output, STILL_SILENT) and 'FAILED' in row(output, STILL_SILENT)

    # the BMC back, the operator done: the re-run converges, and the next changes nothing
    bmcs.set(STILL_SILENT, unreachable=False)
    conn.baremetal.unset_node_maintenance(found[OPERATOR].id)
    enroll(fault_engine, inventory)
    found = nodes(fault_engine)
    assert {n.provision_state for n in found.values()} == {'available'}
    assert not any(n.is_maintenance for n in found.values())
    code, output = enroll(fault_engine, inventory)
    assert recap(output)['changed'] == 0


def api_log(engine):
    return engine.base / 'log' / 'ironic.log'


def provision_requests(engine, since):
    """The provision requests Ironic's API took (202) per node UUID, from its request log after ``since``
    (a size of the log: the requests of the test, not of the enrollment before it)."""
    counts = {}
    with api_log(engine).open(errors='replace') as log:
        log.seek(since)
        for match in re.finditer(r'PUT /v1/nodes/([0-9a-f-]{36})/states/provision - 202', log.read()):
            counts[match.group(1)] = counts.get(match.group(1), 0) + 1
    return counts


@pytest.fixture
def fake_fleet(fault_engine, tmp_path):
    """Three fake-hardware nodes, available, whose deploys take DEPLOY_DELAY seconds."""
    names = ['%s-%d' % (tmp_path.name[:12].rstrip('_'), i) for i in range(3)]
    servers = {name: {'nics': [{'mac': '52:54:00:23:%02x:%02x' % (len(tmp_path.name) % 256, i)}]}
               for i, name in enumerate(names)}
    inventory = write_inventory(tmp_path / 'fleet.yml', servers, {
        'bmc': {'driver': 'fake-hardware'}, 'interfaces': {'deploy': 'fake', 'boot': 'fake'}, 'automated_clean': False,
        'image': {'source': 'http://127.0.0.1:9/disk.img', 'checksum': 'sha256:' + '0' * 64}})
    enroll(fault_engine, inventory)
    yield names, inventory
    remove_nodes(fault_engine.sdk(), lambda name: name in names)


def wait_for_states(engine, names, wanted, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = nodes(engine)
        if all(found[name].provision_state in wanted for name in names):
            return found
        time.sleep(0.3)
    raise AssertionError('not %s: %s' % (wanted, {name: found[name].provision_state for name in names}))


def deploy(engine, inventory, *args, expect_ok=True):
    return run_playbook(ROOT / 'playbooks/deploy.yml', None, '-i', str(inventory), *args, env=engine.env,
                        expect_ok=expect_ok)


def test_a_run_interrupted_while_ironic_deploys_is_not_deployed_again_by_the_rerun(fault_engine, fake_fleet):
    names, inventory = fake_fleet
    since = api_log(fault_engine).stat().st_size
    run = subprocess.Popen(  # pylint: disable=consider-using-with
        ['ansible-playbook', str(ROOT / 'playbooks/deploy.yml'), '-i', str(inventory)], cwd=ROOT,
        env=dict(os.environ, **fault_engine.env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_states(fault_engine, names, ('deploying',))
    finally:
        run.send_signal(signal.SIGINT)  # Ctrl-C
        interrupted = run.communicate(timeout=60)[0]
    assert run.returncode != 0, interrupted[-3000:]
    # Ironic goes on: the deploys are still under way when the operator runs the playbook again
    assert {n.provision_state for name, n in nodes(fault_engine).items() if name in names} == {'deploying'}
    code, output = deploy(fault_engine, inventory)
    found = nodes(fault_engine)
    assert {found[name].provision_state for name in names} == {'active'}
    for name in names:
        assert 'waited for a transition under way' in row(output, name), output[-3000:]
    # one deploy request per node, the interrupted run's
    requests = provision_requests(fault_engine, since)
    assert {name: requests.get(found[name].id) for name in names} == {name: 1 for name in names}
    assert recap(deploy(fault_engine, inventory)[1])['changed'] == 0


def test_two_runs_at_once_deploy_each_node_once(fault_engine, fake_fleet):
    names, inventory = fake_fleet
    since = api_log(fault_engine).stat().st_size
    runs = [subprocess.Popen(  # pylint: disable=consider-using-with
        ['ansible-playbook', str(ROOT / 'playbooks/deploy.yml'), '-i', str(inventory)], cwd=ROOT,
        env=dict(os.environ, **fault_engine.env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _run in range(2)]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs[0][-3000:] + outputs[1][-3000:]
    found = nodes(fault_engine)
    assert {found[name].provision_state for name in names} == {'active'}
    requests = provision_requests(fault_engine, since)
    assert {name: requests.get(found[name].id) for name in names} == {name: 1 for name in names}
    # each node: one run deployed it; the other waited for that deploy (before or after its own request was
    # refused) or, started late on a loaded machine (seen once in a full run), found it done
    for name in names:
        rows = [row(output, name) for output in outputs]
        assert sum('waited' in r or 'already active with this image' in r for r in rows) == 1, rows
