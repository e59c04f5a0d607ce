"""The fleet engine with fakes: isolation of failures, list-polling, timeouts, fail_on."""

from __future__ import annotations

import threading

import pytest

from ansible_collections.rackops.baremetal.plugins.module_utils._errors import BaremetalError
from ansible_collections.rackops.baremetal.plugins.module_utils._fleet import (
    NodeResult,
    poll_pause,
    run_phase,
    run_pipeline,
    summarize,
    wait_for,
)


def results(n):
    out = []
    for i in range(n):
        r = NodeResult('n%d' % i)
        r.uuid = 'u%d' % i
        out.append(r)
    return out


def scripted_fleet(states):
    """A ``list_nodes`` whose nth call gives each node the nth of its states (the last one after),
    and the list of its calls. A state is a provision state, or (provision state, last_error)."""
    calls = []

    def record(uuid, state):
        state, last_error = state if isinstance(state, tuple) else (state, None)
        return {'uuid': uuid, 'provision_state': state, 'last_error': last_error}

    def list_nodes():
        calls.append(1)
        cycle = len(calls) - 1
        return [record(u, s[min(cycle, len(s) - 1)]) for u, s in states.items()]
    return list_nodes, calls


def manageable_check(result, node):
    return {'manageable': 'done', 'verifying': 'wait'}.get(node['provision_state'], 'ended in enroll')


def test_one_failure_does_not_stop_the_others_and_concurrency_is_bounded():
    fleet = results(10)
    active, peak, lock = [0], [0], threading.Lock()

    def work(r):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        try:
            if r.name == 'n3':
                raise BaremetalError('update', 'boom', node=r.name, status_code=400, last_error='bad')
            r.did('update')
        finally:
            with lock:
                active[0] -= 1

    run_phase(fleet, work, concurrency=3)
    assert [r.name for r in fleet if r.failed] == ['n3']
    assert fleet[3].msg == 'Failed to update node n3 (HTTP 400): boom' and fleet[3].last_error == 'bad'
    assert all(r.changed for r in fleet if r.name != 'n3')
    assert peak[0] <= 3


def test_bugs_are_not_swallowed():
    with pytest.raises(KeyError):
        run_phase(results(2), lambda r: {}['x'], concurrency=2)


def test_waiting_lists_the_fleet_once_per_cycle():
    fleet = results(3)
    clock = [0.0]
    list_nodes, calls = scripted_fleet({'u0': ['verifying', 'manageable'],
                                        'u1': ['verifying', 'verifying', ('enroll', 'no BMC')], 'u2': ['manageable']})
    wait_for(list_nodes, fleet, manageable_check, timeout=60, interval=1, clock=lambda: clock[0],
             sleep=lambda s: clock.__setitem__(0, clock[0] + s))
    assert len(calls) == 3
    assert [(r.failed, r.provision_state) for r in fleet] == [(False, 'manageable'), (True, 'enroll'),
                                                              (False, 'manageable')]
    assert fleet[1].msg == 'ended in enroll'


def deploy_check(result, node):
    return {'active': 'done', 'wait call-back': 'wait'}.get(node['provision_state'], 'ended in ' + node['provision_state'])


def test_a_failure_ironic_explains_a_moment_later_is_reported_with_its_last_error():
    # a call-back timeout: `deploy failed` is saved first, last_error by a worker two cycles later
    fleet = results(2)
    clock = [0.0]
    list_nodes, calls = scripted_fleet({
        'u0': ['wait call-back', 'deploy failed', 'deploy failed', ('deploy failed', 'Timeout reached waiting for callback')],
        'u1': ['wait call-back', 'active']})
    wait_for(list_nodes, fleet, deploy_check, timeout=60, interval=1, clock=lambda: clock[0],
             sleep=lambda s: clock.__setitem__(0, clock[0] + s))
    assert len(calls) == 4
    assert fleet[0].failed and fleet[0].msg == 'ended in deploy failed'
    assert fleet[0].last_error == 'Timeout reached waiting for callback'
    assert not fleet[1].failed


