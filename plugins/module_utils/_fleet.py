# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet engine: many nodes per task, bounded concurrency, one list per wait cycle.

Private to rackops.baremetal (the leading underscore).

A state-changing module runs its work in phases over the whole fleet (write
the records, ask for a transition, wait, ...). Within a phase, nodes are
handled by a bounded thread pool; one node's failure is recorded in its own
result and removes it from later phases, never stops the others. Waiting is
one ``GET /v1/nodes`` per cycle for the whole fleet, not one GET per node.

``run_pipeline`` does the same without the barriers between phases: each
node goes on to its next step as soon as it is done with one.
"""

from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures

from ansible_collections.rackops.baremetal.plugins.module_utils._errors import BaremetalError
from ansible_collections.rackops.baremetal.plugins.module_utils._states import AGENT_WAIT_STATES, FAILED_STATES

# What one list call per wait cycle asks for: enough to decide done/failed.
WAIT_FIELDS = ['uuid', 'name', 'provision_state', 'target_provision_state', 'power_state',
               'target_power_state', 'reservation', 'last_error', 'maintenance']
FAIL_ON = ('any', 'all', 'never')
# What a task's first read adds to decide about a node in maintenance (who set it, and why).
MAINTENANCE_FIELDS = ['fault', 'maintenance_reason']
# Ironic may save a failed state before the error that explains it: a call-back timeout moves the
# node to `deploy failed` first and a worker writes last_error a moment later. A node seen failed
# with no last_error yet is looked at again for this long before it is reported without one.
LAST_ERROR_GRACE = 10.0
# A list of the whole fleet costs the API more the more nodes it has (about 2 s for 5,000 on a busy 2-core
# site, benchmarks/site_scale.py): the next cycle's list comes at least this many times its own duration later,
# so the lists of a wait take at most a fifth of the API's time however big the fleet.
POLL_SPACING = 4


def poll_pause(interval, poll_seconds):
    """Seconds from the end of one list-poll to the next: the wait interval, longer after a slow list."""
    return max(interval, POLL_SPACING * poll_seconds)


def field_getter(node):
    """``get(key)`` for a node record, whether a dict or an openstacksdk resource."""
    if isinstance(node, dict):
        return node.get
    return lambda key: getattr(node, key, None)


def maintenance_of(node):
    """(in maintenance?, fault, reason) of a node record, whether the API's dict (``maintenance``) or an
    openstacksdk resource (``is_maintenance``; a resource is a dict too, keyed by its own names)."""
    get = field_getter(node)
    flag = get('is_maintenance')
    return bool(get('maintenance') if flag is None else flag), get('fault'), get('maintenance_reason')


class NodeResult:
    """What happened to one node; becomes one entry of the module's ``nodes``."""

    def __init__(self, name):
        self.name = name
        self.uuid = None
        self.changed = False
        self.failed = False
        self.msg = ''
        self.last_error = None
        self.provision_state = None
        self.power_state = None
        self.actions = []
        self.extra = {}
        self._started = time.monotonic()
        self._stopped = None
        self._unexplained = None  # (first seen, verdict): failed, and Ironic has not said why yet

    def did(self, action):
        """Record a change (or, in check mode, a change that would be made)."""
        self.changed = True
        self.actions.append(action)

    def stop_clock(self):
        """The node reached its end (done or failed): its elapsed time stops here."""
        if self._stopped is None:
            self._stopped = time.monotonic()

    def resume_clock(self):
        """The node goes on after a wait that ended it for a while (its elapsed time runs again)."""
        if not self.failed:
            self._stopped = None

    def fail(self, msg, last_error=None):
        self.stop_clock()
        self.failed = True
        self.msg = msg
        if last_error:
            self.last_error = last_error

    def observe(self, node):
        """Take the states from an Ironic node record (SDK resource or dict)."""
        get = field_getter(node)
        self.uuid = get('id') or get('uuid') or self.uuid
        self.provision_state = get('provision_state')
        self.power_state = get('power_state')
        # The node's own last_error, now: a success clears an older one; a
        # failure recorded by this task keeps its reason.
        if get('last_error') or not self.failed:
            self.last_error = get('last_error')

    def settle(self, node, verdict, now):
        """The verdict to act on now: a failure Ironic has not explained yet waits for its
        last_error up to LAST_ERROR_GRACE (see there)."""
        get = field_getter(node)
        if verdict in ('done', 'wait') or get('last_error') or get('provision_state') not in FAILED_STATES:
            self._unexplained = None
            return verdict
        if self._unexplained is None:
            self._unexplained = (now, verdict)
        return 'wait' if now - self._unexplained[0] < LAST_ERROR_GRACE else verdict

    def held_verdict(self):
        """The failure being held for its explanation, if any."""
        return self._unexplained[1] if self._unexplained else None

    def as_dict(self):
        self.stop_clock()
        out = dict(name=self.name, uuid=self.uuid, changed=self.changed, failed=self.failed,
                   msg=self.msg or ('; '.join(self.actions) if self.actions else 'ok'),
                   last_error=self.last_error, provision_state=self.provision_state,
                   power_state=self.power_state, elapsed=round(self._stopped - self._started, 2),
                   actions=self.actions)
        out.update(self.extra)
        return out


