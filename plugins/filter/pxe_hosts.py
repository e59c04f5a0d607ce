# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: pxe_hosts
short_description: The DHCP reservations of server descriptions, ready for the pxe role
version_added: 0.1.0
author:
  - rackops.baremetal developers (@rackops)
description:
  - Turns server descriptions (the output of P(rackops.baremetal.inventory_nodes#filter)) into the
    C(pxe_hosts) list of role C(rackops.baremetal.pxe) - one reservation per server for its PXE NIC (the NIC
    marked C(pxe), else the first), with the fixed address the NIC's C(ip) gives.
  - Validates the whole fleet against the inventory contract first, as the modules do, and fails with every
    problem found, one line each naming the host and the field; so does an C(ip) outside O(network).
  - Servers marked C(state=absent) (being retired) and servers without a PXE NIC get no reservation.
options:
  _input:
    description: Server descriptions.
    type: list
    elements: dict
    required: true
  network:
    description: The provisioning network (V(10.20.0.0/24), or the host's address with its prefix); every fixed C(ip) must be in it.
    type: str
'''

EXAMPLES = r'''
- name: Serve the inventory's servers
  ansible.builtin.include_role:
    name: rackops.baremetal.pxe
  vars:
    pxe_interface: eno2
    pxe_hosts: "{{ groups['baremetal'] | rackops.baremetal.inventory_nodes(hostvars) | rackops.baremetal.pxe_hosts('10.20.0.2/24') }}"
    pxe_dhcp_range_start: 10.20.0.100
    pxe_dhcp_range_end: 10.20.0.199
'''

RETURN = r'''
_value:
  description: One C({name, mac}) per server that network-boots (and C(ip) where fixed), in the order given.
  type: list
  elements: dict
'''

import ipaddress

from ansible.errors import AnsibleFilterError

from ansible_collections.rackops.baremetal.plugins.module_utils._inventory import pxe_nic_index, validate_fleet


def pxe_hosts(servers, network=None):
    problems = validate_fleet(servers)
    if network:
        try:
            subnet = ipaddress.IPv4Interface(network).network
        except ValueError:
            raise AnsibleFilterError('pxe_hosts: network: %r is not an IPv4 network or address with a prefix' % (network,))
    reservations = []
    for server in servers if not problems else ():
        index = pxe_nic_index(server)
        if server.get('state') == 'absent' or index is None:
            continue
        nic = server['nics'][index]
        reservation = {'name': server['name'], 'mac': nic['mac'].lower()}
        if 'ip' in nic:
            if network and ipaddress.IPv4Address(nic['ip']) not in subnet:
                problems.append('%s: nics[%d].ip: %s is outside the provisioning network %s'
                                % (server['name'], index, nic['ip'], subnet))
            reservation['ip'] = nic['ip']
        reservations.append(reservation)
    if problems:
        raise AnsibleFilterError('The inventory does not meet the contract (docs/inventory.md):\n' + '\n'.join(problems))
    return reservations


class FilterModule:

    def filters(self):
        return {'pxe_hosts': pxe_hosts}
