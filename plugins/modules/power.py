#!/usr/bin/python
# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: power
short_description: Power and boot device of bare-metal nodes, through Ironic
version_added: 0.1.0
description:
  - Powers nodes on or off, reboots them (hard or soft), and sets their boot device, through Ironic's
    power and management interfaces (IPMI, Redfish, ...).
  - Idempotent for V(on), V(off) and V(soft_off) and for the boot device; V(reboot) and V(soft_reboot)
    always act.
  - Waits until the power state has settled (no pending target, no lock), so the next task does not hit
    a locked node.
  - One node or a list; a list runs O(concurrency) nodes at a time and waits with one API call per cycle.
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
    details: Check mode sends no write to Ironic or to any BMC.
  diff_mode:
    support: full
options:
  node:
    description: Name or UUID of one node. Mutually exclusive with O(nodes).
    type: str
  nodes:
    description: Names or UUIDs of several nodes.
    type: list
    elements: str
  power:
    description:
      - V(on), V(off); V(reboot) (hard); V(soft_off) and V(soft_reboot) ask the operating system (ACPI).
    type: str
    choices: ['on', 'off', reboot, soft_off, soft_reboot]
  boot_device:
    description: The device to boot from next, set before any power action.
    type: str
    choices: [pxe, disk, cdrom, bios]
  boot_device_persistent:
    description: Keep O(boot_device) for every boot instead of the next one only.
    type: bool
    default: false
notes:
  - At least one of O(power) and O(boot_device) is required.
'''

EXAMPLES = r'''
- name: Power the whole rack off
  rackops.baremetal.power:
    cloud: rackops
    nodes: "{{ groups['baremetal'] }}"
    power: 'off'
  run_once: true
  delegate_to: localhost

- name: Network-boot one node now
  rackops.baremetal.power:
    cloud: rackops
    node: rack1-u12
    boot_device: pxe
    power: reboot
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
    changed: {description: "Whether this node changed (or would, in check mode).", type: bool}
    failed: {description: "Whether this node failed.", type: bool}
    msg: {description: "What was done, or why it failed.", type: str}
    actions: {description: "The changes made, in order.", type: list, elements: str}
    last_error: {description: "Ironic's last_error for the node.", type: str}
    provision_state: {description: "Provision state.", type: str}
    power_state: {description: "Power state at the end.", type: str}
    boot_device: {description: "Boot device at the end (when O(boot_device) was given).", type: dict}
    elapsed: {description: "Seconds spent on this node.", type: float}
retries:
  description: Calls Ironic answered with HTTP 409 or 503 and that were retried.
  returned: always
  type: list
  elements: dict
'''

from ansible_collections.rackops.baremetal.plugins.module_utils._fleet import WAIT_FIELDS, run_phase
from ansible_collections.rackops.baremetal.plugins.module_utils._fleet_options import (
    FLEET_ARGUMENT_SPEC, FleetTask)
from ansible_collections.rackops.baremetal.plugins.module_utils._module import IronicModule
from ansible_collections.rackops.baremetal.plugins.module_utils._waiting import wait_power

# option -> (Ironic target, power state when settled, acts even if already there)
POWER_ACTIONS = {
    'on': ('power on', 'power on', False),
    'off': ('power off', 'power off', False),
    'reboot': ('rebooting', 'power on', True),
    'soft_off': ('soft power off', 'power off', False),
    'soft_reboot': ('soft rebooting', 'power on', True),
}


class PowerManager(FleetTask):
    """Sets boot device, then power, for every node; waits for power to settle."""

    def read(self):
        nodes = self.module.call('list nodes', lambda: list(self.baremetal.nodes(fields=WAIT_FIELDS)))
        self.match(nodes)

    def boot_device(self, result):
        want = {'boot_device': self.params['boot_device'], 'persistent': self.params['boot_device_persistent']}
        have = self.call(result, 'read the boot device of', self.baremetal.get_node_boot_device, result.uuid)
        have = {'boot_device': have.get('boot_device'), 'persistent': bool(have.get('persistent'))}
        result.extra['boot_device'] = have
        if have == want:
            return
        result.did('boot device %s%s' % (want['boot_device'], ' (persistent)' if want['persistent'] else ''))
        self.diffs.append({'before_header': result.name, 'after_header': result.name,
                           'before': {'boot_device': have}, 'after': {'boot_device': want}})
        if not self.check:
            self.call(result, 'set the boot device of', self.baremetal.set_node_boot_device, result.uuid,
                      want['boot_device'], persistent=want['persistent'])
        result.extra['boot_device'] = want

    def power(self, result):
        target, settled_state, always = POWER_ACTIONS[self.params['power']]
        if not always and result.power_state == settled_state:
            return False
        result.did(target)
        self.diffs.append({'before_header': result.name, 'after_header': result.name,
                           'before': {'power_state': result.power_state}, 'after': {'power_state': settled_state}})
        if self.check:
            result.power_state = settled_state
            return False
        self.call(result, target, self.baremetal.set_node_power_state, result.uuid, target)
        return True

    def run(self):
        self.read()
        if self.params['boot_device']:
            run_phase(self.results, self.boot_device, self.concurrency)
        if self.params['power']:
            acted = []

            def act(result):
                if self.power(result):
                    acted.append(result)
            run_phase(self.results, act, self.concurrency)
            if acted:
                settled_state = POWER_ACTIONS[self.params['power']][1]
                wait_power(self.module, acted, self.params['timeout'], self.params['wait_interval'],
                           want={r.uuid: settled_state for r in acted})


def main():
    argument_spec = dict(
        node=dict(type='str'),
        nodes=dict(type='list', elements='str'),
        power=dict(type='str', choices=list(POWER_ACTIONS)),
        boot_device=dict(type='str', choices=['pxe', 'disk', 'cdrom', 'bios']),
        boot_device_persistent=dict(type='bool', default=False),
    )
    argument_spec.update(FLEET_ARGUMENT_SPEC)
    module = IronicModule(argument_spec, supports_check_mode=True,
                          mutually_exclusive=[('node', 'nodes')],
                          required_one_of=[('node', 'nodes'), ('power', 'boot_device')])
    names = module.params['nodes'] if module.params['nodes'] is not None else [module.params['node']]
    manager = PowerManager(module, names)
    manager.run()
    module.exit_fleet(manager.results, manager.diffs)


if __name__ == '__main__':
    main()