def run_phase(results, work, concurrency):
    """Run ``work(result)`` for every result not failed yet, ``concurrency`` at a time.

    A BaremetalError fails that node only; anything else is a bug and is raised.
    """
    pending = [r for r in results if not r.failed]
    if not pending:
        return

    def one(result):
        try:
            work(result)
        except BaremetalError as exc:
            # last_error has its own field in the node's result
            result.fail(exc.describe(with_last_error=False), exc.last_error)

    if concurrency <= 1 or len(pending) == 1:
        for result in pending:
            one(result)
        return
    with ThreadPoolExecutor(max_workers=min(concurrency, len(pending))) as pool:
        for future in [pool.submit(one, r) for r in pending]:
            future.result()


def wait_for(list_nodes, results, check, timeout, interval=1.0, progress=None,
             clock=time.monotonic, sleep=time.sleep):
    """Wait until ``check`` settles every result, with one list call per cycle.

    ``list_nodes()`` returns the fleet's node records (dicts or SDK nodes).
    ``check(result, node)`` returns 'done', 'wait' or an error message.
    Nodes still waiting at ``timeout`` fail with a timeout message.
    """
    waiting = {r.uuid: r for r in results if not r.failed and r.uuid}
    deadline = clock() + timeout
    while waiting:
        listed = clock()
        try:
            by_uuid = _by_uuid(list_nodes())
        except BaremetalError as exc:  # the API gone for longer than the client rides out
            for result in waiting.values():
                _lose_sight(result, exc)
            break
        pause = poll_pause(interval, clock() - listed)
        for uuid, result in list(waiting.items()):
            node = by_uuid.get(uuid)
            if node is None:
                result.fail('node disappeared from Ironic while waiting')
                del waiting[uuid]
                continue
            result.observe(node)
            verdict = result.settle(node, check(result, node), clock())
            if verdict == 'done':
                result.stop_clock()
                del waiting[uuid]
            elif verdict != 'wait':
                result.fail(verdict)
                del waiting[uuid]
        if progress is not None:
            progress(waiting)
        if not waiting:
            break
        if clock() >= deadline:
            for result in waiting.values():
                _time_out(result, timeout)
            break
        sleep(pause)


def _by_uuid(nodes):
    """{uuid: record} for node records (dicts or SDK nodes)."""
    by_uuid = {}
    for node in nodes:
        get = field_getter(node)
        by_uuid[get('id') or get('uuid')] = node
    return by_uuid


def _lose_sight(result, exc):
    """The node's last known state, now that the API no longer answers: a re-run takes it from there."""
    result.fail('lost the Ironic API while waiting (%s); last seen in provision state %s, power %s: '
                'Ironic goes on without this run, re-run to take the node from where it is'
                % (exc.describe(with_last_error=False), result.provision_state, result.power_state))


def _time_out(result, timeout):
    if result.held_verdict():  # it failed, and the wait for Ironic's reason ran into the deadline
        result.fail(result.held_verdict())
        return
    hint = ''
    if result.provision_state in AGENT_WAIT_STATES:
        hint = ('; its deploy ramdisk never reported back: check that the machine network-booted'
                ' (its console, the DHCP/TFTP log) and reaches the Ironic API')
    result.fail('timed out after %d s waiting (provision state %s, power %s)%s'
                % (timeout, result.provision_state, result.power_state, hint))


