#!/usr/bin/python
# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: inspect
short_description: Inspect bare-metal nodes through Ironic and check what was found
version_added: 0.1.0
description:
  - Runs Ironic's inspection with whatever inspect interface each node has (in-band C(agent), out-of-band
    C(redfish), C(fake)) and waits until the node is C(manageable) again.
  - Returns the discovered properties and, where Ironic stores it, a summary of the hardware inventory (CPUs,
    memory, disks, NICs with MACs and LLDP data).
  - A node that was inspected before is not inspected again unless O(force=true), wherever it is now;
    C(changed) means an inspection ran.
  - With O(match_inventory), the discovered hardware is compared with the server description - its
    C(properties) (C(cpus), C(memory_mb), C(local_gb) as minimums, C(cpu_arch) exactly) and its NICs' MACs
    (each must be found, when Ironic stores an inventory) - and every mismatch fails that node.
  - Nodes must be C(manageable) (or C(inspect failed), to retry). A deployed node never inspected (adopted with
    M(rackops.baremetal.node)) is left running, with a message (inspecting it would mean undeploying it).
  - One node or a list; a list runs O(concurrency) nodes at a time and waits with one API call per cycle.
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
    details: Check mode sends no write to Ironic; it reports which nodes would be inspected.
  diff_mode:
    support: full
    details: The diff shows, per node, that an inspection would run (the properties it finds are not known before).
options:
  node:
    description: One server description (C(name) at least), as in the inventory contract. Mutually exclusive with O(nodes).
    type: dict
  nodes:
    description: Server descriptions for a whole fleet; P(rackops.baremetal.inventory_nodes#filter) builds them.
    type: list
    elements: dict
  force:
    description: Inspect nodes that were inspected before.
    type: bool
    default: false
  match_inventory:
    description: Compare the discovered hardware with each server description and fail nodes that do not match.
    type: bool
    default: true
'''

EXAMPLES = r'''
- name: Inspect the fleet and check it against the inventory
  rackops.baremetal.inspect:
    cloud: rackops
    nodes: "{{ groups['baremetal'] | rackops.baremetal.inventory_nodes(hostvars) }}"
  run_once: true
  delegate_to: localhost
'''

RETURN = r'''
nodes:
  description: One entry per node, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: "Node name.", type: str}
    uuid: {description: "Node UUID.", type: str}
    changed: {description: "Whether an inspection ran (or would, in check mode).", type: bool}
    failed: {description: "Whether this node failed (inspection, or a mismatch).", type: bool}
    msg: {description: "What was done, or why it failed.", type: str}
    last_error: {description: "Ironic's last_error for the node.", type: str}
    provision_state: {description: "Provision state at the end.", type: str}
    properties: {description: "The node's properties after inspection.", type: dict}
    inspected_at: {description: "When the last inspection finished.", type: str}
    hardware:
      description: "Summary of Ironic's stored inventory - cpus, cpu_arch, memory_mb, disks, interfaces (name, mac, lldp); null when none is stored."
      type: dict
    mismatches: {description: "Differences between the discovered hardware and the description.", type: list, elements: str}
    elapsed: {description: "Seconds spent on this node.", type: float}
retries:
  description: Calls Ironic answered with HTTP 409 or 503 and that were retried.
  returned: always
  type: list
  elements: dict
