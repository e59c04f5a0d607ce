#!/usr/bin/python
# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: node_info
short_description: Read bare-metal nodes from Ironic
version_added: 0.1.0
description:
  - Lists the nodes Ironic knows, optionally filtered, or reads one node by name or UUID.
  - Field names are Ironic's own (as in C(baremetal node show)), for example C(uuid),
    C(provision_state), C(maintenance), C(driver_info).
  - Secrets in the returned fields (BMC passwords and the like) are always masked.
author:
  - rackops.baremetal developers (@rackops)
extends_documentation_fragment:
  - rackops.baremetal.auth
  - rackops.baremetal._attributes
  - rackops.baremetal._attributes.INFO_MODULE
  - rackops.baremetal._attributes.ACTIONGROUP_IRONIC
options:
  name:
    description:
      - Name or UUID of one node. Without it, every node matching the filters is returned.
      - A node that does not exist gives an empty RV(nodes) list, not an error.
    type: str
    aliases: [id, uuid]
  provision_state:
    description: Only nodes in this provision state, for example V(available) or V(deploy failed).
    type: str
  resource_class:
    description: Only nodes of this resource class.
    type: str
  conductor_group:
    description: Only nodes of this conductor group (V("") is the default group).
    type: str
  maintenance:
    description: Only nodes in (V(true)) or out of (V(false)) maintenance mode.
    type: bool
  driver:
    description: Only nodes using this hardware type, for example V(ipmi).
    type: str
  fields:
    description:
      - Ironic fields to return for each node, to keep large fleets' results small.
      - C(uuid) and C(name) are always returned. Without it, every field is returned.
    type: list
    elements: str
  hardware:
    description:
      - Add each node's hardware as inspection stored it - RV(nodes[].inventory), Ironic's own inventory
        document, RV(nodes[].hardware), its summary (CPUs, memory, disks, NICs with MACs and LLDP), and
        RV(nodes[].discovered).
      - One more API call per node; both are null for nodes whose inspection stored none.
    type: bool
    default: false
  history:
    description:
      - Add each node's history - RV(nodes[].history), the events Ironic recorded (provision state
        changes, errors with their message) - newest last.
      - One more API call per node.
    type: bool
    default: false
  concurrency:
    description: How many nodes' hardware and history are read at the same time.
    type: int
    default: 8
notes:
  - The filters cannot be combined with O(name).
'''

EXAMPLES = r'''
- name: Every node, every field
  rackops.baremetal.node_info:
    cloud: rackops
  register: all_nodes

- name: One node by name
  rackops.baremetal.node_info:
    cloud: rackops
    name: rack1-u12

- name: Nodes that failed to deploy, with the reason only
  rackops.baremetal.node_info:
    cloud: rackops
    provision_state: deploy failed
    fields: [provision_state, last_error]
  register: failed

- name: Why did these nodes fail, and what hardware do they have
  rackops.baremetal.node_info:
    cloud: rackops
    provision_state: clean failed
    fields: [provision_state, last_error]
    history: true
    hardware: true
  register: failed_cleaning

- name: Connection options once for every rackops.baremetal module
  module_defaults:
    group/rackops.baremetal.ironic:
      auth_type: http_basic
      auth:
        endpoint: http://127.0.0.1:6385
        username: admin
        password: "{{ vault_ironic_password }}"
  block:
    - name: IPMI nodes in maintenance
      rackops.baremetal.node_info:
        driver: ipmi
        maintenance: true
