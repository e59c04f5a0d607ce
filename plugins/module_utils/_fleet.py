# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet engine: many nodes per task, bounded concurrency, one list per wait cycle.

Private to rackops.baremetal (the leading underscore).

A state-changing module runs its work in phases over the whole fleet (write
the records, ask for a transition, wait, ...). Within a phase, nodes are
handled by a bounded thread pool; one node's failure is recorded in its own
result and removes it from later phases, never stops the others. Waiting is
one ``GET /v1/nodes`` per cycle for the whole fleet, not one GET per node.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.rackops.baremetal.plugins.module_utils._errors import BaremetalError

# What one list call per wait cycle asks for: enough to decide done/failed.
WAIT_FIELDS = ['uuid', 'name', 'provision_state', 'target_provision_state', 'power_state',
               'target_power_state', 'reservation', 'last_error', 'maintenance']
FAIL_ON = ('any', 'all', 'never')


def field_getter(node):
    """``get(key)`` for a node record, whether a dict or an openstacksdk resource."""
    if isinstance(node, dict):
        return node.get
    return lambda key: getattr(node, key, None)


# Where Ironic waits for the deploy ramdisk to call back.
AGENT_WAIT_STATES = ('inspect wait', 'clean wait', 'wait call-back', 'rescue wait')


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

    def did(self, action):
        """Record a change (or, in check mode, a change that would be made)."""
        self.changed = True
        self.actions.append(action)

    def stop_clock(self):
        """The node reached its end (done or failed): its elapsed time stops here."""
        if self._stopped is None:
            self._stopped = time.monotonic()

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
        by_uuid = {}
        for node in list_nodes():
            get = field_getter(node)
            by_uuid[get('id') or get('uuid')] = node
        for uuid, result in list(waiting.items()):
            node = by_uuid.get(uuid)
            if node is None:
                result.fail('node disappeared from Ironic while waiting')
                del waiting[uuid]
                continue
            result.observe(node)
            verdict = check(result, node)
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
                hint = ''
                if result.provision_state in AGENT_WAIT_STATES:
                    hint = ('; its deploy ramdisk never reported back: check that the machine network-booted'
                            ' (its console, the DHCP/TFTP log) and reaches the Ironic API')
                result.fail('timed out after %d s waiting (provision state %s, power %s)%s'
                            % (timeout, result.provision_state, result.power_state, hint))
            break
        sleep(interval)


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
