# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What to change so that Ironic matches a description: pure functions, no I/O.

Private to rackops.baremetal (the leading underscore).
"""

from __future__ import annotations

from ansible_collections.rackops.baremetal.plugins.module_utils._redact import MASK, is_secret_key

# Dict fields are merged key by key: keys the description does not give (for
# example properties written by inspection) are never removed.
MERGED_FIELDS = ('driver_info', 'properties', 'extra')


def plan_node_patch(current, desired, resend_secrets=False):
    """JSON-patch operations turning ``current`` into ``desired`` for the keys desired gives.

    Returns (ops, before, after) where before/after hold only what differs,
    secrets masked. A masked secret (Ironic returns ``******``) is no change
    unless ``resend_secrets``.
    """
    ops, before, after = [], {}, {}
    for field, value in desired.items():
        if field in ('name', 'traits'):
            continue
        if field in MERGED_FIELDS:
            have = current.get(field) or {}
            for key, want in value.items():
                got = have.get(key)
                secret = is_secret_key(key)
                if secret and got == MASK and not resend_secrets:
                    continue
                if got == want and not (secret and resend_secrets):
                    continue
                ops.append({'op': 'add', 'path': '/%s/%s' % (field, key), 'value': want})
                before.setdefault(field, {})[key] = MASK if secret and got is not None else got
                after.setdefault(field, {})[key] = MASK if secret else want
        elif current.get(field) != value:
            ops.append({'op': 'add', 'path': '/%s' % field, 'value': value})
            before[field] = current.get(field)
            after[field] = value
    return ops, before, after


def plan_traits(current, desired):
    """The full trait list to set, or None if the node already has exactly these."""
    if desired is None:
        return None
    want = sorted(set(desired))
    return None if sorted(current or []) == want else want


def plan_ports(current, desired):
    """What to do so that the node's ports match ``desired``, as a dict of lists.

    Ports are matched by MAC: a MAC that changed is a port removed and one
    added. Items are dicts with address, pxe_enabled, local_link_connection
    and ``portgroup`` (the group's name, None when not bonded); current ones
    also have ``id``. Keys: create (ports), update ((port id, patch ops)),
    delete (ports), detach (port ids leaving their group), attach ((port id,
    group name)). Detaching comes before a group is removed, attaching after
    it is created.
    """
    have = {p['address'].lower(): p for p in current}
    want = {p['address'].lower(): p for p in desired}
    plan = {'create': [want[mac] for mac in want if mac not in have],
            'delete': [have[mac] for mac in have if mac not in want],
            'update': [], 'detach': [], 'attach': []}
    for mac in want:
        if mac not in have:
            continue
        ops = []
        for key in ('pxe_enabled', 'local_link_connection'):
            if key not in want[mac]:
                continue
            got = have[mac].get(key)
            if key == 'local_link_connection':
                got = got or {}  # Ironic returns {} or None for "no switch data"
            if got != want[mac][key]:
                ops.append({'op': 'add', 'path': '/%s' % key, 'value': want[mac][key]})
        if ops:
            plan['update'].append((have[mac]['id'], ops))
        group_now, group_wanted = have[mac].get('portgroup'), want[mac].get('portgroup')
        if group_now != group_wanted:
            if group_now:
                plan['detach'].append(have[mac]['id'])
            if group_wanted:
                plan['attach'].append((have[mac]['id'], group_wanted))
    return plan


PORTGROUP_FIELDS = ('mode', 'address', 'properties', 'standalone_ports_supported')


def plan_portgroups(current, desired):
    """(create, update, delete) for the node's port groups, matched by name.

    Only the keys a desired group gives are compared; ``update`` is a list of
    (group id, patch ops).
    """
    have = {g['name']: g for g in current}
    want = {g['name']: g for g in desired}
    create = [want[name] for name in want if name not in have]
    delete = [have[name] for name in have if name not in want]
    update = []
    for name in want:
        if name in have:
            ops = [{'op': 'add', 'path': '/%s' % key, 'value': want[name][key]}
                   for key in PORTGROUP_FIELDS if key in want[name] and have[name].get(key) != want[name][key]]
            if ops:
                update.append((have[name]['id'], ops))
    return create, update, delete