'''

RETURN = r'''
nodes:
  description:
    - The nodes, sorted by name (nodes without a name last, by UUID), with Ironic's field names.
    - Secret values are replaced by C(******).
  returned: always
  type: list
  elements: dict
  sample:
    - uuid: 3d8e6f1c-2d3b-4a4e-9f38-0f4b1f2b8c11
      name: rack1-u12
      driver: ipmi
      provision_state: manageable
      power_state: power off
      maintenance: false
      last_error: null
      driver_info:
        ipmi_address: 10.0.0.12
        ipmi_username: admin
        ipmi_password: '******'
  contains:
    hardware:
      description: Summary of the stored inventory - cpus, cpu_arch, memory_mb, disks, interfaces (name, mac, lldp).
      returned: with O(hardware=true)
      type: dict
    inventory:
      description: The inventory inspection stored (Ironic's C(GET /v1/nodes/<node>/inventory)), or null.
      returned: with O(hardware=true)
      type: dict
    discovered:
      description:
        - Whether Ironic enrolled the node by itself, from what an unknown machine's agent posted (auto-discovery;
          C(rackops.baremetal.ironic)'s O(rackops.baremetal.ironic#role:main:ironic_discovery)).
      returned: with O(hardware=true)
      type: bool
    history:
      description: The node's history events, oldest first.
      returned: with O(history=true)
      type: list
      elements: dict
      sample:
        - created_at: '2026-11-26T05:50:34+00:00'
          severity: ERROR
          event_type: cleaning
          event: "Node 3d8b failed step {'interface': 'bios', 'step': 'apply_configuration'}: ..."
          user: admin
retries:
  description: Calls Ironic answered with HTTP 409 or 503 and that were retried.
  returned: always
  type: list
  elements: dict
  sample:
    - operation: list nodes
      node: null
      status_code: 503
      attempt: 1
      delay: 0.5
      msg: Node is locked by host rackops
'''

from ansible_collections.rackops.baremetal.plugins.module_utils._fleet import NodeResult, run_phase
from ansible_collections.rackops.baremetal.plugins.module_utils._hardware import summarize_inventory, was_discovered
from ansible_collections.rackops.baremetal.plugins.module_utils._module import IronicModule
from ansible_collections.rackops.baremetal.plugins.module_utils._redact import redact

FILTERS = ('provision_state', 'resource_class', 'conductor_group', 'maintenance', 'driver')
ALWAYS_RETURNED = ('uuid', 'name')


def requested_fields(fields):
    """The fields to ask Ironic for, or None for all of them."""
    if not fields:
        return None
    return list(ALWAYS_RETURNED) + [f for f in fields if f not in ALWAYS_RETURNED]


def node_to_result(node, fields):
    """One node as Ironic names its fields, secrets masked, only what was asked."""
    data = node.to_dict(computed=False, original_names=True)
    # 'id' duplicates 'uuid' and 'links' are API plumbing, not node facts.
    data.pop('id', None)
    data.pop('links', None)
    if fields:
        data = {k: v for k, v in data.items() if k in fields}
    return redact(data)


# node history and the stored inventory came with API 1.78 and 1.81
DETAIL_MICROVERSION = '1.81'
HISTORY_KEYS = ('created_at', 'severity', 'event_type', 'event', 'user', 'conductor')


def add_details(module, nodes, hardware, history):
    """Read each node's stored inventory and/or history into its result (bounded concurrency)."""
    client = module.client

    def one(result):
        node = result.extra['node']
        name = node['name'] or node['uuid']
        # a 404: nothing stored for this node
        if hardware:
            stored = client.get_json('read the inventory of', '/nodes/%s/inventory' % node['uuid'],
                                     microversion=DETAIL_MICROVERSION, node=name, missing=None)
            node['inventory'] = redact(stored.get('inventory')) if stored else None
            node['hardware'] = summarize_inventory(stored)
            node['discovered'] = was_discovered(stored)
        if history:
            events = client.get_json('read the history of', '/nodes/%s/history' % node['uuid'],
                                     microversion=DETAIL_MICROVERSION, params={'detail': 'True'}, node=name,
                                     missing={'history': []})['history']
            node['history'] = sorted(({k: e.get(k) for k in HISTORY_KEYS} for e in events),
                                     key=lambda e: e['created_at'] or '')

    results = []
    for node in nodes:
        result = NodeResult(node.get('name') or node['uuid'])
        result.extra['node'] = node
        results.append(result)
    run_phase(results, one, module.params['concurrency'])
    failed = [r for r in results if r.failed]
    if failed:
        module.fail('; '.join(r.msg for r in failed[:5]))


def sort_key(node):
    return (node.get('name') is None, node.get('name') or '', node.get('uuid') or '')


def main():
    module = IronicModule(
        argument_spec=dict(
            name=dict(type='str', aliases=['id', 'uuid']),
            provision_state=dict(type='str'),
            resource_class=dict(type='str'),
            conductor_group=dict(type='str'),
            maintenance=dict(type='bool'),
            driver=dict(type='str'),
            fields=dict(type='list', elements='str'),
            hardware=dict(type='bool', default=False),
            history=dict(type='bool', default=False),
            concurrency=dict(type='int', default=8),
        ),
        supports_check_mode=True,
        mutually_exclusive=[('name', f) for f in FILTERS],
    )
    params = module.params
    fields = requested_fields(params['fields'])
    baremetal = module.baremetal

    if params['name']:
        node = module.call('read', baremetal.find_node, params['name'], node=params['name'],
                           ignore_missing=True)
        if node is not None and fields:
            node = module.call('read', baremetal.get_node, node.id, node=params['name'],
                               fields=fields)
        found = [node] if node is not None else []
    else:
        query = {f: params[f] for f in FILTERS if params[f] is not None}
        if fields:
            query['fields'] = fields
        found = module.call('list nodes', lambda: list(baremetal.nodes(details=not fields, **query)))

    nodes = sorted((node_to_result(n, fields) for n in found), key=sort_key)
    if params['hardware'] or params['history']:
        add_details(module, nodes, params['hardware'], params['history'])
    module.exit(changed=False, nodes=nodes)


if __name__ == '__main__':
    main()
