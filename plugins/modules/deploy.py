#!/usr/bin/python
# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: deploy
short_description: Deploy an image to bare-metal nodes, or undeploy them, through Ironic
version_added: 0.1.0
description:
  - V(active) writes the image into the node's C(instance_info), builds a config drive (SSH keys, host name,
    user data, network data) with openstacksdk's helpers, deploys and waits through C(wait call-back) to
    C(active).
  - V(available) undeploys - C(deleting), automated cleaning, C(available).
  - Idempotent - an active node already running the requested image is not touched; another image is a
    change only with O(rebuild) (otherwise the node fails with a clear message). A node in C(deploy failed)
    is deployed again (powered off first when its failed deploy left the agent running), so a re-run after
    fixing the input converges. Undeploying a node that is not deployed changes nothing.
  - What a deploy wrote is recorded in the node's C(instance_info) (C(rackops_image), a digest), because Ironic rewrites
    the checksum keys when it serves the image itself; the record, not those keys, says which image runs.
  - Nodes must be C(available) to be deployed (M(rackops.baremetal.node) with C(provision_state=available));
    nodes busy with a transition are reported, not touched.
  - One node or a list; a list runs O(concurrency) nodes at a time and waits with one API call per cycle.
author:
  - rackops.baremetal developers (@rackops)
requirements:
  - genisoimage, mkisofs or xorrisofs on the controller, for config drives
extends_documentation_fragment:
  - rackops.baremetal.auth
  - rackops.baremetal.fleet
  - rackops.baremetal.maintenance
  - rackops.baremetal._attributes
  - rackops.baremetal._attributes.ACTIONGROUP_IRONIC
attributes:
  check_mode:
    support: full
    details: Check mode sends no write to Ironic; it reports, per node, what would be done.
  diff_mode:
    support: full
    details: The diff shows, per node, the provision state and image before and after.