def test_a_failure_ironic_never_explains_is_reported_after_the_grace_and_the_pipeline_holds_it_too(monkeypatch):
    fleet = results(1)
    clock = [0.0]
    list_nodes, calls = scripted_fleet({'u0': ['deploy failed']})
    wait_for(list_nodes, fleet, deploy_check, timeout=600, interval=1, clock=lambda: clock[0],
             sleep=lambda s: clock.__setitem__(0, clock[0] + s))
    assert fleet[0].failed and fleet[0].msg == 'ended in deploy failed' and fleet[0].last_error is None
    assert clock[0] == 10 and len(calls) == 11  # LAST_ERROR_GRACE, one list per cycle
    # a deadline that falls inside the grace reports the failure, not a timeout
    fleet = results(1)
    clock = [0.0]
    wait_for(scripted_fleet({'u0': ['deploy failed']})[0], fleet, deploy_check, timeout=3, interval=1,
             clock=lambda: clock[0], sleep=lambda s: clock.__setitem__(0, clock[0] + s))
    assert fleet[0].msg == 'ended in deploy failed'
    # the pipeline: the same hold, its reason read when it comes
    monkeypatch.setattr('ansible_collections.rackops.baremetal.plugins.module_utils._fleet.LAST_ERROR_GRACE', 5.0)
    fleet = results(1)
    list_nodes, calls = scripted_fleet({'u0': ['deploy failed', ('deploy failed', 'late reason')]})
    run_pipeline(fleet, lambda r: iter([('deploy', lambda r: deploy_check)]), list_nodes, concurrency=1, timeout=60,
                 interval=0.01)
    assert fleet[0].failed and fleet[0].last_error == 'late reason' and len(calls) == 2


def test_timeout_fails_only_the_slow_nodes():
    fleet = results(2)
    clock = [0.0]
    wait_for(lambda: [{'uuid': 'u0', 'provision_state': 'manageable'}, {'uuid': 'u1', 'provision_state': 'verifying'}],
             fleet, lambda r, n: 'done' if n['provision_state'] == 'manageable' else 'wait', timeout=10, interval=4,
             clock=lambda: clock[0], sleep=lambda s: clock.__setitem__(0, clock[0] + s))
    assert not fleet[0].failed
    assert fleet[1].failed and fleet[1].msg.startswith('timed out after 10 s')
    assert 'never reported back' not in fleet[1].msg


def test_a_timeout_waiting_for_the_agent_says_where_to_look():
    fleet = results(1)
    clock = [0.0]
    wait_for(lambda: [{'uuid': 'u0', 'provision_state': 'wait call-back', 'power_state': 'power on'}],
             fleet, lambda r, n: 'wait', timeout=10, interval=4,
             clock=lambda: clock[0], sleep=lambda s: clock.__setitem__(0, clock[0] + s))
    assert fleet[0].msg.startswith('timed out after 10 s waiting (provision state wait call-back, power power on)')
    assert 'never reported back' in fleet[0].msg and 'DHCP' in fleet[0].msg


def test_fail_on_policies():
    fleet = results(3)
    fleet[0].fail('x')
    assert summarize(fleet, 'any')[0] is True
    assert summarize(fleet, 'all') == (False, '1 of 3 nodes failed (fail_on=all)')
    assert summarize(fleet, 'never') == (False, '2 of 3 nodes ok')
    for r in fleet:
        r.fail('x')
    assert summarize(fleet, 'all')[0] is True


def test_fleet_task_matches_results_to_records_by_name_or_uuid():
    from ansible_collections.rackops.baremetal.plugins.module_utils._fleet_options import FleetTask

    class Module:  # what FleetTask reads of an IronicModule
        params = {'concurrency': 2}
        check_mode = False
        baremetal = None

    task = FleetTask(Module(), ['n1', 'u-2', 'gone', 'later'])
    records = [{'uuid': 'u-1', 'name': 'n1', 'provision_state': 'active'},
               {'uuid': 'u-2', 'name': None, 'provision_state': 'available'}]
    waived = []
    matched = task.match(records, 'not there', if_missing=lambda r: waived.append(r.name) if r.name == 'later'
                         else r.fail('not there'))
    assert sorted(matched) == ['n1', 'u-2'] and waived == ['later']
    by_name = {r.name: r for r in task.results}
    assert by_name['n1'].uuid == 'u-1' and by_name['u-2'].provision_state == 'available'
    assert by_name['gone'].failed and by_name['gone'].msg == 'not there' and not by_name['later'].failed
    task.timed('phase', lambda: None)
    assert task.timings['phase'] >= 0 and task.concurrency == 2


