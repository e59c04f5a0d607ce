"""Pure logic of the direct BMC layer: the bounded runner's hard timeout, plans, health."""

from __future__ import annotations

import threading
import time

from ansible_collections.rackops.baremetal.plugins.module_utils._bmc import (
    BmcError, BmcResult, health_summary, plan_boot, plan_power, run_bounded, wait_power)
from ansible_collections.rackops.baremetal.plugins.module_utils._bmc_ipmi import (
    _classify, _firmware_revision, _late_login_error)
from pyghmi.exceptions import IpmiException


def results(n):
    return [BmcResult({'name': 'b%d' % i, 'driver': 'ipmi', 'address': '192.0.2.%d' % i}) for i in range(n)]


def test_a_hung_bmc_is_abandoned_at_its_deadline_and_does_not_hold_the_others():
    hang = threading.Event()
    items = results(6)

    def work(result, deadline):
        if result.name == 'b0':
            hang.wait(30)  # a BMC that never answers
            result.did('late write')  # must not show up: the result is closed
        result.set(power_state='on')

    started = time.monotonic()
    run_bounded(items, work, concurrency=2, timeout=0.5)
    took = time.monotonic() - started
    hang.set()
    out = {r.name: r.as_dict() for r in items}
    assert out['b0']['failed'] and out['b0']['problem'] == 'timeout' and out['b0']['elapsed'] < 1.0
    assert not any(out['b%d' % i]['failed'] for i in range(1, 6))
    assert took < 1.5  # b0's slot was freed; the 5 others did not wait for it
    time.sleep(0.05)
    assert items[0].as_dict()['actions'] == []


def test_errors_stay_with_their_bmc_and_concurrency_is_bounded():
    active, peak, lock = [0], [0], threading.Lock()

    def work(result, deadline):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.02)
        with lock:
            active[0] -= 1
        if result.name == 'b3':
            raise BmcError('BMC refused the credentials', 'auth')
        if result.name == 'b4':
            raise KeyError('bug')

    items = results(10)
    run_bounded(items, work, concurrency=3, timeout=5)
    out = {r.name: r.as_dict() for r in items}
    assert peak[0] <= 3
    assert out['b3']['problem'] == 'auth' and out['b4']['msg'] == "KeyError: 'bug'"
    assert [r['failed'] for r in out.values()].count(True) == 2


def test_power_plans():
    assert plan_power('on', 'on') == (False, 'on')
    assert plan_power('on', 'off') == (True, 'off')
    assert plan_power('off', 'soft') == (False, 'off')
    assert plan_power('on', 'reset') == (True, 'on')
    assert plan_power('off', 'cycle') == (True, 'on')


def test_boot_plans():
    current = {'device': 'pxe', 'persistent': True, 'mode': 'uefi'}
    assert not plan_boot(current, 'pxe', True, None)
    assert not plan_boot(current, 'pxe', True, 'uefi')
    assert plan_boot(current, 'pxe', True, 'bios')
    assert plan_boot(current, 'pxe', False, None)
    assert plan_boot(current, 'disk', True, None)
    assert plan_boot({'device': None, 'persistent': False, 'mode': None}, 'pxe', False, 'uefi')


def test_wait_power_polls_until_the_state_or_the_deadline():
    class Client:
        def __init__(self, states):
            self.states = list(states)

        def power_state(self):
            return self.states.pop(0) if len(self.states) > 1 else self.states[0]

    now = [0.0]
    assert wait_power(Client(['off', 'off', 'on']), 'on', deadline=10, clock=lambda: now[0],
                      sleep=lambda s: now.__setitem__(0, now[0] + s)) == 'on'
    try:
        wait_power(Client(['off']), 'on', deadline=2, clock=lambda: now[0],
                   sleep=lambda s: now.__setitem__(0, now[0] + s))
    except BmcError as exc:
        assert exc.kind == 'timeout' and 'still off' in str(exc)
    else:
        raise AssertionError('no timeout')


def test_health_is_the_worst_reading():
    assert health_summary([]) == 'ok'
    assert health_summary([{'health': 'ok'}, {'health': 'warning'}]) == 'warning'
    assert health_summary([{'health': 'critical'}, {'health': 'warning'}, {'health': 'ok'}]) == 'critical'


def test_ipmi_errors_are_sorted_into_kinds():
    assert _classify(Exception(None)).kind == 'unreachable'
    assert _classify(Exception('timeout')).kind == 'unreachable'
    assert _classify(Exception('Incorrect password provided')).kind == 'auth'
    assert _classify(Exception('Unauthorized name')).kind == 'auth'
    assert _classify(Exception('Node busy')).kind == 'error'


def test_firmware_revision_keeps_the_bcd_zero():
    assert _firmware_revision([0x20, 0x81, 3, 0x07, 2]) == '3.07'
    assert _firmware_revision([0x20, 0x81, 1, 0x23, 2]) == '1.23'
    assert _firmware_revision([]) is None


class _RacingSession:
    """pyghmi's Session as it races itself: broken, its reason stored a moment later."""

    def __init__(self, reason_later):
        self.logonwaiters = []
        threading.Timer(0.05, setattr, (self, 'errormsg', reason_later)).start()
        raise IpmiException(self.errormsg)  # AttributeError: not stored yet


def test_a_login_reason_pyghmi_stores_late_is_still_read():
    late = None
    try:
        _RacingSession('Incorrect password provided')
    except AttributeError as exc:
        late = _late_login_error(exc)
    assert _classify(late).kind == 'auth'
    # any other AttributeError is not taken for it
    try:
        None.errormsg_like  # noqa: B018  pylint: disable=pointless-statement
    except AttributeError as exc:
        assert _late_login_error(exc) is None
    try:
        raise AttributeError("'Thing' object has no attribute 'errormsg'")
    except AttributeError as exc:
        assert _late_login_error(exc) is None  # no session in the traceback
