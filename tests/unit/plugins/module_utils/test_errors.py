"""The retry policy and error translation, with fake exceptions (pure logic)."""

from __future__ import annotations

import pytest

from ansible_collections.rackops.baremetal.plugins.module_utils._errors import (
    BaremetalError,
    call_with_retries,
    message_of,
    retry_delay,
    status_code_of,
)


class FakeHttpError(Exception):
    def __init__(self, status_code, details=None):
        super().__init__('HTTP %s: http://ironic/v1/nodes/x' % status_code)
        self.status_code = status_code
        self.details = details


def flaky(failures):
    """A callable that raises each exception of ``failures`` once, then returns 'done'."""
    pending = list(failures)
    calls = []

    def call():
        calls.append(1)
        if pending:
            raise pending.pop(0)
        return 'done'
    call.calls = calls
    return call


def test_conflicts_and_busy_are_retried_and_recorded():
    sleeps, log = [], []
    fn = flaky([FakeHttpError(409, 'Node n1 is locked by host c1'), FakeHttpError(503, 'busy')])
    assert call_with_retries(fn, 'power on', node='n1', retry_log=log, sleep=sleeps.append) == 'done'
    assert sleeps == [0.5, 1.0]
    assert [(r['status_code'], r['attempt'], r['node']) for r in log] == [(409, 1, 'n1'), (503, 2, 'n1')]
    assert log[0]['msg'] == 'Node n1 is locked by host c1'


def test_conflicts_that_waiting_cannot_solve_fail_at_once():
    fn = flaky([FakeHttpError(409, 'A port with MAC address 52:54:00:00:00:01 already exists.')])
    with pytest.raises(BaremetalError) as caught:
        call_with_retries(fn, 'add port to', node='n1', sleep=lambda s: None)
    assert len(fn.calls) == 1
    assert 'gave up' not in str(caught.value)


def test_retries_are_bounded_and_the_error_says_so():
    fn = flaky([FakeHttpError(409, 'Node n1 is locked by host c1')] * 10)
    with pytest.raises(BaremetalError) as caught:
        call_with_retries(fn, 'update', node='n1', retries=3, sleep=lambda s: None)
    assert len(fn.calls) == 4
    assert caught.value.status_code == 409
    assert 'gave up after 3 retries' in str(caught.value)


def test_other_http_errors_fail_at_once_naming_operation_and_node():
    fn = flaky([FakeHttpError(400, 'Invalid driver_info')])
    with pytest.raises(BaremetalError) as caught:
        call_with_retries(fn, 'enroll', node='rack1-u12', sleep=lambda s: None)
    assert len(fn.calls) == 1
    assert str(caught.value) == 'Failed to enroll node rack1-u12 (HTTP 400): Invalid driver_info'


def test_last_error_is_appended():
    err = BaremetalError('deploy', 'Node failed', node='n1', status_code=None, last_error='Timeout reached')
    assert err.describe() == "Failed to deploy node n1: Node failed. Ironic's last_error: Timeout reached"
    assert err.as_result()['last_error'] == 'Timeout reached'


def test_non_sdk_exceptions_propagate_untouched():
    fn = flaky([KeyError('bug')])
    with pytest.raises(KeyError):
        call_with_retries(fn, 'read', is_sdk_error=lambda e: isinstance(e, FakeHttpError))


def test_back_off_is_capped():
    assert [retry_delay(a) for a in range(7)] == [0.5, 1, 2, 4, 8, 8, 8]


def test_status_and_message_extraction():
    class WithResponse(Exception):
        response = type('R', (), {'status_code': 502})()
    assert status_code_of(WithResponse()) == 502
    assert status_code_of(ValueError()) is None
    assert message_of(FakeHttpError(404)) == 'HTTP 404: http://ironic/v1/nodes/x'
    assert message_of(RuntimeError()) == 'RuntimeError'


class FakeConnectFailure(Exception):
    """Like keystoneauth's ConnectFailure: no HTTP status, the API never reached."""


def outage_call(failures, outage, clock):
    sleeps, log = [], []

    def sleep(seconds):
        sleeps.append(seconds)
        clock[0] += seconds
    call = flaky(failures)
    return call, sleeps, log, lambda: call_with_retries(
        call, 'list nodes', retries=5, retry_log=log, sleep=sleep, is_sdk_error=lambda e: True,
        is_outage=lambda e: isinstance(e, FakeConnectFailure), outage=outage, clock=lambda: clock[0])


def test_an_unreachable_api_is_ridden_out_within_the_outage_window():
    clock = [0.0]
    call, sleeps, log, run = outage_call([FakeConnectFailure('Unable to establish connection')] * 4, 120, clock)
    assert run() == 'done'
    assert len(call.calls) == 5 and sleeps == [0.5, 1.0, 2.0, 4.0]
    assert [entry['status_code'] for entry in log] == [None] * 4 and 'Unable to establish' in log[0]['msg']


def test_an_api_gone_longer_than_the_window_fails_saying_for_how_long():
    clock = [0.0]
    _call, sleeps, _log, run = outage_call([FakeConnectFailure('Unable to establish connection')] * 100, 30, clock)
    with pytest.raises(BaremetalError) as caught:
        run()
    assert 'Unable to establish connection (the API did not answer for 30 s)' in str(caught.value)
    # the last pause ends at the window, not beyond it
    assert sum(sleeps) == pytest.approx(30)


def test_no_outage_window_fails_at_once():
    clock = [0.0]
    call, sleeps, _log, run = outage_call([FakeConnectFailure('Unable to establish connection')], 0, clock)
    with pytest.raises(BaremetalError):
        run()
    assert len(call.calls) == 1 and sleeps == []