def test_pipeline_takes_each_node_on_without_waiting_for_the_others():
    fleet = results(3)
    events, lock = [], threading.Lock()
    # u0 is done at the first poll, u1 only at the fourth, u2 ends in a failure state
    list_nodes, polls = scripted_fleet({'u0': ['manageable'], 'u1': ['verifying'] * 3 + ['manageable'],
                                        'u2': ['verifying', ('enroll', 'no BMC')]})

    def note(what):
        def work(result):
            with lock:
                events.append((what, result.name, len(polls)))
        return work

    def steps(result):
        yield 'records', note('records')
        yield 'manage', lambda r: (note('manage')(r), manageable_check)[1]
        # decided only now: the node's state is what the wait left
        yield 'validate', note('validate %s' % result.provision_state)

    spans = run_pipeline(fleet, steps, list_nodes, concurrency=2, timeout=60, interval=0.01)
    assert [(r.failed, r.provision_state) for r in fleet] == [(False, 'manageable'), (False, 'manageable'),
                                                              (True, 'enroll')]
    assert fleet[2].msg == 'ended in enroll'
    # n0 was validated after the first poll, while n1 still waited
    assert ('validate manageable', 'n0', 1) in events and ('validate manageable', 'n1', 4) in events
    assert not [e for e in events if e[1] == 'n2' and e[0].startswith('validate')]
    assert len(polls) == 4
    assert sorted(spans) == ['manage', 'records', 'validate'] and all(v >= 0 for v in spans.values())


def test_pipeline_isolates_failures_and_bounds_concurrency():
    fleet = results(8)
    active, peak, lock, done = [0], [0], threading.Lock(), []

    def step(result):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        try:
            if result.name == 'n5':
                raise BaremetalError('create', 'boom', node=result.name, status_code=409)
        finally:
            with lock:
                active[0] -= 1

    def steps(result):
        yield 'create', step
        yield 'after', done.append

    run_pipeline(fleet, steps, lambda: [], concurrency=3, timeout=60, interval=0.01)
    assert [r.name for r in fleet if r.failed] == ['n5']
    assert fleet[5].msg == 'Failed to create node n5 (HTTP 409): boom'
    assert sorted(r.name for r in done) == ['n%d' % i for i in range(8) if i != 5]
    assert peak[0] <= 3


def test_pipeline_times_out_only_the_slow_node_and_raises_bugs():
    fleet = results(2)

    def steps(result):
        yield 'wait', lambda r: (lambda res, node: 'done' if node['provision_state'] == 'available' else 'wait')

    run_pipeline(fleet, steps, lambda: [{'uuid': 'u0', 'provision_state': 'available'},
                                        {'uuid': 'u1', 'provision_state': 'clean wait'}],
                 concurrency=2, timeout=0.05, interval=0.01)
    assert not fleet[0].failed
    assert fleet[1].failed and fleet[1].msg.startswith('timed out after 0 s waiting (provision state clean wait')
    assert 'never reported back' in fleet[1].msg
    # a node missing from the list fails; a bug in a step is raised
    gone = results(1)
    run_pipeline(gone, steps, lambda: [], concurrency=1, timeout=60, interval=0.01)
    assert gone[0].msg == 'node disappeared from Ironic while waiting'
    with pytest.raises(KeyError):
        run_pipeline(results(2), lambda r: iter([('bug', lambda res: {}['x'])]), lambda: [], concurrency=2,
                     timeout=1, interval=0.01)


