#!/usr/bin/python
# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: rescue
short_description: Rescue deployed bare-metal nodes through Ironic, and bring them back
version_added: 0.1.0
description:
  - V(rescued) boots each deployed (C(active)) node into the rescue ramdisk - Ironic's C(agent) rescue interface,
    the deploy agent's ramdisk by default - where user C(rescue) logs in with O(password) (on the serial console,
    or over SSH where the ramdisk runs sshd). The disk is left as it is, for repairs. Waits until Ironic reports
    the node in C(rescue).
  - V(unrescued) boots each rescued node from its disk again and waits until it is C(active).
  - Idempotent - a node already as wanted is left alone. A node in C(rescue) is not rescued again to change its
    password; unrescue it first.
  - A node whose rescue interface is C(no-rescue) (Ironic's default) fails, saying so. The inventory's
    C(interfaces.rescue=agent) gives it one - M(rackops.baremetal.node) sets it on a deployed node too, in a short
    maintenance window (Ironic changes a deployed node's interfaces only in maintenance).
  - One node or a list; a list runs O(concurrency) nodes at a time and waits with one API call per cycle. A node
    that fails is reported with Ironic's C(last_error); the others go on.
author:
  - rackops.baremetal developers (@rackops)
extends_documentation_fragment:
  - rackops.baremetal.auth
  - rackops.baremetal.fleet
  - rackops.baremetal._attributes
  - rackops.baremetal._attributes.ACTIONGROUP_IRONIC
attributes:
  check_mode:
    support: full
    details: Check mode sends no write to Ironic; it reports which nodes would be rescued or brought back.
  diff_mode:
    support: full
    details: The diff shows each node's provision state before and after.
options:
  node:
    description: Name or UUID of one node. Mutually exclusive with O(nodes).
    type: str
  nodes:
    description: Names or UUIDs of several nodes.
    type: list
    elements: str
  state:
    description: V(rescued) boots the nodes into the rescue ramdisk; V(unrescued) boots them from their disks again.
    type: str
    choices: [rescued, unrescued]
    default: rescued
  password:
    description:
      - The password of user C(rescue) in the rescue ramdisk; required with O(state=rescued). Ironic keeps only its
        hash. Never printed (give it from a vault).
    type: str
notes:
  - The C(ironic) role points Ironic's rescue ramdisk (C([conductor]rescue_kernel) and C(rescue_ramdisk)) at the
    deploy ramdisk, whose agent creates user C(rescue) (ironic-python-agent-builder's images do).
'''

EXAMPLES = r'''
- name: Boot a broken server into the rescue ramdisk
  rackops.baremetal.rescue:
    cloud: rackops
    node: rack1-u07
    password: "{{ vault_rescue_password }}"

- name: And back to its own OS
  rackops.baremetal.rescue:
    cloud: rackops
    node: rack1-u07
    state: unrescued
'''

RETURN = r'''
nodes:
  description: One entry per node, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: "Node name or UUID as given.", type: str}
    uuid: {description: "Node UUID.", type: str}
    changed: {description: "Whether this node was rescued or brought back (or would be, in check mode).", type: bool}
    failed: {description: "Whether this node failed.", type: bool}
    msg: {description: "What was done, or why it failed.", type: str}
    actions: {description: "The changes made, in order.", type: list, elements: str}
    last_error: {description: "Ironic's last_error for the node.", type: str}
    provision_state: {description: "Provision state at the end.", type: str}
    power_state: {description: "Power state.", type: str}
    elapsed: {description: "Seconds spent on this node.", type: float}
retries:
  description: Calls Ironic answered with HTTP 409 or 503 and that were retried.
  returned: always
  type: list
  elements: dict
'''

from ansible_collections.rackops.baremetal.plugins.module_utils._fleet import MAINTENANCE_FIELDS, WAIT_FIELDS, run_phase
from ansible_collections.rackops.baremetal.plugins.module_utils._fleet_options import FLEET_ARGUMENT_SPEC, FleetTask
from ansible_collections.rackops.baremetal.plugins.module_utils._module import IronicModule
from ansible_collections.rackops.baremetal.plugins.module_utils._states import VERBS, action_result
from ansible_collections.rackops.baremetal.plugins.module_utils._waiting import wait_provision

READ_FIELDS = WAIT_FIELDS + MAINTENANCE_FIELDS + ['rescue_interface']
# the lowest API version that has those fields (rescue_interface 1.38, fault 1.42)
READ_MICROVERSION = '1.42'
# the state each state= asks for, and the verb that gets a node there
WANTED = {'rescued': ('rescue', 'rescue'), 'unrescued': ('active', 'unrescue')}


def rescue_plan(state, provision_state, rescue_interface):
    """What to do with one node: (the verb to ask, or None when it is as wanted already, or why it cannot be done).

    Returns (verb, None), (None, None) or (None, the reason it fails)."""
    wanted, verb = WANTED[state]
    if provision_state == wanted:
        return None, None
    if provision_state not in VERBS[verb].starts_from:
        needs = 'a deployed (active) node' if verb == 'rescue' else 'a rescued node'
        return None, 'is %s: %s needs %s' % (provision_state, verb, needs)
    if verb == 'rescue' and rescue_interface in (None, '', 'no-rescue'):
        return None, ("has rescue interface %s: give it interfaces.rescue: agent in the inventory and run enroll.yml "
                      "(rackops.baremetal.node sets it while the node runs)" % (rescue_interface or 'none'))
    return verb, None


class RescueManager(FleetTask):
    """Asks each node that needs it to rescue or unrescue, then waits for the fleet."""

    def __init__(self, module, names):
        super().__init__(module, names)
        self.started = []

    def list_records(self):
        return self.read_records(READ_FIELDS, READ_MICROVERSION)

    def start(self, result):
        record = self.records[result.name]
        state = self.params['state']
        verb, problem = rescue_plan(state, record['provision_state'], record.get('rescue_interface'))
        if problem:
            result.fail(problem)
            return
        if verb is None:
            result.msg = 'in %s already' % record['provision_state']
            return
        if not self.admit(result, record, [verb], 'not rescued' if verb == 'rescue' else 'still rescued'):
            return
        result.did(verb)
        self.diffs.append({'before_header': result.name, 'after_header': result.name,
                           'before': {'provision_state': record['provision_state']},
                           'after': {'provision_state': WANTED[state][0]}})
        if self.check:
            return
        self.leave_power_failure(result)
        if verb == 'rescue':
            self.set_provision_state(result, 'rescue', rescue_password=self.params['password'])
        else:
            self.set_provision_state(result, 'unrescue')
        self.started.append((verb, result))

    def run(self):
        self.wait_for_others()
        self.records = self.match(self.list_records())
        run_phase(self.results, self.start, self.concurrency)
        for verb in ('rescue', 'unrescue'):
            started = [result for started_verb, result in self.started if started_verb == verb]
            if started:
                wait_provision(self.module, started, *action_result(verb), self.params['timeout'],
                               self.params['wait_interval'])


def main():
    argument_spec = dict(
        node=dict(type='str'),
        nodes=dict(type='list', elements='str'),
        state=dict(type='str', choices=['rescued', 'unrescued'], default='rescued'),
        password=dict(type='str', no_log=True),
    )
    argument_spec.update(FLEET_ARGUMENT_SPEC)
    module = IronicModule(argument_spec, supports_check_mode=True, mutually_exclusive=[('node', 'nodes')],
                          required_one_of=[('node', 'nodes')], required_if=[('state', 'rescued', ['password'])])
    if module.params['password'] is not None and not module.params['password'].strip():
        module.fail('password: empty; user rescue needs one to log in')
    names = module.params['nodes'] if module.params['nodes'] is not None else [module.params['node']]
    manager = RescueManager(module, names)
    manager.run()
    module.exit_fleet(manager.results, manager.diffs)


if __name__ == '__main__':
    main()
