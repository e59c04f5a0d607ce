# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: inventory_nodes
short_description: Server descriptions of inventory hosts, ready for the node modules
version_added: 0.1.0
author:
  - rackops.baremetal developers (@rackops)
description:
  - For each host, deep-merges its C(baremetal) variable over C(baremetal_defaults) (usually group
    variables) and sets C(name) to the inventory host name unless the host gives one.
  - Hosts without either variable are skipped. Nothing is validated here; the modules validate the
    whole fleet before writing anything.
positional: hostvars
options:
  _input:
    description: Inventory host names, for example C(groups['baremetal']).
    type: list
    elements: str
    required: true
  hostvars:
    description: The C(hostvars) magic variable.
    type: dict
    required: true
  state:
    description:
      - V(present) - only the servers not marked C(state=absent), for the phases after enrollment (inspect, clean,
        deploy, power); V(absent) - only the servers marked C(state=absent), which are to be removed.
      - Empty, the default, returns every server (the node module removes those marked absent itself).
    type: str
    choices: ['', present, absent]
    default: ''
'''

EXAMPLES = r'''
- name: Enroll every server of the group
  rackops.baremetal.node:
    cloud: rackops
    nodes: "{{ groups['baremetal'] | rackops.baremetal.inventory_nodes(hostvars) }}"
  run_once: true
  delegate_to: localhost

- name: Deploy the servers that are not being retired
  rackops.baremetal.deploy:
    cloud: rackops
    nodes: "{{ groups['baremetal'] | rackops.baremetal.inventory_nodes(hostvars, state='present') }}"
  run_once: true
  delegate_to: localhost
'''

RETURN = r'''
_value:
  description: One server description per host, in host order.
  type: list
  elements: dict
'''

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.collections import is_sequence

from ansible_collections.rackops.baremetal.plugins.module_utils._inventory import deep_merge


def plain(value):
    """Plain dicts and lists of ``value``, read once.

    Variables reach a filter as Ansible's lazy containers; copying one copies
    its templating context too (200 hosts: 13 s in deepcopy). Reading them
    into plain containers first makes the merge below cost nothing.
    """
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if is_sequence(value):
        return [plain(item) for item in value]
    return value


def inventory_nodes(hosts, hostvars, state=''):
    if state not in ('', 'present', 'absent'):
        raise AnsibleFilterError("inventory_nodes: state must be '', 'present' or 'absent', got %r" % (state,))
    if not is_sequence(hosts):
        raise AnsibleFilterError('inventory_nodes expects a list of host names, got %s' % type(hosts).__name__)
    servers = []
    for host in hosts:
        host_vars = hostvars[host]
        defaults = plain(host_vars.get('baremetal_defaults') or {})
        own = plain(host_vars.get('baremetal') or {})
        if not defaults and not own:
            continue
        server = deep_merge(dict(defaults), dict(own))
        server.setdefault('name', host)
        if state and (server.get('state', 'present') == 'absent') != (state == 'absent'):
            continue
        servers.append(server)
    return servers


class FilterModule:

    def filters(self):
        return {'inventory_nodes': inventory_nodes}
