# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: discovered_inventory
short_description: The nodes discovery enrolled, as inventory in the collection's contract
version_added: 0.1.0
author:
  - rackops.baremetal developers (@rackops)
description:
  - Turns the nodes Ironic enrolled by itself (auto-discovery, C(rackops.baremetal.ironic)'s
    O(rackops.baremetal.ironic#role:main:ironic_discovery)) into an inventory of group C(baremetal), one host per
    machine, in the contract C(docs/inventory.md) describes.
  - Each host's C(baremetal) has the machine's NICs (the one it network-booted from first, C(pxe=true)), its CPUs,
    CPU architecture, memory and root disk size as C(properties) (minimums the inspect playbook checks), and a
    C(bmc) - driver V(ipmi) with the address the agent read from the machine's BMC, or the node's driver when it
    read none. Its credentials are for the operator to add; the hosts are named C(discovered-<PXE MAC>), for the operator to rename.
  - Each host's C(rackops_discovered) (not part of the contract, read by nothing) says where it came from, the
    node's UUID, its disks and what the machine calls itself (vendor, product, serial number).
  - Enrolling the completed inventory takes each discovered node over (C(rackops.baremetal.node) finds it by its
    MACs) instead of creating a second one.
  - Nodes that are not discovered, or already have a name (taken over by an inventory), are left out.
options:
  _input:
    description: The C(nodes) of C(rackops.baremetal.node_info) with O(rackops.baremetal.node_info#module:hardware=true).
    type: list
    elements: dict
    required: true
'''

EXAMPLES = r'''
- name: Write the discovered machines as inventory
  ansible.builtin.copy:
    content: "{{ info.nodes | rackops.baremetal.discovered_inventory | to_nice_yaml(indent=2, sort_keys=false) }}"
    dest: discovered.yml
    mode: '0644'
'''

RETURN = r'''
_value:
  description: An inventory (C(all.children.baremetal.hosts)); no hosts when nothing was discovered.
  type: dict
'''

import re

_MAC = re.compile(r'^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$')
# addresses a BMC reports when it has none configured
_NO_ADDRESS = ('', '0.0.0.0', '::')


def _mac(value):
    """A MAC in the contract's form, from the agent's (colons) or PXE's BOOTIF form (01-aa-bb-...), or None."""
    value = str(value or '').strip().lower()
    if re.match(r'^01-([0-9a-f]{2}-){5}[0-9a-f]{2}$', value):
        value = value[3:]
    return value.replace('-', ':') if _MAC.match(value) else None


def discovered_host(node):
    """(host name, host variables) for one discovered node."""
    inventory = node.get('inventory') or {}
    hardware = node.get('hardware') or {}
    pxe_mac = _mac((inventory.get('boot') or {}).get('pxe_interface'))
    macs = []
    for interface in inventory.get('interfaces') or []:
        mac = _mac(interface.get('mac_address'))
        if mac and mac not in macs:
            macs.append(mac)
    if pxe_mac in macs:
        macs.remove(pxe_mac)
    if pxe_mac:
        macs.insert(0, pxe_mac)
    nics = [dict({'mac': mac}, **({'pxe': True} if mac == pxe_mac else {})) for mac in macs]

    properties = {key: hardware[key] for key in ('cpus', 'cpu_arch', 'memory_mb') if hardware.get(key) is not None}
    local_gb = int((node.get('properties') or {}).get('local_gb') or 0)
    if not local_gb:
        # as Ironic's root-device hook would say: the agent's root disk is the smallest of at least 4 GiB, and
        # Ironic keeps 1 GiB of it for partitioning
        sizes = sorted(d['size_gb'] for d in hardware.get('disks') or [] if (d.get('size_gb') or 0) >= 4)
        local_gb = sizes[0] - 1 if sizes else 0
    if local_gb:
        properties['local_gb'] = local_gb

    # the agent reads the BMC's address with ipmitool: an IPMI BMC; without one the node keeps its driver
    address = str(inventory.get('bmc_address') or '').strip()
    if address in _NO_ADDRESS:
        address = str(inventory.get('bmc_v6address') or '').strip().split('/', maxsplit=1)[0]
    bmc = {'driver': 'ipmi', 'address': address} if address not in _NO_ADDRESS else {
        'driver': node.get('driver') or 'manual-management'}

    baremetal = {'bmc': bmc}
    if nics:
        baremetal['nics'] = nics
    if properties:
        baremetal['properties'] = properties
    system = inventory.get('system_vendor') or {}
    origin = {'node': node.get('uuid'),
              'disks': [{k: d[k] for k in ('name', 'size_gb', 'model', 'serial') if d.get(k) not in (None, '')}
                        for d in hardware.get('disks') or []],
              'system': {k: system[k] for k in ('manufacturer', 'product_name', 'serial_number') if system.get(k)}}
    name = 'discovered-' + (macs[0].replace(':', '-') if macs else str(node.get('uuid')))
    return name, {'baremetal': baremetal, 'rackops_discovered': origin}


def discovered_inventory(nodes):
    hosts = {}
    for node in sorted(nodes or [], key=lambda n: str(n.get('uuid'))):
        if not node.get('discovered') or node.get('name'):
            continue
        name, variables = discovered_host(node)
        hosts[name] = variables
    return {'all': {'children': {'baremetal': {'hosts': hosts}}}}


class FilterModule:
    def filters(self):
        return {'discovered_inventory': discovered_inventory}
