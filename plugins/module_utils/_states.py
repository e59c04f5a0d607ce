# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ironic's provision state machine as the modules use it: one table, pure data.

Private to rackops.baremetal (the leading underscore).

Every module plans and waits from here: which states a verb is asked from, which
states the node passes through while it runs, which state means it is done and
which mean it failed, and the lowest API microversion that has the verb. The
names are those the API shows (ironic/common/states.py) and the verbs are the
``target`` values of ``PUT /v1/nodes/{node}/states/provision``.
"""

from __future__ import annotations

from collections import namedtuple

Verb = namedtuple('Verb', ['target', 'starts_from', 'transitional', 'done', 'failed', 'microversion'])
Verb.__doc__ = """One provision verb.

target        what the request says (``active`` deploys, ``deleted`` undeploys)
starts_from   the states the modules ask for it from (Ironic may take it from more)
transitional  the states the node passes through while it runs
done          the state that means it is done (None: it depends, as for abort)
failed        the states that mean it failed (the transition ended there)
microversion  the lowest API minor version (1.x) that has the verb
"""

VERBS = {verb.target: verb for verb in (
    # enroll -> verifying -> manageable; failed verification goes back to enroll
    Verb('manage', ('enroll', 'available', 'clean failed', 'inspect failed', 'adopt failed'),
         ('verifying',), 'manageable', ('enroll',), 4),
    Verb('provide', ('manageable',), ('cleaning', 'clean wait'), 'available', ('clean failed',), 4),
    Verb('inspect', ('manageable', 'inspect failed'), ('inspecting', 'inspect wait'), 'manageable',
         ('inspect failed',), 6),
    Verb('clean', ('manageable',), ('cleaning', 'clean wait'), 'manageable', ('clean failed',), 15),
    Verb('active', ('available', 'deploy failed'), ('deploying', 'wait call-back'), 'active',
         ('deploy failed', 'error'), 1),
    Verb('rebuild', ('active', 'deploy failed', 'error'), ('deploying', 'wait call-back'), 'active',
         ('deploy failed', 'error'), 1),
    # undeploy: deleting, then automated cleaning, then available
    Verb('deleted', ('active', 'deploy failed', 'error', 'rescue', 'rescue failed'),
         ('deleting', 'cleaning', 'clean wait'), 'available', ('clean failed', 'error'), 1),
    Verb('adopt', ('manageable', 'adopt failed'), ('adopting',), 'active', ('adopt failed',), 17),
    Verb('rescue', ('active', 'rescue', 'rescue failed', 'unrescue failed'), ('rescuing', 'rescue wait'), 'rescue',
         ('rescue failed',), 38),
    Verb('unrescue', ('rescue', 'rescue failed', 'unrescue failed'), ('unrescuing',), 'active',
         ('unrescue failed',), 38),
    Verb('service', ('active', 'service failed'), ('servicing', 'service wait'), 'active', ('service failed',), 87),
    # where an abort ends depends on what it stopped (clean wait -> clean failed, ...)
    Verb('abort', ('clean wait', 'inspect wait', 'rescue wait', 'wait call-back', 'service wait'), (), None, (), 13),
)}

# A transition is under way (someone else's, or an earlier run's): no verb is asked of the node now.
BUSY = tuple(sorted({state for verb in VERBS.values() for state in verb.transitional}))

# The states a verb can fail into ('enroll' is also where nodes start: only a check's failure verdict reads it so).
FAILED_STATES = tuple(sorted({state for verb in VERBS.values() for state in verb.failed}))

# Where Ironic waits for the deploy ramdisk (the agent) to call back.
AGENT_WAIT_STATES = ('inspect wait', 'clean wait', 'wait call-back', 'rescue wait')

# A node with an instance on it, or on its way to or from one: cleaning would erase a running OS.
DEPLOYED = ('active', 'deploying', 'wait call-back', 'deploy failed', 'rescue', 'rescuing', 'rescue wait',
            'rescue failed', 'unrescuing', 'unrescue failed', 'servicing', 'service wait', 'service failed')

# Where the node module removes a node without force (with force: into maintenance first).
DELETABLE = ('enroll', 'manageable', 'available', 'clean failed', 'inspect failed', 'adopt failed')

# Failure states in which Ironic refuses interface changes unless the node is in maintenance.
INTERFACE_LOCKED_STATES = ('deploy failed', 'clean failed', 'inspect failed', 'error', 'rescue failed')

# The verbs Ironic refuses while the node is in maintenance (API or conductor: NodeInMaintenance).
# Others (manage, inspect, adopt, undeploy) it takes, in maintenance or not.
REFUSED_IN_MAINTENANCE = ('provide', 'clean', 'active', 'rebuild', 'rescue', 'unrescue')

# The node's `fault` when Ironic put it into maintenance itself: its power sync could not read the
# power state (the BMC did not answer, power_state_sync_max_retries times). Ironic takes it out by
# itself once it reads the power state again, but only every power_failure_recovery_interval (5 min).
POWER_FAILURE_FAULT = 'power failure'

# The stable states the node module converges a node to, and the verbs between them, in order.
# `active` is adoption: a server already running its OS is taken over as it is, never from
# `available` (cleaned: there is nothing to adopt) - deploying is the deploy module's job.
NODE_TARGETS = ('enroll', 'manageable', 'available', 'active')
ADOPTABLE = ('enroll', 'manageable', 'inspect failed', 'adopt failed')
_NODE_VERBS = {'manageable': ('manage', 'provide'), 'available': ('manage', 'provide'), 'active': ('manage', 'adopt')}


def provision_path(current, target):
    """The verbs that take a node from ``current`` to ``target`` (one of NODE_TARGETS), in order;
    None when the node module must not move it from there (deployed, busy, or no way)."""
    if current == target:
        return []
    if target == 'enroll':
        return None  # nothing goes back to enroll
    if target == 'active' and current not in ADOPTABLE:
        return None
    paths = {current: []}
    frontier = [current]
    while frontier:  # breadth first over the target's verbs: the shortest path
        state = frontier.pop(0)
        for name in _NODE_VERBS[target]:
            verb = VERBS[name]
            if state in verb.starts_from and verb.done not in paths:
                paths[verb.done] = paths[state] + [name]
                frontier.append(verb.done)
    return paths.get(target)


def action_result(target):
    """(the state that means done, the states that mean failed) of one verb."""
    verb = VERBS[target]
    return verb.done, verb.failed


def verb_microversion(target):
    """The lowest API minor version that has this verb (1 for anything older than the table)."""
    verb = VERBS.get(target)
    return verb.microversion if verb else 1
