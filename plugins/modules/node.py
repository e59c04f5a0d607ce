#!/usr/bin/python
# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: node
short_description: Enroll, update or remove bare-metal nodes, their ports and port groups in Ironic
version_added: 0.1.0
description:
  - Makes Ironic's nodes match server descriptions in the inventory contract (see docs/inventory.md) -
    BMC, NICs, properties, root device hints, resource class, traits, conductor group, interfaces.
  - The whole fleet is validated first; if any server is invalid the task fails listing every problem
    (server and field) and nothing is written.
  - New nodes are enrolled and taken to O(provision_state). Enrolling never starts cleaning unless
    O(provision_state=available) is asked for.
  - Updates patch only the keys the description gives, so keys written by inspection or by hand survive.
    A password Ironic shows masked is not a change unless O(resend_secrets=true).
  - Ports are reconciled by MAC address (added, removed, C(pxe_enabled) and C(local_link_connection) updated),
    and bonds become Ironic port groups holding their ports (added, updated, removed).
  - A server with no node of its name whose MACs are ports of a node Ironic enrolled by itself (auto-discovery -
    no name, in C(enroll), flagged discovered in its stored inspection data) takes that node over - it gets the
    server's name, driver (interfaces reset to the new driver's defaults unless the description names them) and the
    rest - instead of a second node being created. Any other node holding one of its MACs is a conflict.
  - One node or a list of nodes; a list shares one connection, runs O(concurrency) nodes at a time,
    waits with one API call per cycle for the whole fleet, and reports every node.
author:
  - rackops.baremetal developers (@rackops)
extends_documentation_fragment:
  - rackops.baremetal.auth
  - rackops.baremetal.fleet
  - rackops.baremetal.maintenance
  - rackops.baremetal._attributes
  - rackops.baremetal._attributes.ACTIONGROUP_IRONIC
attributes:
  check_mode:
    support: full
    details: Check mode sends no write to Ironic; it reports what would change, per node.
  diff_mode:
    support: full
    details: The diff shows, per node, the fields that change, with secrets masked.