@pytest.mark.parametrize('target, body, version', [
    ('active', {}, '1.1'),
    ('deleted', {}, '1.1'),
    ('manage', {}, '1.4'),
    ('provide', {}, '1.4'),
    ('inspect', {}, '1.6'),
    ('clean', {'clean_steps': []}, '1.15'),
    ('clean', {'clean_steps': [], 'disable_ramdisk': True}, '1.70'),
    ('active', {'configdrive': 'H4sI...'}, '1.1'),
    ('rebuild', {'configdrive': 'H4sI...'}, '1.35'),
    ('active', {'configdrive': {'meta_data': {}}}, '1.56'),
    ('active', {'configdrive': 'H4sI...', 'deploy_steps': []}, '1.69'),
])
def test_a_provision_request_asks_for_the_lowest_api_version_that_takes_it(target, body, version):
    from ansible_collections.rackops.baremetal.plugins.module_utils._fleet_options import provision_microversion
    assert provision_microversion(target, body) == version


def api_gone_after(first_answers):
    """A list_nodes that answers ``first_answers`` (lists of records), then raises as a client that gave up on
    an unreachable API does."""
    answers = list(first_answers)
    calls = []

    def list_nodes():
        calls.append(1)
        if answers:
            return answers.pop(0)
        raise BaremetalError('list nodes', 'Unable to establish connection (the API did not answer for 120 s)')
    return list_nodes, calls


def test_a_wait_that_loses_the_api_reports_every_node_where_it_was_last_seen():
    fleet = results(3)
    clock = [0.0]
    list_nodes, calls = api_gone_after([[
        {'uuid': 'u0', 'provision_state': 'manageable'}, {'uuid': 'u1', 'provision_state': 'wait call-back',
                                                          'power_state': 'power on'},
        {'uuid': 'u2', 'provision_state': 'deploying'}]])
    wait_for(list_nodes, fleet, lambda r, n: 'done' if n['provision_state'] == 'manageable' else 'wait',
             timeout=600, interval=1, clock=lambda: clock[0], sleep=lambda s: clock.__setitem__(0, clock[0] + s))
    assert len(calls) == 2
    assert not fleet[0].failed
    assert fleet[1].failed and fleet[1].msg.startswith('lost the Ironic API while waiting (Failed to list nodes: '
                                                       'Unable to establish connection')
    assert 'last seen in provision state wait call-back, power power on' in fleet[1].msg and 're-run' in fleet[1].msg
    assert fleet[2].failed and 'last seen in provision state deploying' in fleet[2].msg


def test_a_pipeline_that_loses_the_api_polls_no_more_and_reports_every_node():
    fleet = results(3)
    list_nodes, calls = api_gone_after([[{'uuid': 'u0', 'provision_state': 'manageable'},
                                         {'uuid': 'u1', 'provision_state': 'verifying'},
                                         {'uuid': 'u2', 'provision_state': 'verifying'}]])

    def steps(_result):
        yield 'manage', lambda r: manageable_check
        yield 'after', lambda r: None

    run_pipeline(fleet, steps, list_nodes, concurrency=1, timeout=60, interval=0.01)
    assert [r.failed for r in fleet] == [False, True, True]
    assert all('lost the Ironic API' in r.msg and 'verifying' in r.msg for r in fleet[1:])
    # once gone, gone: the nodes that were waiting are not polled for again, one by one
    assert len(calls) == 2


def test_a_slow_list_of_a_big_fleet_spaces_the_next_ones_out():
    # a list that takes 3 s (a big fleet on a busy API): the next comes 4 x 3 s later, not after the 1 s interval
    fleet = results(2)
    clock, pauses = [0.0], []

    def slow_list():
        clock[0] += 3.0
        return [{'uuid': 'u0', 'provision_state': 'verifying' if clock[0] < 20 else 'manageable'},
                {'uuid': 'u1', 'provision_state': 'manageable'}]

    def sleep(seconds):
        pauses.append(seconds)
        clock[0] += seconds

    wait_for(slow_list, fleet, manageable_check, timeout=600, interval=1, clock=lambda: clock[0], sleep=sleep)
    assert pauses == [12.0, 12.0] and not any(r.failed for r in fleet)
    assert poll_pause(1, 0.05) == 1 and poll_pause(2, 1.5) == 6.0
