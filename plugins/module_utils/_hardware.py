# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What inspection found, and whether it is what the inventory expects.

Private to rackops.baremetal (the leading underscore). Pure logic: no API calls.
"""

from __future__ import annotations

# properties the inventory may state, and how a discovered value must compare
MINIMUMS = ('cpus', 'memory_mb', 'local_gb')


# GET /v1/nodes/<node>/inventory came with API 1.81
INVENTORY_MICROVERSION = '1.81'


def was_discovered(stored):
    """Did Ironic enroll the node by itself (auto-discovery)? Its API flags what it stores for such a node."""
    return bool(((stored or {}).get('plugin_data') or {}).get('auto_discovered'))


def summarize_inventory(stored):
    """A short summary of Ironic's stored inventory (GET /v1/nodes/<node>/inventory), or None."""
    if not stored:
        return None
    inventory = stored.get('inventory') if isinstance(stored, dict) and 'inventory' in stored else stored
    if not isinstance(inventory, dict) or not inventory:
        return None
    cpu = inventory.get('cpu') or {}
    memory = inventory.get('memory') or {}
    return {
        'cpus': cpu.get('count'),
        'cpu_arch': cpu.get('architecture'),
        'memory_mb': memory.get('physical_mb') or (memory.get('total') // (1 << 20) if memory.get('total') else None),
        'disks': [{'name': d.get('name'), 'size_gb': (d.get('size') or 0) // (1 << 30), 'model': d.get('model'),
                   'serial': d.get('serial'), 'rotational': d.get('rotational')}
                  for d in inventory.get('disks') or []],
        'interfaces': [{'name': i.get('name'), 'mac': (i.get('mac_address') or '').lower() or None,
                        'lldp': i.get('lldp')}
                       for i in inventory.get('interfaces') or []],
    }


def hardware_mismatches(server, properties, hardware):
    """Every way the discovered hardware differs from the server description."""
    expected = server.get('properties') or {}
    found = dict(properties or {})
    # What the hardware itself reported wins over properties, which may be
    # only what enrollment wrote from this same description.
    for key in ('cpus', 'memory_mb', 'cpu_arch'):
        if hardware and hardware.get(key) is not None:
            found[key] = hardware[key]
    problems = []
    for key in MINIMUMS:
        want = expected.get(key)
        if want is None:
            continue
        try:
            have = int(found.get(key))
        except (TypeError, ValueError):
            problems.append('%s: expected at least %s, found none' % (key, want))
            continue
        if have < int(want):
            problems.append('%s: expected at least %s, found %s' % (key, want, have))
    if expected.get('cpu_arch') and found.get('cpu_arch') and expected['cpu_arch'] != found['cpu_arch']:
        problems.append('cpu_arch: expected %s, found %s' % (expected['cpu_arch'], found['cpu_arch']))
    if hardware and hardware.get('interfaces'):
        macs = {i['mac'] for i in hardware['interfaces'] if i.get('mac')}
        for nic in server.get('nics') or []:
            if nic['mac'].lower() not in macs:
                problems.append('nics: %s not found (found %s)' % (nic['mac'].lower(), ', '.join(sorted(macs))))
    return problems