options:
  node:
    description:
      - One server description, as in the inventory contract - C(name), and for V(active) an C(image); C(nics),
        C(ssh_keys), C(user_data), C(network) and C(hostname) feed the config drive. Mutually exclusive with
        O(nodes).
      - C(deploy_templates) names Ironic deploy templates (traits such as C(CUSTOM_RAID1)) whose steps Ironic
        adds to the deploy. They must exist in Ironic (the node fails, naming the unknown ones, before anything
        is written); the deploy adds those the node lacks to its traits. Other templates on an active node are a
        change only with O(rebuild).
    type: dict
  nodes:
    description:
      - Server descriptions for a whole fleet. See O(node). P(rackops.baremetal.inventory_nodes#filter) builds
        this list from an inventory group.
    type: list
    elements: dict
  state:
    description: V(active) deploys; V(available) undeploys.
    type: str
    choices: [active, available]
    default: active
  rebuild:
    description: Re-image active nodes whose image differs from the requested one.
    type: bool
    default: false
  config_drive:
    description:
      - Build and send a config drive. By default, only for servers with C(ssh_keys), C(user_data),
        C(network) or C(hostname).
    type: bool
  deploy_steps:
    description:
      - Deploy steps for Ironic (interface, step, args, priority), for every node of the task. Per node, see
        C(deploy_templates) in O(node).
    type: list
    elements: dict
  progress_file:
    description:
      - A file on the host that runs the task, rewritten while it runs with how far it is, as one JSON object -
        C(phase) (V(requests), then V(waiting)), C(line) (for a person), C(states) (node count per provision
        state; nodes this task failed count as C(failed)), C(requested) and C(total). Removed when the task ends.
      - For a play that runs the task with C(async) and prints progress while it waits
        (C(rackops.baremetal.provision) does). The file's directory must exist.
    type: path
'''

EXAMPLES = r'''
- name: Deploy every server of the group with its image
  rackops.baremetal.deploy:
    cloud: rackops
    nodes: "{{ groups['baremetal'] | rackops.baremetal.inventory_nodes(hostvars) }}"
  run_once: true
  delegate_to: localhost

- name: Undeploy one server
  rackops.baremetal.deploy:
    cloud: rackops
    node: {name: rack1-u12}
    state: available
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
    changed: {description: "Whether this node changed (or would, in check mode).", type: bool}
    failed: {description: "Whether this node failed.", type: bool}
    msg: {description: "What was done, or why it failed.", type: str}
    actions: {description: "The changes made, in order.", type: list, elements: str}
    last_error: {description: "Ironic's last_error for the node.", type: str}
    provision_state: {description: "Provision state at the end.", type: str}
    power_state: {description: "Power state at the end.", type: str}
    image: {description: "The image source the node runs (or will) at the end; null when undeployed.", type: str}
    elapsed: {description: "Seconds spent on this node.", type: float}
timings:
  description: Seconds per phase of the task (read, submit, wait).
  returned: always
  type: dict
retries:
  description: Calls Ironic answered with HTTP 409 or 503 and that were retried.
  returned: always
  type: list
  elements: dict
'''

import traceback

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.rackops.baremetal.plugins.module_utils._errors import BaremetalError
from ansible_collections.rackops.baremetal.plugins.module_utils._fleet import MAINTENANCE_FIELDS, WAIT_FIELDS, run_phase
from ansible_collections.rackops.baremetal.plugins.module_utils._fleet_options import (
    FLEET_ARGUMENT_SPEC, FleetTask, fleet_servers)
from ansible_collections.rackops.baremetal.plugins.module_utils._instance import (
    IMAGE_RECORD_KEY, image_patch, instance_info, meta_data, missing_traits, network_data, plan_deploy, pxe_mac, runs_image,
    wants_config_drive)
from ansible_collections.rackops.baremetal.plugins.module_utils._inventory import (
    HAS_JSONSCHEMA, JSONSCHEMA_IMPORT_ERROR, validate_fleet)
from ansible_collections.rackops.baremetal.plugins.module_utils._module import IronicModule
from ansible_collections.rackops.baremetal.plugins.module_utils._progress import ProgressFile
from ansible_collections.rackops.baremetal.plugins.module_utils._states import VERBS, action_result
from ansible_collections.rackops.baremetal.plugins.module_utils._waiting import wait_power, wait_provision

try:
    from openstack.baremetal import configdrive
except ImportError:
    configdrive = None
    CONFIGDRIVE_IMPORT_ERROR = traceback.format_exc()
else:
    CONFIGDRIVE_IMPORT_ERROR = None

READ_FIELDS = WAIT_FIELDS + MAINTENANCE_FIELDS + ['instance_info', 'traits']


class DeployManager(FleetTask):
    """Decides per node, submits every deploy/undeploy, waits for the fleet."""

    def __init__(self, module, servers):
        super().__init__(module, [s['name'] for s in servers])
        self.servers = {s['name']: s for s in servers}
        self.nodes = {}
        self.actions = {}
        self.templates = set()

    def read(self):
        self.wait_for_others()
        nodes = self.module.call('list nodes', lambda: list(self.baremetal.nodes(fields=READ_FIELDS)))
        missing = 'no such node in Ironic: enroll it first (rackops.baremetal.node)'

        def if_missing(result):
            if self.check and self.params['state'] == 'active':
                # a check run of a whole provisioning: enrollment would create it
                result.did('deploy (once enrolled and available)')
            else:
                result.fail(missing)
        self.nodes = self.match(nodes, missing, if_missing)
        if self.params['state'] == 'active' and any(s.get('deploy_templates') for s in self.servers.values()):
            self.templates = self.module.call('list deploy templates', lambda: {
                t.name for t in self.baremetal.deploy_templates()})
        for result in self.results:
            if result.name in self.nodes:
                result.extra['image'] = (self.nodes[result.name].instance_info or {}).get('image_source')

    def decide(self, result):
        if result.name not in self.nodes:
            return  # check mode, not enrolled yet (see read)
        server, node = self.servers[result.name], self.nodes[result.name]
        wanted = self.params['state'] == 'active'
        info = instance_info(server)
        if wanted and not info.get('image_source'):
            result.fail('no image: give image.source (and image.checksum) in the server description')
            return
        unknown = [t for t in info.get('traits') or () if t not in self.templates] if wanted else []
        if unknown:
            # Ironic would deploy without them, silently
            result.fail('deploy_templates: no such Ironic deploy template: %s' % ', '.join(unknown))
            return
        if self.follow_another_run(result, node, wanted):
            return
        action, msg = plan_deploy(node.provision_state, node.target_provision_state, wanted,
                                  runs_image(node.instance_info, info), self.params['rebuild'])
        if action == 'fail' and self.check and node.provision_state in ('enroll', 'manageable'):
            # a check run of a whole provisioning: enrollment would make it available
            action, msg = 'active', 'deploy (once available; now %s)' % node.provision_state
        if action == 'fail':
            result.fail(msg)
            return
        if action is None:
            result.msg = msg
            result.stop_clock()
            return
        if not self.admit(result, node, [action], 'not undeployed' if action == 'deleted' else 'not deployed'):
            return
        self.actions[result.name] = action
        done_state = action_result(action)[0]
        after_image = info.get('image_source') if action != 'deleted' else None
        result.did(msg)
        before = {'provision_state': node.provision_state, 'image': result.extra['image']}
        after = {'provision_state': done_state, 'image': after_image}
        before_templates = (node.instance_info or {}).get('traits')
        after_templates = info.get('traits') if action != 'deleted' else None
        if before_templates or after_templates:
            before['deploy_templates'], after['deploy_templates'] = before_templates, after_templates
        # Ironic refuses instance traits the node lacks: the deploy adds them first
        new_traits = missing_traits(node.traits, info) if action != 'deleted' else []
        result.actions.extend('add trait %s' % t for t in new_traits)
        self.diffs.append({'before_header': result.name, 'after_header': result.name, 'before': before, 'after': after})
        if self.check:
            result.provision_state = done_state
            result.extra['image'] = after_image
            return
        self.leave_power_failure(result)
        if action != 'deleted':
            self.submit_deploy(result, server, node, info, action, new_traits)
        else:
            self.set_provision_state(result, 'deleted', operation='undeploy')
        result.extra['image'] = after_image

    def submit_deploy(self, result, server, node, info, action, new_traits):
        try:
            self.ask_deploy(result, server, node, info, action, new_traits)
        except BaremetalError as exc:
            if not self.deployed_by_another_run(result, node, action, exc):
                raise

    def ask_deploy(self, result, server, node, info, action, new_traits):
        # one by one, so traits managed elsewhere stay
        for trait in new_traits:
            self.call(result, 'add the deploy template trait %s to' % trait, self.baremetal.add_node_trait,
                      node.id, trait)
        self.call(result, 'write the image of', self.baremetal.patch_node, node.id,
                  image_patch(node.instance_info, info))
        drive = self.config_drive(result, server, node)
        body = {}
        if drive is not None:
            body['configdrive'] = drive
        if self.params['deploy_steps']:
            body['deploy_steps'] = self.params['deploy_steps']
        try:
            self.set_provision_state(result, action, operation='deploy' if action == 'active' else 'rebuild', **body)
        except BaremetalError:
            if action == 'rebuild':
                # Refused (e.g. a deploy template Ironic rejects): the node still
                # runs its old image, so the record must not say the new one, or a re-run
                # would find nothing to do
                self.call(result, 'restore the image record of', self.baremetal.patch_node, node.id, [
                    {'op': 'add', 'path': '/instance_info/%s' % IMAGE_RECORD_KEY,
                     'value': (node.instance_info or {}).get(IMAGE_RECORD_KEY) or 'not-rebuilt'}])
            raise

    def follow_another_run(self, result, node, wanted):
        """A node another run set on its way where this task takes it, after wait_for_others() looked
        (the same playbook started twice): wait for that transition with the task's own, not fail."""
        verb = VERBS['active' if wanted else 'deleted']
        if node.provision_state not in verb.transitional or node.target_provision_state != verb.done:
            return False
        self.actions[result.name] = verb.target
        result.extra['note'] = ('another run set it on its way to %s (now %s): waited for it, not asked again'
                                % (verb.done, node.provision_state))
        return True

    def deployed_by_another_run(self, result, node, action, exc):
        """Whether a refused deploy lost a race: another run (the same playbook started twice, from here
        or from AWX) asked the same of the node between this task's read and its requests. Ironic took
        that run's deploy and refused this one's image write (409: a transition is in progress) or its
        deploy request; the node is on its way, so this task waits for it like for its own, without
        asking a second time."""
        if exc.status_code not in (400, 409):
            return False
        now = self.call(result, 'read the provision state of', self.baremetal.get_node, node.id, fields=WAIT_FIELDS)
        verb = VERBS[action]
        # (a rebuild starts from active: only a transition under way tells another run's apart)
        if now.provision_state not in verb.transitional + ((verb.done,) if action == 'active' else ()):
            return False
        result.extra['note'] = ('another run asked for its %s a moment before this one (now %s): waited for it, '
                                'not asked again' % (action, now.provision_state))
        return True

    def config_drive(self, result, server, node):
        wanted = self.params['config_drive']
        if wanted is False or (wanted is None and not wants_config_drive(server)):
            return None
        user_data = server.get('user_data')
        try:
            return configdrive.build(meta_data(server, node.id),
                                     user_data=user_data.encode() if isinstance(user_data, str) else user_data,
                                     network_data=network_data(server, pxe_mac(server)))
        except (RuntimeError, OSError) as exc:
            raise BaremetalError('build the config drive of', node=result.name, message=str(exc)) from None

    def restart_failed(self):
        """Power off nodes whose failed deploy left their agent running, before anything else is asked of them.

        Ironic drops the agent's token when a deploy fails, but with fast track it
        reuses a recently heard agent instead of booting a new one: the old agent's
        heartbeats are then refused and the next deploy (or the cleaning after an
        undeploy) waits for it for ever. Off, the node boots a fresh agent.
        """
        stale = [r for r in self.results if not r.failed and r.name in self.nodes
                 and self.nodes[r.name].provision_state == 'deploy failed'
                 and self.nodes[r.name].power_state == 'power on']
        if not stale or self.check:
            return

        def power_off(result):
            result.did('power off (its failed deploy left the deploy agent running)')
            self.call(result, 'power off', self.baremetal.set_node_power_state, self.nodes[result.name].id, 'power off')
        run_phase(stale, power_off, self.concurrency)
        wait_power(self.module, [r for r in stale if not r.failed], self.params['timeout'], self.params['wait_interval'],
                   want={r.uuid: 'power off' for r in stale})

    def run(self):
        progress = ProgressFile(self.params['progress_file'], self.results)
        try:
            self.deploy(progress)
        finally:
            progress.remove()

    def deploy(self, progress):
        self.timed('read', self.read)
        self.timed('restart', self.restart_failed)
        self.timed('submit', lambda: run_phase(self.results, progress.counting(self.decide), self.concurrency))
        if self.check:
            return
        for action in ('active', 'rebuild', 'deleted'):
            acting = [r for r in self.results if self.actions.get(r.name) == action and not r.failed]
            if acting:
                done_state, failed_states = action_result(action)
                self.timed('wait', lambda: wait_provision(self.module, acting, done_state, failed_states,
                                                          self.params['timeout'], self.params['wait_interval'],
                                                          progress=progress.cycle))


def main():
    argument_spec = dict(
        node=dict(type='dict'),
        nodes=dict(type='list', elements='dict'),
        state=dict(type='str', choices=['active', 'available'], default='active'),
        rebuild=dict(type='bool', default=False),
        config_drive=dict(type='bool'),
        deploy_steps=dict(type='list', elements='dict'),
        progress_file=dict(type='path'),
    )
    argument_spec.update(FLEET_ARGUMENT_SPEC)
    module = IronicModule(argument_spec, supports_check_mode=True, carries_secrets=True,
                          mutually_exclusive=[('node', 'nodes')], required_one_of=[('node', 'nodes')])
    if not HAS_JSONSCHEMA:
        module.fail(missing_required_lib('jsonschema'), exception=JSONSCHEMA_IMPORT_ERROR)
    if configdrive is None:
        module.fail(missing_required_lib('openstacksdk'), exception=CONFIGDRIVE_IMPORT_ERROR)
    servers = fleet_servers(module)
    # Whole descriptions are validated (and BMC-less ones too): a typo must not deploy half a fleet.
    problems = validate_fleet([dict({'bmc': {'driver': 'fake-hardware'}}, **s) if isinstance(s, dict) else s
                               for s in servers])
    if problems:
        module.fail('%d problem(s) in the node descriptions; nothing was written:\n%s'
                    % (len(problems), '\n'.join(problems)), problems=problems)
    manager = DeployManager(module, servers)
    manager.run()
    module.exit_fleet(manager.results, manager.diffs, timings=manager.timings, concurrency=manager.concurrency)


if __name__ == '__main__':
    main()