def run_pipeline(results, steps, list_nodes, concurrency, timeout, interval=1.0):
    """Take every result not failed yet through its own ``steps``, each node at its own pace.

    ``steps(result)`` yields ``(name, work)`` pairs; it is a generator, so a
    later step may depend on what an earlier one found. ``work(result)``
    runs in a pool of ``concurrency`` threads and returns None when its
    step is done, or ``check(result, node)`` (as for ``wait_for``) when
    the node must now reach a state. Waiting nodes are decided by one
    ``list_nodes()`` per cycle for the whole fleet, and each goes on to
    its next step as soon as its check says 'done'.

    Why not phases: a phase waits for its slowest node before the next
    one starts, so Ironic's conductor idles while its API takes the last
    requests of a phase, and the API idles while the conductor finishes
    the last transitions. Here the first nodes are being cleaned while
    the last are still being created.

    A BaremetalError fails that node only; a node that waits longer than
    ``timeout`` for one step fails with a timeout message. Returns
    {step name: seconds from its first start to its last end}: the
    steps overlap, so these add up to more than the wall time.
    """
    sequences = {id(r): steps(r) for r in results if not r.failed}
    if not sequences:
        return {}
    spans = {}  # step name -> [first start, last end]
    current = {}  # id(result) -> the name of the step it is in
    running = {}  # future -> result
    waiting = {}  # uuid -> (result, check, deadline)

    def work_step(result, work):
        try:
            return work(result)
        except BaremetalError as exc:
            result.fail(exc.describe(with_last_error=False), exc.last_error)
            return None

    def end_step(result):
        name = current.pop(id(result), None)
        if name is not None:
            spans[name][1] = time.monotonic()

    def advance(result, pool):
        end_step(result)
        step = None if result.failed else next(sequences[id(result)], None)
        if step is None:
            result.stop_clock()
            return
        name, work = step
        current[id(result)] = name
        spans.setdefault(name, [time.monotonic(), None])
        running[pool.submit(work_step, result, work)] = result

    lost = []  # the API's error, once it is gone for longer than the client rides out

    def poll(pool):
        """One list of the fleet decides the waiting nodes; returns how long the list took."""
        listed = time.monotonic()
        if not lost:
            try:
                by_uuid = _by_uuid(list_nodes())
            except BaremetalError as exc:
                lost.append(exc)
        took = time.monotonic() - listed
        if lost:
            for uuid, (result, _check, _deadline) in list(waiting.items()):
                del waiting[uuid]
                _lose_sight(result, lost[0])
                advance(result, pool)
            return took
        now = time.monotonic()
        for uuid, (result, check, deadline) in list(waiting.items()):
            node = by_uuid.get(uuid)
            verdict = 'node disappeared from Ironic while waiting'
            if node is not None:
                result.observe(node)
                verdict = result.settle(node, check(result, node), now)
            if verdict == 'wait' and now < deadline:
                continue
            del waiting[uuid]
            if verdict == 'wait':
                _time_out(result, timeout)
            elif verdict != 'done':
                result.fail(verdict)
            advance(result, pool)
        return took

    workers = max(1, min(concurrency, len(sequences)))
    next_poll = None
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for result in results:
            if id(result) in sequences:
                advance(result, pool)
        while running or waiting:
            if running:
                pause = None if next_poll is None else max(0.0, next_poll - time.monotonic())
                finished = wait_futures(list(running), timeout=pause, return_when=FIRST_COMPLETED).done
                for future in finished:
                    result = running.pop(future)
                    check = future.result()  # anything but a BaremetalError is a bug: raised here
                    if check is None or result.failed:
                        advance(result, pool)
                    else:
                        waiting[result.uuid] = (result, check, time.monotonic() + timeout)
                        if next_poll is None:
                            # a request just accepted has not ended yet: look after one interval
                            next_poll = time.monotonic() + interval
            elif next_poll is not None:
                time.sleep(max(0.0, next_poll - time.monotonic()))
            if waiting and next_poll is not None and time.monotonic() >= next_poll:
                took = poll(pool)
                next_poll = time.monotonic() + poll_pause(interval, took) if waiting else None
    return {name: round(end - start, 2) for name, (start, end) in spans.items() if end is not None}


def summarize(results, fail_on, noun='nodes'):
    """(failed?, message) for the whole task under the ``fail_on`` policy."""
    failed = [r for r in results if r.failed]
    total = len(results)
    if fail_on == 'never' or not failed:
        return False, '%d of %d %s ok' % (total - len(failed), total, noun)
    if fail_on == 'all' and len(failed) < total:
        return False, '%d of %d %s failed (fail_on=all)' % (len(failed), total, noun)
    names = ', '.join('%s (%s)' % (r.name, r.msg) for r in failed[:10])
    more = ' and %d more' % (len(failed) - 10) if len(failed) > 10 else ''
    return True, '%d of %d %s failed: %s%s' % (len(failed), total, noun, names, more)
