# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way modules wait for Ironic: a list call per cycle for the whole fleet.

Private to rackops.baremetal (the leading underscore).
"""

from __future__ import annotations

from ansible_collections.rackops.baremetal.plugins.module_utils._fleet import field_getter, wait_for


def list_fleet(module):
    """A function returning every node's wait fields with one API call (the client's list-poll)."""
    return module.client.fleet_poll()


def power_settled(node_get):
    """No power transition and no lock.

    Not the provision target: a node in a failure state keeps it (deploy
    failed -> active) while its power has long settled.
    """
    return not node_get('target_power_state') and not node_get('reservation')


def settled(node_get):
    """No transition and no lock: the next call will not hit 409 NodeLocked."""
    return not node_get('target_provision_state') and power_settled(node_get)


def provision_check(done_state, failed_states):
    """``check(result, node)``: has the node reached ``done_state`` (and is unlocked), or failed?"""

    def check(result, node):
        get = field_getter(node)
        state = get('provision_state')
        if state == done_state and settled(get):
            return 'done'
        # A failure state is where the transition ended, even though Ironic
        # may keep its target set there (clean failed -> available). The
        # request that started the transition moved the node out of any
        # failure state it started in before it returned.
        if state in failed_states:
            return 'ended in %s instead of %s' % (state, done_state)
        return 'wait'
    return check


def wait_provision(module, results, done_state, failed_states, timeout, interval, progress=None):
    """Wait until each node reaches ``done_state`` (and is unlocked) or fails.

    ``progress(waiting)`` runs after each cycle."""
    wait_for(list_fleet(module), results, provision_check(done_state, failed_states), timeout, interval,
             progress=progress)


def wait_power(module, results, timeout, interval, want=None):
    """Wait until each node's power has settled (and, with ``want``, equals it)."""

    def check(result, node):
        get = field_getter(node)
        if not power_settled(get):
            return 'wait'
        if want and get('power_state') != want.get(result.uuid, get('power_state')):
            return 'power is %s, not %s' % (get('power_state'), want[result.uuid])
        return 'done'

    wait_for(list_fleet(module), results, check, timeout, interval)