options:
  node:
    description:
      - One server description, as in the inventory contract (C(name) and C(bmc) at least).
      - Mutually exclusive with O(nodes).
    type: dict
  nodes:
    description:
      - Server descriptions for a whole fleet. See O(node).
      - The P(rackops.baremetal.inventory_nodes#filter) filter builds this list from an inventory group.
    type: list
    elements: dict
  state:
    description:
      - V(present) enrolls or updates; V(absent) removes the node and its ports.
      - A server's own C(state) overrides this.
    type: str
    choices: [present, absent]
    default: present
  provision_state:
    description:
      - Where present nodes should end. V(enroll) only records them; V(manageable) also verifies the
        BMC credentials; V(available) also cleans them (automated cleaning).
      - V(active) adopts servers that already run their OS (Ironic's C(adopt)) - for example a rack taken over
        from another tool, or a server removed from Ironic and enrolled again. Nothing is written to their disks and
        their power is left as it is. Each server's C(image) is recorded in C(instance_info) first, as a deploy would
        record it, so M(rackops.baremetal.deploy) sees it as running that image. Only nodes not yet cleaned
        (C(enroll), C(manageable), C(inspect failed), C(adopt failed)) are adopted; an C(available) node is left
        for the deploy.
      - Nodes that are deployed or busy with another transition are left where they are.
    type: str
    choices: [enroll, manageable, available, active]
    default: manageable
  force:
    description: Remove nodes even when they are deployed (C(active)); they are put into maintenance first.
    type: bool
    default: false
  resend_secrets:
    description:
      - Send BMC passwords even though Ironic shows them masked, for example after rotating them.
      - Every node then reports C(changed).
    type: bool
    default: false
  validate:
    description: Run Ironic's validation of every interface for present nodes and return it.
    type: bool
    default: true
  validate_deployed:
    description:
      - With O(validate), also validate nodes that are deployed (C(active)) and that this task did not change.
      - V(false) saves one API call per deployed node when re-running a provisioning over a deployed fleet;
        their RV(nodes[].validation) is then absent.
    type: bool
    default: true
notes:
  - Traits replace the node's traits when given.
seealso:
  - module: rackops.baremetal.node_info
'''

EXAMPLES = r'''
- name: Enroll the rack and verify the BMCs (no cleaning)
  rackops.baremetal.node:
    cloud: rackops
    nodes: "{{ groups['baremetal'] | rackops.baremetal.inventory_nodes(hostvars) }}"
  run_once: true
  delegate_to: localhost

- name: One node, straight to available
  rackops.baremetal.node:
    cloud: rackops
    provision_state: available
    node:
      name: rack1-u12
      bmc:
        driver: ipmi
        address: 10.0.0.12
        username: admin
        password: "{{ vault_bmc_password }}"
      nics:
        - mac: "52:54:00:12:34:56"
      properties: {cpu_arch: x86_64, cpus: 32, memory_mb: 262144, local_gb: 960}
      resource_class: baremetal.gold

- name: Take over a rack another tool deployed, without re-imaging it (Ironic's adopt; each server's image says what it runs)
  rackops.baremetal.node:
    cloud: rackops
    provision_state: active
    nodes: "{{ groups['baremetal'] | rackops.baremetal.inventory_nodes(hostvars) }}"
  run_once: true
  delegate_to: localhost

- name: Remove a node, described as the inventory describes it (the description is validated all the same)
  rackops.baremetal.node:
    cloud: rackops
    state: absent
    node: "{{ ['rack1-u12'] | rackops.baremetal.inventory_nodes(hostvars) | first }}"
'''

RETURN = r'''
nodes:
  description: One entry per node, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: "Node name.", type: str}
    uuid: {description: "Node UUID (none for a node check mode would create).", type: str}
    changed: {description: "Whether this node changed (or would, in check mode).", type: bool}
    failed: {description: "Whether this node failed.", type: bool}
    msg: {description: "What was done, or why it failed.", type: str}
    actions: {description: "The changes made to this node, in order.", type: list, elements: str}
    last_error: {description: "Ironic's last_error for the node.", type: str}
    provision_state: {description: "Provision state at the end.", type: str}
    power_state: {description: "Power state at the end.", type: str}
    elapsed: {description: "Seconds spent on this node.", type: float}
    validation:
      description: Ironic's validation per interface, C({result, reason}); present nodes with O(validate=true).
      type: dict
  sample:
    - name: rack1-u12
      uuid: 3d8e6f1c-2d3b-4a4e-9f38-0f4b1f2b8c11
      changed: true
      failed: false
      msg: create; add port 52:54:00:12:34:56; manage
      actions: [create, "add port 52:54:00:12:34:56", manage]
      last_error: null
      provision_state: manageable
      power_state: power off
      elapsed: 4.2
      validation:
        power: {result: true, reason: null}
        deploy: {result: false, reason: Node has no instance_info.image_source}
problems:
  description: "Every problem found in the descriptions, as C(server: field: problem); nothing was written."
  returned: when validation fails
  type: list
  elements: str
  sample: ["rack1-u12: bmc.adress: unknown key (did you mean address?)"]
retries:
  description: Calls Ironic answered with HTTP 409 or 503 and that were retried.
  returned: always
  type: list
  elements: dict
timings:
  description:
    - Seconds of each step of the run (read, records, ports, manage, provide, validate), from the
      first node's start of that step to the last node's end of it; C(all steps) is the wall time of them all.
    - Each node goes on to its next step as soon as it is done with one, so the steps overlap and
      add up to more than the run took.
    - When a MAC (a NIC's or a bond's) moves between two nodes of the task, every node's records step runs before
      any node's ports step.
  returned: success
  type: dict
  sample: {read: 0.4, records: 10.2, ports: 9.1, manage: 11.3, provide: 14.8, validate: 15.1, all steps: 17.2}
concurrency:
  description: How many nodes were worked on at once.
  returned: success
  type: int
'''


from ansible_collections.rackops.baremetal.plugins.module_utils._errors import BaremetalError
from ansible_collections.rackops.baremetal.plugins.module_utils._fleet import run_phase, run_pipeline
from ansible_collections.rackops.baremetal.plugins.module_utils._hardware import INVENTORY_MICROVERSION, was_discovered
from ansible_collections.rackops.baremetal.plugins.module_utils._instance import IMAGE_RECORD_KEY, image_patch, instance_info, runs_image
from ansible_collections.rackops.baremetal.plugins.module_utils._inventory import (
    HAS_JSONSCHEMA, JSONSCHEMA_IMPORT_ERROR, check_driver_properties, to_ironic, validate_fleet)
from ansible_collections.rackops.baremetal.plugins.module_utils._module import IronicModule
from ansible_collections.rackops.baremetal.plugins.module_utils._fleet_options import (
    FLEET_ARGUMENT_SPEC, FleetTask, fleet_servers)
from ansible_collections.rackops.baremetal.plugins.module_utils._reconcile import plan_node_patch, plan_portgroups, plan_ports, plan_traits
from ansible_collections.rackops.baremetal.plugins.module_utils._states import (
    DELETABLE, INTERFACE_LOCKED_STATES, NODE_TARGETS, action_result, provision_path)
from ansible_collections.rackops.baremetal.plugins.module_utils._redact import redact
from ansible_collections.rackops.baremetal.plugins.module_utils._waiting import list_fleet, provision_check

from ansible.module_utils.basic import missing_required_lib

# Interfaces a deployed node's running OS does not depend on: changed in a short maintenance window while it runs.
RUNNING_SAFE_INTERFACES = ('/console_interface', '/rescue_interface')


def maintenance_window_needed(provision_state, ops):
    """Does this patch need the node in maintenance for Ironic to take it (which it is not)?

    Ironic changes a node's interfaces (and driver) only while it is not deployed or failed, or in maintenance:
    a failed node gets the inventory's fix, and a deployed one a rescue or console interface, inside a window."""
    changed = [op['path'] for op in ops if op['path'] == '/driver' or op['path'].endswith('_interface')]
    if not changed:
        return False
    if provision_state in INTERFACE_LOCKED_STATES:
        return True
    return provision_state == 'active' and all(path in RUNNING_SAFE_INTERFACES for path in changed)


def validation_entry(interface, valid, reason):
    """One interface's line of the validation report.

    The agent rescue interface asks for instance_info/rescue_password, which exists only while a node is rescued
    (the rescue request brings it): a rescue interface whose only problem is that password is valid."""
    if interface == 'rescue' and valid is False and 'rescue_password' in (reason or ''):
        return {'result': True, 'reason': 'the rescue password comes with the rescue request'}
    return {'result': valid, 'reason': reason}


class NodeManager(FleetTask):
    """Brings a fleet of nodes to their descriptions, each node at its own pace (run_pipeline)."""

    def __init__(self, module, servers):
        super().__init__(module, [s['name'] for s in servers])
        self.servers = servers
        self.by_name = {}
        self.ports = {}
        self.pending_ports = {}
        self.portgroups = {}
        self.group_ids = {}
        self.port_macs = {}
        self.taken_over = {}  # server name -> UUID of the node discovery enrolled that it takes over

    # -- reading: one list call each for nodes and ports -------------------
    def read(self):
        names = {s['name'] for s in self.servers}
        # (a node to remove is not waited for: removal with force takes it from wherever it is)
        self.wait_for_others({s['name'] for s in self.servers if s.get('state', self.params['state']) == 'present'})
        nodes = self.module.call('list nodes', lambda: list(self.baremetal.nodes(details=True)))
        self.by_name = {n.name: n for n in nodes if n.name in names}
        self.names_by_uuid = {n.id: n.name or n.id for n in nodes}
        if self.by_name or any(s.get('nics') for s in self.servers):
            group_names = {}
            if self.by_name:
                groups = self.module.call('list port groups', lambda: list(self.baremetal.port_groups(details=True)))
                for group in groups:
                    group_names[group.id] = group.name
                    self.group_ids[group.name] = group.id
                    self.portgroups.setdefault(group.node_id, []).append(
                        {'id': group.id, 'name': group.name, 'mode': group.mode, 'address': group.address,
                         'properties': group.properties or {},
                         'standalone_ports_supported': group.is_standalone_ports_supported})
            ports = self.module.call('list ports', lambda: list(self.baremetal.ports(details=True)))
            for port in ports:
                self.port_macs[port.id] = port.address.lower()
                self.ports.setdefault(port.node_id, []).append(
                    {'id': port.id, 'address': port.address.lower(), 'pxe_enabled': port.is_pxe_enabled,
                     'local_link_connection': port.local_link_connection or {},
                     'portgroup': group_names.get(port.port_group_id)})
            self.find_discovered(nodes)

    def find_discovered(self, nodes):
        """Servers without a node of their name whose MACs are ports of one node that Ironic enrolled by itself
        (auto-discovery: no name, still in enroll, flagged in its stored inspection data) take that node over.

        Any other node holding their MACs stays a conflict (mac_conflicts).
        """
        owners = {port['address']: node_uuid for node_uuid, ports in self.ports.items() for port in ports}
        unnamed = {n.id: n for n in nodes if not n.name and n.provision_state == 'enroll'}
        for server in self.servers:
            if server['name'] in self.by_name or server.get('state', self.params['state']) != 'present':
                continue
            held = {owners.get(nic['mac'].lower()) for nic in server.get('nics') or []} - {None}
            if len(held) != 1 or next(iter(held)) not in unnamed:
                continue
            node = unnamed[next(iter(held))]
            try:
                stored = self.module.client.get_json('read the inventory of', '/nodes/%s/inventory' % node.id,
                                                     microversion=INVENTORY_MICROVERSION, node=node.id, missing=None)
            except BaremetalError as exc:
                self.module.fail(**exc.as_result())
            if was_discovered(stored):
                self.by_name[server['name']] = node
                self.names_by_uuid[node.id] = server['name']
                self.taken_over[server['name']] = node.id
                del unnamed[node.id]

    def mac_conflicts(self):
        """MACs the fleet wants that Ironic already has on some other node.

        A MAC may move between two nodes of this fleet in one run (it is
        removed from the one before it is added to the other); any other
        owner makes the run fail before it writes anything.
        """
        wanted = {}  # MAC -> (server name, index in its nics)
        for server in self.servers:
            if server.get('state', self.params['state']) == 'present':
                for index, nic in enumerate(server.get('nics') or []):
                    wanted[nic['mac'].lower()] = (server['name'], index)
        fleet = {s['name'] for s in self.servers}
        problems = []
        for node_uuid, ports in self.ports.items():
            owner = self.names_by_uuid.get(node_uuid, node_uuid)
            if owner in fleet:
                continue  # its MACs are ours to move within this run
            for port in ports:
                if port['address'] in wanted:
                    taker, index = wanted[port['address']]
                    problems.append('%s: nics[%d].mac: %s is already a port of Ironic node %s'
                                    % (taker, index, port['address'], owner))
        return sorted(problems)

    # -- records -----------------------------------------------------------
    def reconcile_record(self, result, server):
        existing = self.by_name.get(server['name'])
        state = server.get('state', self.params['state'])
        if state == 'absent':
            self.remove(result, existing)
            return
        fields, ports, groups = to_ironic(server)
        traits = fields.pop('traits', None)
        if existing is None:
            self.create(result, fields, ports, groups, traits)
            return
        result.observe(existing)
        current = existing.to_dict(computed=False, original_names=True)
        ops, before, after = plan_node_patch(current, fields, self.params['resend_secrets'])
        if server['name'] in self.taken_over:
            result.did('take over node %s, which discovery enrolled' % existing.id)
            ops.insert(0, {'op': 'add', 'path': '/name', 'value': server['name']})
            before['name'], after['name'] = None, server['name']
        new_traits = plan_traits(current.get('traits'), traits)
        if new_traits is not None:
            before['traits'], after['traits'] = sorted(current.get('traits') or []), new_traits
        port_plan = plan_ports(self.ports.get(existing.id, []), ports)
        group_plan = plan_portgroups(self.portgroups.get(existing.id, []), groups)
        if any(port_plan.values()):
            before['ports'] = sorted(p['address'] for p in self.ports.get(existing.id, []))
            after['ports'] = sorted(p['address'] for p in ports)
        if any(group_plan) or port_plan['attach'] or port_plan['detach']:
            before['bonds'] = {g['name']: sorted(p['address'] for p in self.ports.get(existing.id, [])
                                                 if p.get('portgroup') == g['name'])
                               for g in self.portgroups.get(existing.id, [])}
            after['bonds'] = {g['name']: sorted(p['address'] for p in ports if p.get('portgroup') == g['name'])
                              for g in groups}
        if before or after:
            self.diffs.append({'before_header': result.name, 'after_header': result.name,
                               'before': redact(before), 'after': redact(after)})
        if ops:
            result.did('update %s' % ', '.join(sorted({op['path'] for op in ops})))
            if not self.check:
                self.patch(result, existing, ops)
        if new_traits is not None:
            result.did('set traits')
            if not self.check:
                self.call(result, 'set traits of', self.baremetal.set_node_traits, existing.id, new_traits)
        self.release_ports(result, port_plan, group_plan[2])
        self.pending_ports[result.name] = (existing.id, port_plan, group_plan[0], group_plan[1])

    def create(self, result, fields, ports, groups, traits):
        result.did('create')
        after = dict(fields, traits=sorted(traits or []), ports=[p['address'] for p in ports])
        if groups:
            after['bonds'] = {g['name']: [p['address'] for p in ports if p['portgroup'] == g['name']] for g in groups}
        self.diffs.append({'before_header': result.name, 'after_header': result.name,
                           'before': {}, 'after': redact(after)})
        if self.check:
            result.provision_state = 'enroll'
            for group in groups:
                result.did('add bond %s' % group['name'])
            for port in ports:
                result.did('add port %s' % port['address'])
            return
        node = self.call(result, 'create', self.baremetal.create_node, provision_state='enroll', **fields)
        result.observe(node)
        if traits:
            self.call(result, 'set traits of', self.baremetal.set_node_traits, node.id, traits)
        self.pending_ports[result.name] = (node.id, plan_ports([], ports), groups, [])

    def release_ports(self, result, port_plan, old_groups):
        """Removals first: ports, ports out of groups, groups."""
        for port in port_plan['delete']:
            result.did('remove port %s' % port['address'])
            if not self.check:
                self.call(result, 'remove port %s of' % port['address'], self.baremetal.delete_port, port['id'])
        for port_id in port_plan['detach']:
            result.did('take port %s out of its bond' % self.port_macs.get(port_id, port_id))
            if not self.check:
                self.call(result, 'take a port out of a bond of', self.baremetal.patch_port, port_id,
                          [{'op': 'remove', 'path': '/portgroup_uuid'}])
        for group in old_groups:
            result.did('remove bond %s' % group['name'])
            if not self.check:
                self.call(result, 'remove bond %s of' % group['name'], self.baremetal.delete_port_group, group['id'])

    def add_ports(self, result):
        """Additions after removals: this node's, and when a MAC or bond moves
        between two nodes of the fleet, every node's (see moves_within_fleet)."""
        if result.name not in self.pending_ports:
            return
        node_id, port_plan, new_groups, group_updates = self.pending_ports.pop(result.name)
        group_ids = dict(self.group_ids)
        for group in new_groups:
            result.did('add bond %s' % group['name'])
            if not self.check:
                created = self.call(result, 'add bond %s to' % group['name'], self.baremetal.create_port_group,
                                    node_id=node_id, **group)
                group_ids[group['name']] = created.id
        group_names = {uuid: name for name, uuid in group_ids.items()}
        for group_id, ops in group_updates:
            result.did('update bond %s' % group_names.get(group_id, group_id))
            if not self.check:
                self.call(result, 'update a bond of', self.baremetal.patch_port_group, group_id, ops)
        for port_id, ops in port_plan['update']:
            result.did('update port %s' % self.port_macs.get(port_id, port_id))
            if not self.check:
                self.call(result, 'update a port of', self.baremetal.patch_port, port_id, ops)
        for port in port_plan['create']:
            result.did('add port %s' % port['address'])
            if not self.check:
                attrs = {k: v for k, v in port.items() if k != 'portgroup'}
                if port.get('portgroup'):
                    attrs['port_group_id'] = group_ids[port['portgroup']]
                self.call(result, 'add port %s to' % port['address'], self.baremetal.create_port,
                          node_id=node_id, **attrs)
        for port_id, group_name in port_plan['attach']:
            result.did('put port %s into bond %s' % (self.port_macs.get(port_id, port_id), group_name))
            if not self.check:
                self.call(result, 'put a port into a bond of', self.baremetal.patch_port, port_id,
                          [{'op': 'add', 'path': '/portgroup_uuid', 'value': group_ids[group_name]}])

    def patch(self, result, existing, ops):
        # Ironic changes interfaces only in stable states, or in maintenance. A
        # node that failed (say a deploy, with the wrong deploy interface), or a
        # deployed one given a rescue or console interface, gets the inventory's
        # change inside a short maintenance window, so that a re-run converges.
        window = not existing.is_maintenance and maintenance_window_needed(existing.provision_state, ops)
        if window:
            self.call(result, 'set maintenance on', self.baremetal.set_node_maintenance, existing.id,
                      reason='rackops.baremetal.node: changing interfaces in %s' % existing.provision_state)
        try:
            # a discovered node changes to the inventory's driver: the interfaces it had become the new one's
            # defaults, unless the inventory names them
            reset = True if result.name in self.taken_over and any(op['path'] == '/driver' for op in ops) else None
            self.call(result, 'update', self.baremetal.patch_node, existing.id, ops, reset_interfaces=reset)
        finally:
            if window:
                self.call(result, 'set maintenance off', self.baremetal.unset_node_maintenance, existing.id)

    def remove(self, result, existing):
        if existing is None:
            result.msg = 'absent'
            return
        result.observe(existing)
        if existing.provision_state not in DELETABLE and not self.params['force']:
            result.fail('refusing to remove a node in provision state %s; use force: true'
                        % existing.provision_state)
            return
        self.diffs.append({'before_header': result.name, 'after_header': result.name,
                           'before': {'name': result.name, 'provision_state': existing.provision_state},
                           'after': {}})
        result.did('remove')
        if self.check:
            return
        if existing.provision_state not in DELETABLE and not existing.is_maintenance:
            self.call(result, 'set maintenance on', self.baremetal.set_node_maintenance, existing.id,
                      reason='removed by rackops.baremetal.node (force)')
        self.call(result, 'remove', self.baremetal.delete_node, existing.id, ignore_missing=True)
        result.provision_state = None
        result.extra['removed'] = True

    # -- provision state ---------------------------------------------------
    def path(self, result, server):
        """The provision actions that take this node to the task's target (after its record step)."""
        if result.failed or result.extra.get('removed') or server.get('state', self.params['state']) == 'absent':
            return []
        path = provision_path(result.provision_state, self.params['provision_state'])
        if path is None:
            result.extra.setdefault('note', 'left in %s (not moved by this module)' % result.provision_state)
            return []
        return path

    def move(self, result, action):
        """Ask for one provision action; the pipeline then waits for its end state."""
        result.did(action)
        done_state, failed_states = action_result(action)
        if self.check:
            result.provision_state = done_state
            return None
        self.set_provision_state(result, action)
        return provision_check(done_state, failed_states)

    def record_image(self, result, server):
        """Before an adoption: the server's image into instance_info, as a deploy records it (Ironic
        validates the deploy interface against it, and the deploy module then sees the node runs it)."""
        existing = self.by_name.get(result.name)
        current = (existing.instance_info if existing is not None else None) or {}
        wanted = instance_info(server)
        if runs_image(current, wanted) and IMAGE_RECORD_KEY in current:
            return
        result.did('record image %s' % wanted['image_source'])
        self.diffs.append({'before_header': result.name, 'after_header': result.name,
                           'before': {'image': current.get('image_source')}, 'after': {'image': wanted['image_source']}})
        if not self.check:
            self.call(result, 'record the image of', self.baremetal.patch_node, result.uuid,
                      image_patch(current, wanted))

    def validate(self, result):
        if not result.uuid or result.extra.get('removed'):
            return
        if not self.params['validate_deployed'] and not result.changed and result.provision_state == 'active':
            return  # validated when it was deployed; nothing about it changed since
        report = self.call(result, 'validate', self.baremetal.validate_node, result.uuid, required=())
        result.extra['validation'] = {iface: validation_entry(iface, v.result, v.reason)
                                      for iface, v in sorted(report.items())}

    # -- the run -------------------------------------------------------------
    def moves_within_fleet(self):
        """Does a MAC the fleet wants (a NIC's or a bond's) sit on another node of the fleet now?

        Then it must leave that node before it is added to its new one, so
        every node's record step (which removes) runs before any node's
        port step (which adds). Ironic keeps MACs unique across nodes.
        """
        fleet = {s['name'] for s in self.servers}
        owners = {}
        for node_uuid, ports in self.ports.items():
            for port in ports:
                owners[port['address']] = self.names_by_uuid.get(node_uuid)
        for node_uuid, groups in self.portgroups.items():
            for group in groups:
                if group.get('address'):
                    owners[group['address'].lower()] = self.names_by_uuid.get(node_uuid)
        for server in self.servers:
            if server.get('state', self.params['state']) != 'present':
                continue
            _fields, ports, groups = to_ironic(server)
            for address in [p['address'] for p in ports] + [g['address'] for g in groups if g.get('address')]:
                owner = owners.get(address)
                if owner in fleet and owner != server['name']:
                    return True
        return False

    def steps(self, result, server, records_done):
        """One node's way: record, ports, provision actions, validation (a generator: see run_pipeline)."""
        if not records_done:
            yield 'records', lambda r: self.reconcile_record(r, server)
        yield 'ports', self.add_ports
        path = self.path(result, server)
        existing = self.by_name.get(result.name)
        if path and existing is not None and not self.admit(
                result, existing, path, 'not moved to %s' % self.params['provision_state']):
            return
        if result.name in self.power_failures:
            yield 'maintenance', self.leave_power_failure
        for action in path:
            if action == 'adopt':
                yield 'image record', lambda r: self.record_image(r, server)
            yield action, lambda r, action=action: self.move(r, action)
        if self.params['validate'] and server.get('state', self.params['state']) == 'present':
            yield 'validate', self.validate

    def run(self):
        servers = dict(zip((id(r) for r in self.results), self.servers))
        barrier = self.moves_within_fleet()
        if barrier:
            self.timed('records', run_phase, self.results, lambda r: self.reconcile_record(r, servers[id(r)]),
                       self.concurrency)
        spans = {}
        self.timed('all steps', lambda: spans.update(run_pipeline(
            self.results, lambda r: self.steps(r, servers[id(r)], barrier), list_fleet(self.module),
            self.concurrency, self.params['timeout'], self.params['wait_interval'])))
        self.timings.update(spans)


def main():
    argument_spec = dict(
        node=dict(type='dict'),
        nodes=dict(type='list', elements='dict'),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        provision_state=dict(type='str', choices=list(NODE_TARGETS), default='manageable'),
        force=dict(type='bool', default=False),
        resend_secrets=dict(type='bool', default=False, no_log=False),
        validate=dict(type='bool', default=True),
        validate_deployed=dict(type='bool', default=True),
    )
    argument_spec.update(FLEET_ARGUMENT_SPEC)
    module = IronicModule(argument_spec, supports_check_mode=True, carries_secrets=True,
                          mutually_exclusive=[('node', 'nodes')], required_one_of=[('node', 'nodes')])
    if not HAS_JSONSCHEMA:
        module.fail(missing_required_lib('jsonschema'), exception=JSONSCHEMA_IMPORT_ERROR)

    servers = fleet_servers(module)

    drivers = module.call('list drivers', lambda: [d.name for d in module.baremetal.drivers()])
    problems = validate_fleet(servers, enabled_drivers=drivers)
    if module.params['provision_state'] == 'active':
        problems += ['%s: image: required to adopt a server (provision_state: active): what it runs' % s['name']
                     for s in servers if isinstance(s, dict) and s.get('name') and not (s.get('image') or {}).get('source')
                     and s.get('state', module.params['state']) == 'present']
    if not problems:
        # each driver's properties once: a driver_info key the driver does not know is refused
        # here, not stored by Ironic and ignored
        used = sorted({s['bmc']['driver'] for s in servers})
        try:
            properties = {name: module.client.get_json('read the properties of driver %s' % name,
                                                       '/drivers/%s/properties' % name) for name in used}
        except BaremetalError as exc:
            module.fail(**exc.as_result())
        problems = check_driver_properties(servers, properties)
    if problems:
        module.fail('%d problem(s) in the node descriptions; nothing was written:\n%s'
                    % (len(problems), '\n'.join(problems)), problems=problems)

    manager = NodeManager(module, servers)
    manager.timed('read', manager.read)
    problems = manager.mac_conflicts()
    if problems:
        module.fail('%d problem(s) in the node descriptions; nothing was written:\n%s'
                    % (len(problems), '\n'.join(problems)), problems=problems)
    manager.run()
    module.exit_fleet(manager.results, manager.diffs, timings=manager.timings, concurrency=manager.concurrency)


if __name__ == '__main__':
    main()
