#!/usr/bin/python
# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: clean
short_description: Clean bare-metal nodes through Ironic, automatically (provide) or with given steps
version_added: 0.1.0
description:
  - Without O(steps), I(provides) the nodes - Ironic's automated cleaning - so that they end C(available).
    Nodes already C(available), or deployed, are left alone.
  - With O(steps), runs I(manual cleaning) with exactly those steps (for example C(deploy.erase_devices_metadata),
    C(raid.create_configuration) after O(target_raid_config), C(bios.apply_configuration)); the nodes end
    C(manageable), or C(available) with O(provide=true). C(available) nodes are moved to C(manageable) first.
    The steps that ran are recorded in the node's C(extra) (key C(rackops_clean)), so a second run with the same
    steps changes nothing unless O(force=true).
  - The steps are checked before anything is written; a step Ironic does not know for a node fails that node
    with Ironic's message naming the step.
  - When cleaning fails, the node's result names the failing step and Ironic's C(last_error), and (with
    O(recover=true)) the node is brought back from C(clean failed) to C(manageable), out of the maintenance
    mode the failure set, so that a re-run retries it.
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
    details: Check mode sends no write to Ironic; it reports which nodes would be cleaned and how.
  diff_mode:
    support: full
    details: The diff shows, per node, the provision state and recorded clean steps before and after.
