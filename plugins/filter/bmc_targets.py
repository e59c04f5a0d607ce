# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: bmc_targets
short_description: The BMCs of server descriptions, ready for M(rackops.baremetal.bmc)
version_added: 0.1.0
author:
  - rackops.baremetal developers (@rackops)
description:
  - Turns server descriptions (the output of P(rackops.baremetal.inventory_nodes#filter)) into the O(rackops.baremetal.bmc#module:bmcs)
    list - the server's name plus its C(bmc) keys.
  - C(idrac) servers are reached over their iDRAC's Redfish service (driver C(redfish) for the module).
  - Servers of any other driver (C(manual-management), C(fake-hardware), a hardware type described only by
    C(bmc.driver_info)) have no BMC the module can talk to and are left out.
  - C(cipher_suite) is dropped - the module's IPMI client always negotiates suite 3. C(priv_level) is lower-cased.
options:
  _input:
    description: Server descriptions.
    type: list
    elements: dict
    required: true
'''

EXAMPLES = r'''
- name: Check every BMC of the group
  rackops.baremetal.bmc:
    bmcs: "{{ groups['baremetal'] | rackops.baremetal.inventory_nodes(hostvars) | rackops.baremetal.bmc_targets }}"
  run_once: true
  delegate_to: localhost
'''

RETURN = r'''
_value:
  description: One entry per server with an IPMI or Redfish (or iDRAC) BMC and its address, in the order given.
  type: list
  elements: dict
'''

from ansible.errors import AnsibleFilterError

# The inventory's bmc keys the bmc module takes (everything but cipher_suite).
BMC_KEYS = ('driver', 'address', 'port', 'username', 'password', 'priv_level', 'system_id', 'verify_ca')


def bmc_targets(servers):
    targets = []
    for server in servers:
        if not isinstance(server, dict) or 'name' not in server:
            raise AnsibleFilterError('bmc_targets expects server descriptions with a name, got %r' % (server,))
        bmc = server.get('bmc') or {}
        if bmc.get('driver') not in ('ipmi', 'redfish', 'idrac') or not bmc.get('address'):
            continue
        target = {'name': server['name']}
        target.update((key, bmc[key]) for key in BMC_KEYS if key in bmc)
        if target['driver'] == 'idrac':  # the iDRAC's Redfish service
            target['driver'] = 'redfish'
        if 'priv_level' in target:  # the inventory spells it as Ironic does (ADMINISTRATOR)
            target['priv_level'] = str(target['priv_level']).lower()
        targets.append(target)
    return targets


class FilterModule:

    def filters(self):
        return {'bmc_targets': bmc_targets}
