# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Talking to many BMCs directly, without Ironic: the base of the ``bmc`` module.

Private to rackops.baremetal (the leading underscore).

Every BMC gets its own worker thread, at most ``concurrency`` at a time, and a
hard deadline: a BMC still busy at its deadline is reported as timed out and
its slot goes to the next one, whatever its client library is doing. The
drivers (``_bmc_ipmi``, ``_bmc_redfish``) offer one interface; the operations
here (check, facts, power, boot device) are written once against it.
"""

from __future__ import annotations

import queue
import threading
import time

# One BMC as the module takes it: the inventory's `bmc` keys plus a name.
BMC_OPTIONS = dict(
    name=dict(type='str', required=True),
    driver=dict(type='str', choices=['ipmi', 'redfish'], default='ipmi'),
    address=dict(type='str', required=True),
    port=dict(type='int'),
    username=dict(type='str'),
    password=dict(type='str', no_log=True),
    priv_level=dict(type='str', choices=['administrator', 'operator', 'user', 'callback'], default='administrator'),
    system_id=dict(type='str'),
    verify_ca=dict(type='raw'),
)

POWER_STATES = ('on', 'off', 'soft', 'reset', 'cycle')
BOOT_DEVICES = ('pxe', 'disk', 'cdrom', 'bios')
# power option -> (power state once done, whether it acts even when already there)
POWER_TARGETS = {'on': ('on', False), 'off': ('off', False), 'soft': ('off', False),
                 'reset': ('on', True), 'cycle': ('on', True)}


class BmcError(Exception):
    """A BMC said no or did not answer. ``kind``: unreachable, auth, unsupported or error."""

    def __init__(self, msg, kind='error'):
        super().__init__(msg)
        self.kind = kind


class BmcResult:
    """What happened to one BMC. Once closed (done or timed out), it no longer changes,
    so an abandoned worker finishing late cannot rewrite a reported result."""

    def __init__(self, bmc):
        self.name = bmc['name']
        self.driver = bmc['driver']
        self.address = bmc['address']
        self.changed = False
        self.failed = False
        self.problem = None
        self.msg = ''
        self.actions = []
        self.data = {}
        self.before = {}
        self.after = {}
        self._lock = threading.Lock()
        self._closed = False
        self._started = None
        self._elapsed = 0.0

    def start(self, clock):
        self._started = clock()

    def did(self, action):
        with self._lock:
            if not self._closed:
                self.changed = True
                self.actions.append(action)

    def set(self, **data):
        with self._lock:
            if not self._closed:
                self.data.update(data)

    def fail(self, msg, problem='error'):
        with self._lock:
            if not self._closed:
                self.failed = True
                self.problem = problem
                self.msg = msg

    def close(self, clock):
        with self._lock:
            if not self._closed:
                self._closed = True
                self._elapsed = clock() - self._started if self._started is not None else 0.0

    def as_dict(self):
        out = dict(name=self.name, driver=self.driver, address=self.address, changed=self.changed,
                   failed=self.failed, problem=self.problem,
                   msg=self.msg or ('; '.join(self.actions) if self.actions else 'ok'),
                   actions=list(self.actions), elapsed=round(self._elapsed, 2))
        out.update(self.data)
        return out


def run_bounded(results, work, concurrency, timeout, clock=time.monotonic):
    """Run ``work(result, deadline)`` for every result, ``concurrency`` at a time.

    Each result gets ``timeout`` seconds from its start; one still running then
    is failed as timed out and its worker abandoned (a daemon thread: it cannot
    keep the module from exiting). A BmcError fails that result only; anything
    else is a bug, recorded on the result with its type so it is not lost.
    """
    finished = queue.Queue()
    pending = list(results)
    running = {}  # id(result) -> (result, deadline)

    def worker(result, deadline):
        try:
            work(result, deadline)
        except BmcError as exc:
            result.fail(str(exc), exc.kind)
        except Exception as exc:  # pylint: disable=broad-except
            result.fail('%s: %s' % (type(exc).__name__, exc), 'error')
        finished.put(id(result))

    while pending or running:
        while pending and len(running) < max(1, concurrency):
            result = pending.pop(0)
            result.start(clock)
            deadline = clock() + timeout
            running[id(result)] = (result, deadline)
            threading.Thread(target=worker, args=(result, deadline), daemon=True).start()
        next_deadline = min(entry[1] for entry in running.values())
        try:
            key = finished.get(timeout=max(0.0, next_deadline - clock()))
        except queue.Empty:
            key = None
        if key in running:
            running.pop(key)[0].close(clock)
        now = clock()
        for key, (result, deadline) in list(running.items()):
            if now >= deadline:
                result.fail('timed out after %g s' % timeout, 'timeout')
                result.close(clock)
                del running[key]


def remaining(deadline, clock=time.monotonic):
    return max(0.0, deadline - clock())


def wait_power(client, target, deadline, interval=0.5, clock=time.monotonic, sleep=time.sleep):
    """Poll the BMC until it reports ``target`` ('on'/'off'); the state seen last."""
    state = client.power_state()
    while state != target:
        if clock() + interval >= deadline:
            raise BmcError('power state is still %s, not %s, at the deadline' % (state, target), 'timeout')
        sleep(interval)
        state = client.power_state()
    return state


def plan_power(current, wanted):
    """(acts?, state once done) for power option ``wanted`` when the BMC reports ``current``."""
    target, always = POWER_TARGETS[wanted]
    if always:
        return True, target
    return current != target, target


def plan_boot(current, device, persistent, mode):
    """Whether the boot override differs from what is asked (mode only when asked)."""
    if current.get('device') != device or bool(current.get('persistent')) != bool(persistent):
        return True
    return mode is not None and current.get('mode') not in (None, mode)


def health_summary(sensors):
    """Overall health from sensor readings: the worst of ok < warning < critical < failed."""
    order = ('ok', 'warning', 'critical', 'failed')
    worst = 'ok'
    for sensor in sensors:
        if order.index(sensor.get('health', 'ok')) > order.index(worst):
            worst = sensor['health']
    return worst