'''

from ansible_collections.rackops.baremetal.plugins.module_utils._fleet import MAINTENANCE_FIELDS, WAIT_FIELDS, run_phase
from ansible_collections.rackops.baremetal.plugins.module_utils._fleet_options import (
    FLEET_ARGUMENT_SPEC, FleetTask, fleet_servers, unnamed_problems)
from ansible_collections.rackops.baremetal.plugins.module_utils._hardware import hardware_mismatches, summarize_inventory
from ansible_collections.rackops.baremetal.plugins.module_utils._module import IronicModule
from ansible_collections.rackops.baremetal.plugins.module_utils._states import DEPLOYED, VERBS, action_result
from ansible_collections.rackops.baremetal.plugins.module_utils._waiting import wait_provision

# inspection_finished_at is not an openstacksdk Node attribute: read it raw (API 1.81 has node inventory too).
MICROVERSION = '1.81'
READ_FIELDS = WAIT_FIELDS + MAINTENANCE_FIELDS + ['properties', 'inspection_finished_at', 'inspect_interface']
INSPECTABLE = VERBS['inspect'].starts_from


class InspectManager(FleetTask):
    """Starts the inspections that are needed, waits for the fleet, then reads what was found."""

    def __init__(self, module, servers):
        super().__init__(module, [s['name'] for s in servers])
        self.servers = {s['name']: s for s in servers}
        self.started = []

    def list_records(self):
        # raw: openstacksdk's node has no field for the inspection's end (1.81)
        return self.read_records(READ_FIELDS, MICROVERSION)

    def read(self):
        self.wait_for_others()
        self.records = self.match(self.list_records(), 'no such node in Ironic: enroll it first (rackops.baremetal.node)')

    def start(self, result):
        record = self.records[result.name]
        # Inspected before: done, wherever the node went since (a re-run of a
        # whole provisioning finds it active).
        if record.get('inspection_finished_at') and not self.params['force'] \
                and record['provision_state'] != 'inspect failed':
            result.msg = 'inspected before (%s)' % record['inspection_finished_at']
            return
        if record['provision_state'] in DEPLOYED and not self.params['force']:
            # adopted: a re-run of a whole provisioning finds it active, as it finds one inspected before
            result.msg = 'deployed (%s) and never inspected: left running (inspection needs manageable)' % (
                record['provision_state'])
            return
        if record['provision_state'] not in INSPECTABLE:
            result.fail('is %s: inspection needs manageable (rackops.baremetal.node with provision_state: '
                        'manageable)' % record['provision_state'])
            return
        if not self.admit(result, record, ['inspect'], 'not inspected'):
            return
        result.did('inspect')
        self.diffs.append({'before_header': result.name, 'after_header': result.name,
                           'before': {'inspected_at': record.get('inspection_finished_at')},
                           'after': {'inspected_at': '(now)'}})
        if not self.check:
            self.leave_power_failure(result)
            self.set_provision_state(result, 'inspect')
            self.started.append(result)

    def report(self, result):
        record = self.records[result.name]
        result.extra['properties'] = record.get('properties') or {}
        result.extra['inspected_at'] = record.get('inspection_finished_at')
        if self.check and result.changed:
            return  # not inspected yet: nothing found to compare
        hardware = None
        if record.get('inspection_finished_at'):
            def inventory():
                try:
                    return self.baremetal.get_node_inventory(record['uuid'])
                except Exception as exc:  # pylint: disable=broad-except
                    if getattr(exc, 'status_code', None) == 404:
                        return None  # this inspect interface stores no inventory (fake, some out-of-band)
                    raise
            stored = self.call(result, 'read the inventory of', inventory)
            hardware = summarize_inventory(stored)
        result.extra['hardware'] = hardware
        mismatches = []
        if self.params['match_inventory']:
            mismatches = hardware_mismatches(self.servers[result.name], result.extra['properties'], hardware)
        result.extra['mismatches'] = mismatches
        if mismatches:
            result.fail('hardware does not match the inventory: %s' % '; '.join(mismatches))

    def run(self):
        self.read()
        run_phase(self.results, self.start, self.concurrency)
        if self.started:
            wait_provision(self.module, self.started, *action_result('inspect'),
                           self.params['timeout'], self.params['wait_interval'])
        # what inspection found: the records again
        self.refresh(self.list_records(), [r for r in self.results if r.name in self.records])
        run_phase(self.results, self.report, self.concurrency)


def main():
    argument_spec = dict(
        node=dict(type='dict'),
        nodes=dict(type='list', elements='dict'),
        force=dict(type='bool', default=False),
        match_inventory=dict(type='bool', default=True),
    )
    argument_spec.update(FLEET_ARGUMENT_SPEC)
    module = IronicModule(argument_spec, supports_check_mode=True, carries_secrets=True,
                          mutually_exclusive=[('node', 'nodes')], required_one_of=[('node', 'nodes')])
    servers = fleet_servers(module)
    for problem in unnamed_problems(servers):
        module.fail(problem)
    manager = InspectManager(module, servers)
    manager.run()
    module.exit_fleet(manager.results, manager.diffs)


if __name__ == '__main__':
    main()