options:
  node:
    description: One server description (C(name) at least), as in the inventory contract. Mutually exclusive with O(nodes).
    type: dict
  nodes:
    description: Server descriptions for a whole fleet; P(rackops.baremetal.inventory_nodes#filter) builds them.
    type: list
    elements: dict
  steps:
    description:
      - Manual clean steps, run in this order. Without them the nodes are provided (automated cleaning).
    type: list
    elements: dict
    suboptions:
      interface:
        description: The driver interface the step belongs to.
        type: str
        required: true
        choices: [bios, deploy, firmware, management, power, raid, vendor]
      step:
        description: The step's name, for example C(erase_devices_metadata).
        type: str
        required: true
      args:
        description: The step's arguments.
        type: dict
  provide:
    description:
      - With O(steps), provide the nodes after the manual cleaning (automated cleaning, then C(available)).
      - Without O(steps), providing is what the task does.
    type: bool
    default: false
  target_raid_config:
    description:
      - The RAID configuration to set on the nodes before the steps run (what C(raid.create_configuration)
        builds), in Ironic's format (C(logical_disks)). Set only where it differs.
    type: dict
  disable_ramdisk:
    description: Run the manual steps without booting the deploy ramdisk (only steps that do not need it).
    type: bool
    default: false
  force:
    description: Run the manual steps again on nodes that ran exactly these steps before.
    type: bool
    default: false
  recover:
    description:
      - After a failed cleaning, move the node from C(clean failed) back to C(manageable) and out of the maintenance
        mode the failure set, so a re-run retries it. Its result stays failed, with the step and C(last_error).
    type: bool
    default: true
'''

EXAMPLES = r'''
- name: Clean the fleet (automated cleaning) so it is available
  rackops.baremetal.clean:
    cloud: rackops
    nodes: "{{ groups['baremetal'] | rackops.baremetal.inventory_nodes(hostvars) }}"
  run_once: true
  delegate_to: localhost

- name: Wipe disk metadata and rebuild RAID, then make the nodes available
  rackops.baremetal.clean:
    cloud: rackops
    nodes: "{{ groups['baremetal'] | rackops.baremetal.inventory_nodes(hostvars) }}"
    target_raid_config:
      logical_disks:
        - {size_gb: MAX, raid_level: "1", is_root_volume: true}
    steps:
      - {interface: raid, step: delete_configuration}
      - {interface: raid, step: create_configuration}
      - {interface: deploy, step: erase_devices_metadata}
    provide: true
  run_once: true
  delegate_to: localhost

- name: Apply BIOS settings
  rackops.baremetal.clean:
    cloud: rackops
    node: {name: rack1-u07}
    steps:
      - interface: bios
        step: apply_configuration
        args:
          settings:
            - {name: ProcVirtualization, value: Enabled}
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
    changed: {description: "Whether the node was cleaned or moved (or would be, in check mode).", type: bool}
    failed: {description: "Whether this node failed.", type: bool}
    msg: {description: "What was done, or why it failed.", type: str}
    actions: {description: "The provision actions asked for, in order (manage, clean, provide, ...).", type: list, elements: str}
    last_error: {description: "Ironic's last_error for the node.", type: str}
    failed_step: {description: "The clean step (interface.step) the node failed on, when Ironic names one.", type: str}
    recovered: {description: "Whether the node was brought back to manageable after its failure.", type: bool}
    provision_state: {description: "Provision state at the end.", type: str}
    power_state: {description: "Power state at the end.", type: str}
    cleaned_at: {description: "When the manual steps last finished on this node, as recorded in its extra.", type: str}
    elapsed: {description: "Seconds spent on this node.", type: float}
retries:
  description: Calls Ironic answered with HTTP 409 or 503 and that were retried.
  returned: always
  type: list
  elements: dict
'''

import datetime

from ansible_collections.rackops.baremetal.plugins.module_utils._cleaning import (
    MARKER_KEY, failed_step, marker, ran_before, step_names, step_problems)
from ansible_collections.rackops.baremetal.plugins.module_utils._fleet import MAINTENANCE_FIELDS, WAIT_FIELDS, NodeResult, run_phase
from ansible_collections.rackops.baremetal.plugins.module_utils._fleet_options import (
    FLEET_ARGUMENT_SPEC, LEAVE_POWER_FAILURE, FleetTask, fleet_servers, unnamed_problems)
from ansible_collections.rackops.baremetal.plugins.module_utils._module import IronicModule
from ansible_collections.rackops.baremetal.plugins.module_utils._states import DEPLOYED, VERBS, action_result
from ansible_collections.rackops.baremetal.plugins.module_utils._waiting import wait_provision

READ_FIELDS = WAIT_FIELDS + MAINTENANCE_FIELDS + ['extra', 'target_raid_config']
# target_raid_config came with API 1.12
RAID_MICROVERSION = '1.12'
# The fault Ironic sets with maintenance when a clean step fails: ours to clear on a retry.
CLEAN_FAULT = 'clean failure'


class CleanManager(FleetTask):
    """Prepares, cleans, records, provides and, on failure, recovers the nodes, one phase at a time."""

    def __init__(self, module, servers):
        super().__init__(module, [s['name'] for s in servers])
        self.steps = [dict(s, args=s.get('args') or {}) for s in module.params['steps'] or []]
        self.manual = bool(self.steps)
        self.provide = module.params['provide'] or not self.manual
        self.todo = {}  # name -> the actions still to ask for, in order

    # -- reading ---------------------------------------------------------------
    def list_records(self):
        return self.module.call('list nodes', lambda: list(self.baremetal.nodes(fields=READ_FIELDS)))

    # -- planning --------------------------------------------------------------
    def plan(self, result):
        record = self.records[result.name]
        state = record.provision_state
        actions = []
        in_clean_failure = record.is_maintenance and record.fault == CLEAN_FAULT
        if self.manual:
            # past cleaning: an instance is on it
            if state in DEPLOYED:
                result.fail('is %s: manual cleaning needs manageable or available (undeploy it first: '
                            'rackops.baremetal.deploy with state: available)' % state)
                return
            if state not in ('manageable', 'available', 'clean failed'):
                result.fail('is %s: manual cleaning needs manageable (rackops.baremetal.node with '
                            'provision_state: manageable)' % state)
                return
            before = ran_before(record.extra, self.steps)
            if before and state != 'clean failed' and not self.params['force']:
                result.extra['cleaned_at'] = before
                result.msg = 'cleaned with these steps before (%s)' % before
            else:
                actions = ['manage'] if state != 'manageable' else []
                actions.append('clean')
            if self.provide and (actions or state == 'manageable'):
                actions.append('provide')
        else:
            if state in DEPLOYED or state == 'available':
                result.msg = 'already %s: not cleaned' % state
                return
            if state not in ('manageable', 'clean failed'):
                result.fail('is %s: providing needs manageable (rackops.baremetal.node with '
                            'provision_state: manageable)' % state)
                return
            actions = (['manage'] if state == 'clean failed' else []) + ['provide']
        if actions and in_clean_failure:
            actions.insert(0, 'clear maintenance')
        elif actions and not self.admit(result, record, actions, 'not cleaned'):
            return
        raid = self.params['target_raid_config']
        if raid is not None and 'clean' in actions and (record.target_raid_config or {}) != raid:
            actions.insert(actions.index('clean'), 'set target_raid_config')
        for action in actions:
            result.did(action)
        if result.msg and actions:
            result.msg += '; ' + '; '.join(actions)
        # (admit() has recorded the power-failure maintenance's end as a change)
        self.todo[result.name] = ([LEAVE_POWER_FAILURE] if result.name in self.power_failures else []) + actions
        if actions:
            self.diffs.append(self.diff(result, record, actions))

    def diff(self, result, record, actions):
        after_state = VERBS[actions[-1]].done
        before = {'provision_state': record.provision_state}
        after = {'provision_state': after_state}
        if self.manual:
            before['clean_steps'] = ((record.extra or {}).get(MARKER_KEY) or {}).get('steps')
            after['clean_steps'] = step_names(self.steps) if 'clean' in actions else before['clean_steps']
        if 'set target_raid_config' in actions:
            before['target_raid_config'] = record.target_raid_config or {}
            after['target_raid_config'] = self.params['target_raid_config']
        return {'before_header': result.name, 'after_header': result.name, 'before': before, 'after': after}

    # -- acting ----------------------------------------------------------------
    def pending(self, action):
        """The nodes (still in the running) whose next action is ``action``."""
        return [r for r in self.results if not r.failed and self.todo.get(r.name)
                and self.todo[r.name][0] == action]

    def ask(self, action, fn):
        """Ask for ``action`` on the nodes due for it; a provision verb is waited for (the state table's
        done and failed states)."""
        due = self.pending(action)
        if not due:
            return

        def one(result):
            self.todo[result.name].pop(0)
            fn(result)
        run_phase(due, one, self.concurrency)
        if action in VERBS:
            wait_provision(self.module, [r for r in due if not r.failed], *action_result(action),
                           self.params['timeout'], self.params['wait_interval'])

    def set_raid(self, result):
        self.put_node(result, 'set the target RAID configuration of', 'states/raid', self.params['target_raid_config'],
                      RAID_MICROVERSION)

    def leave_maintenance(self, result):
        self.call(result, 'leave maintenance on', self.baremetal.unset_node_maintenance, result.uuid)

    def clean(self, result):
        body = {'clean_steps': self.steps}
        if self.params['disable_ramdisk']:
            body['disable_ramdisk'] = True
        self.set_provision_state(result, 'clean', **body)

    def record_steps(self, result):
        """The steps ran: say so in the node's extra, for the next run's idempotency."""
        finished = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
        self.call(result, 'record the clean steps on', self.baremetal.patch_node, result.uuid,
                  [{'op': 'add', 'path': '/extra/%s' % MARKER_KEY, 'value': marker(self.steps, finished)}])
        result.extra['cleaned_at'] = finished

    def explain_failures(self):
        for result in self.results:
            if result.failed and self.todo.get(result.name) is not None:
                step = failed_step(result.last_error)
                result.extra['failed_step'] = step
                if step and result.provision_state == 'clean failed':
                    result.msg = 'clean step %s failed' % step

    def recover(self):
        """Bring the nodes that ended in clean failed back to manageable (their results stay failed)."""
        stuck = [r for r in self.results if r.failed and r.provision_state == 'clean failed' and r.uuid]
        if not stuck:
            return
        self.refresh(self.list_records(), stuck)
        shadows = {}
        for result in stuck:
            shadows[result.name] = NodeResult(result.name)
            shadows[result.name].uuid = result.uuid

        def one(shadow):
            record = self.records[shadow.name]
            self.set_provision_state(shadow, 'manage')
            if record.is_maintenance and record.fault == CLEAN_FAULT:
                self.leave_maintenance(shadow)
            # these steps did not finish: the next run must not take them for done
            if MARKER_KEY in (record.extra or {}):
                self.call(shadow, 'forget the clean steps of', self.baremetal.patch_node, shadow.uuid,
                          [{'op': 'remove', 'path': '/extra/%s' % MARKER_KEY}])
        run_phase(list(shadows.values()), one, self.concurrency)
        wait_provision(self.module, [s for s in shadows.values() if not s.failed], *action_result('manage'),
                       self.params['timeout'], self.params['wait_interval'])
        for result in stuck:
            shadow = shadows[result.name]
            result.extra['recovered'] = not shadow.failed
            result.provision_state = shadow.provision_state or result.provision_state
            result.msg += ('; back in manageable, out of maintenance: fix the cause and re-run' if not shadow.failed
                           else '; could not bring it back to manageable: %s' % shadow.msg)

    def run(self):
        self.wait_for_others()
        self.records = self.match(self.list_records(),
                                  'no such node in Ironic: enroll it first (rackops.baremetal.node)')
        run_phase(self.results, self.plan, 1)
        if self.check:
            return
        self.ask(LEAVE_POWER_FAILURE, self.leave_power_failure)
        self.ask('clear maintenance', self.leave_maintenance)
        self.ask('manage', lambda r: self.set_provision_state(r, 'manage'))
        self.ask('set target_raid_config', self.set_raid)
        self.ask('clean', self.clean)
        run_phase([r for r in self.results if 'clean' in r.actions], self.record_steps, self.concurrency)
        self.ask('provide', lambda r: self.set_provision_state(r, 'provide'))
        self.explain_failures()
        if self.params['recover']:
            self.recover()


def main():
    argument_spec = dict(
        node=dict(type='dict'),
        nodes=dict(type='list', elements='dict'),
        steps=dict(type='list', elements='dict', options=dict(
            interface=dict(type='str', required=True,
                           choices=['bios', 'deploy', 'firmware', 'management', 'power', 'raid', 'vendor']),
            step=dict(type='str', required=True),
            args=dict(type='dict'),
        )),
        provide=dict(type='bool', default=False),
        target_raid_config=dict(type='dict'),
        disable_ramdisk=dict(type='bool', default=False),
        force=dict(type='bool', default=False),
        recover=dict(type='bool', default=True),
    )
    argument_spec.update(FLEET_ARGUMENT_SPEC)
    module = IronicModule(argument_spec, supports_check_mode=True, carries_secrets=True,
                          mutually_exclusive=[('node', 'nodes')], required_one_of=[('node', 'nodes')])
    servers = fleet_servers(module)
    problems = unnamed_problems(servers)
    if module.params['steps']:  # an empty list is no steps: provide
        problems += step_problems(module.params['steps'])
    if problems:
        module.fail('; '.join(problems))
    manager = CleanManager(module, servers)
    manager.run()
    module.exit_fleet(manager.results, manager.diffs)


if __name__ == '__main__':
    main()
