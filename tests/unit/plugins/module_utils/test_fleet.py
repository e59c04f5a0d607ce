"""The fleet engine with fakes: isolation of failures, list-polling, timeouts, fail_on."""

from __future__ import annotations

import threading

import pytest

from ansible_collections.rackops.baremetal.plugins.module_utils._errors import BaremetalError
from ansible_collections.rackops.baremetal.plugins.module_utils._fleet import (
    NodeResult,
    run_phase,
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
    calls, clock = [], [0.0]
    states = {'u0': ['verifying', 'manageable'], 'u1': ['verifying', 'verifying', 'enroll'], 'u2': ['manageable']}

    def list_nodes():
        calls.append(1)
        cycle = len(calls) - 1
        return [{'uuid': u, 'provision_state': s[min(cycle, len(s) - 1)]} for u, s in states.items()]

    def check(result, node):
        return {'manageable': 'done', 'verifying': 'wait'}.get(node['provision_state'], 'ended in enroll')

    wait_for(list_nodes, fleet, check, timeout=60, interval=1, clock=lambda: clock[0],
             sleep=lambda s: clock.__setitem__(0, clock[0] + s))
    assert len(calls) == 3
    assert [(r.failed, r.provision_state) for r in fleet] == [(False, 'manageable'), (True, 'enroll'),
                                                              (False, 'manageable')]
    assert fleet[1].msg == 'ended in enroll'


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
