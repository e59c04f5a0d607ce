#!/usr/bin/python
# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: bmc
short_description: Check, inspect and control many BMCs directly, without Ironic
version_added: 0.1.0
description:
  - Talks to BMCs directly (IPMI through pyghmi, Redfish through sushy), for what must work before
    enrollment or where no Ironic runs - a preflight of a new rack, facts, power, boot device.
  - One BMC or a list. The list runs in one process, O(concurrency) BMCs at a time, each with a hard
    O(timeout) - a dead BMC is reported as timed out and never delays the others past its own timeout.
  - Every session is closed (logged out) whatever happens.
  - One BMC failing never hides the others - each gets its own result, and O(fail_on) decides whether the
    task fails.
author:
  - rackops.baremetal developers (@rackops)
requirements:
  - pyghmi (IPMI)
  - sushy (Redfish)
extends_documentation_fragment:
  - rackops.baremetal._attributes
attributes:
  check_mode:
    support: full
    details: Check mode reads from the BMCs but sends them no write; results say what would change.
  diff_mode:
    support: full
    details: Shows the power state and boot device before and after, per BMC.
options:
  bmcs:
    description:
      - The BMCs. Mutually exclusive with O(bmc).
      - The same keys as the inventory's C(bmc) variable, plus a C(name).
    type: list
    elements: dict
    suboptions: &bmc_options
      name:
        description: Name of the server, used in results and messages.
        type: str
        required: true
      driver:
        description: The BMC's protocol.
        type: str
        choices: [ipmi, redfish]
        default: ipmi
      address:
        description:
          - IPMI - host name or IP address.
          - Redfish - base URL (V(https://10.0.0.5)); without a scheme, https is assumed.
        type: str
        required: true
      port:
        description: IPMI UDP port (default 623).
        type: int
      username:
        description: BMC user name.
        type: str
      password:
        description: BMC password. Never returned or logged.
        type: str
      priv_level:
        description: IPMI privilege level to ask for.
        type: str
        choices: [administrator, operator, user, callback]
        default: administrator
      system_id:
        description:
          - Redfish system, as an identity path (V(/redfish/v1/Systems/1)) or its last component.
          - Optional when the BMC manages a single system.
        type: str
      verify_ca:
        description: Redfish TLS verification - V(true), V(false) or the path of a CA bundle.
        type: raw
  bmc:
    description: One BMC, with the keys of an O(bmcs) entry. Mutually exclusive with O(bmcs).
    type: dict
    suboptions: *bmc_options
  operation:
    description:
      - V(check) - is the BMC reachable, are the credentials valid; privilege level, cipher suite,
        boot-device support and power state.
      - V(facts) - power state, boot device, vendor, model, serial, firmware, MACs the BMC exposes, and
        a sensor health summary (temperatures, fans, power supplies).
      - V(power) - set O(power); waits until the BMC reports the new state.
      - V(boot_device) - set O(boot_device).
    type: str
    choices: [check, facts, power, boot_device]
    default: check
  power:
    description:
      - V(on), V(off) (hard), V(soft) (ACPI shutdown, waits for off), V(reset) (hard reset), V(cycle)
        (off, then on).
      - V(on), V(off) and V(soft) are idempotent; V(reset) and V(cycle) always act.
      - Required when O(operation=power).
    type: str
    choices: ['on', 'off', soft, reset, cycle]
  boot_device:
    description: Device to boot from. Required when O(operation=boot_device).
    type: str
    choices: [pxe, disk, cdrom, bios]
  boot_device_persistent:
    description: Keep O(boot_device) for every boot instead of the next one only.
    type: bool
    default: false
  boot_mode:
    description: Boot in UEFI or legacy BIOS mode; left as the BMC has it when not given.
    type: str
    choices: [uefi, bios]
  concurrency:
    description: How many BMCs are talked to at once.
    type: int
    default: 64
  timeout:
    description:
      - Seconds each BMC gets for the whole operation, from login to logout (including waiting for a new
        power state). A BMC still busy then is reported as timed out.
    type: int
    default: 30
  fail_on:
    description:
      - V(any) - the task fails if any BMC failed; V(all) - only if every BMC failed; V(never) - the
        results say it all (a report or a later task decides).
      - Every BMC is always handled and reported, whatever this says.
    type: str
    choices: [any, all, never]
    default: any
notes:
  - pyghmi negotiates IPMI cipher suite 3 only (HMAC-SHA1 with AES-128), which every IPMI 2.0 BMC offers.
seealso:
  - module: rackops.baremetal.power
    description: Power and boot device through Ironic, once nodes are enrolled.
'''

EXAMPLES = r'''
- name: Check every BMC of the rack before enrolling anything
  rackops.baremetal.bmc:
    bmcs: "{{ groups['baremetal'] | rackops.baremetal.inventory_nodes(hostvars) | rackops.baremetal.bmc_targets }}"
    operation: check
    fail_on: never
  run_once: true
  delegate_to: localhost
  register: preflight

- name: Network-boot one server next time, in UEFI mode
  rackops.baremetal.bmc:
    bmc:
      name: rack1-u12
      address: 10.0.0.12
      username: admin
      password: "{{ vault_bmc_password }}"
    operation: boot_device
    boot_device: pxe
    boot_mode: uefi

- name: Power a Redfish server off
  rackops.baremetal.bmc:
    bmc:
      name: rack1-u14
      driver: redfish
      address: https://10.0.0.14
      username: admin
      password: "{{ vault_bmc_password }}"
      verify_ca: false
    operation: power
    power: 'off'
'''

RETURN = r'''
bmcs:
  description: One entry per BMC, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: "Server name as given.", type: str}
    driver: {description: "ipmi or redfish.", type: str}
    address: {description: "BMC address.", type: str}
    changed: {description: "Whether this BMC changed (or would, in check mode).", type: bool}
    failed: {description: "Whether this BMC failed.", type: bool}
    problem:
      description: "Why it failed - unreachable, auth, timeout, unsupported or error; null when it did not."
      type: str
    msg: {description: "What was done, or why it failed.", type: str}
    actions: {description: "The writes made (or that would be, in check mode).", type: list, elements: str}
    elapsed: {description: "Seconds spent on this BMC.", type: float}
    reachable: {description: "The BMC answered (O(operation=check)).", type: bool}
    authenticated: {description: "The credentials were accepted (O(operation=check)).", type: bool}
    priv_level: {description: "IPMI privilege level of the session (O(operation=check)).", type: str}
    cipher_suite: {description: "IPMI cipher suite of the session (O(operation=check)).", type: int}
    boot_device_support: {description: "The BMC reports its boot device (O(operation=check)).", type: bool}
    power_state: {description: "Power state at the end - on or off.", type: str}
    boot_device:
      description: "Boot override at the end - device (null when none), persistent, mode (uefi or bios)."
      type: dict
    vendor: {description: "System vendor (O(operation=facts)).", type: str}
    model: {description: "System model (O(operation=facts)).", type: str}
    serial: {description: "System serial number (O(operation=facts)).", type: str}
    firmware: {description: "BMC firmware version (O(operation=facts)).", type: str}
    macs: {description: "NIC MACs the BMC exposes (O(operation=facts)).", type: list, elements: str}
    health: {description: "Worst sensor health - ok, warning, critical or failed (O(operation=facts)).", type: str}
    sensors:
      description: "Temperatures, fans and power supplies - name, value, units, health, states (O(operation=facts))."
      type: dict
msg:
  description: How many BMCs were ok, and which failed.
  returned: always
  type: str
'''

import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.rackops.baremetal.plugins.module_utils._bmc import (
    BMC_OPTIONS, BOOT_DEVICES, POWER_STATES, BmcError, BmcResult, health_summary, plan_boot,
    plan_power, remaining, run_bounded, wait_power)
from ansible_collections.rackops.baremetal.plugins.module_utils._bmc_ipmi import (
    HAS_PYGHMI, PYGHMI_IMPORT_ERROR, IpmiClient)
from ansible_collections.rackops.baremetal.plugins.module_utils._bmc_redfish import (
    HAS_SUSHY, SUSHY_IMPORT_ERROR, RedfishClient)
from ansible_collections.rackops.baremetal.plugins.module_utils._fleet import FAIL_ON, summarize


class BmcTask:
    """One operation over every BMC of the task."""

    def __init__(self, module, bmcs):
        self.module = module
        self.params = module.params
        self.check = module.check_mode
        self.bmcs = bmcs
        self.results = [BmcResult(bmc) for bmc in bmcs]

    def run(self):
        by_result = dict(zip(map(id, self.results), self.bmcs))
        run_bounded(self.results, lambda result, deadline: self.one(result, by_result[id(result)], deadline),
                    self.params['concurrency'], self.params['timeout'])

    def connect(self, bmc, deadline):
        if bmc['driver'] == 'redfish':
            return RedfishClient(bmc, remaining(deadline))
        return IpmiClient(bmc)

    def one(self, result, bmc, deadline):
        operation = self.params['operation']
        try:
            client = self.connect(bmc, deadline)
        except BmcError as exc:
            if operation == 'check':
                result.set(reachable=exc.kind == 'auth', authenticated=False)
            raise
        try:
            getattr(self, 'do_' + operation)(result, client, deadline)
        finally:
            client.close()

    def do_check(self, result, client, deadline):
        result.set(reachable=True, authenticated=True, **client.check())
        result.set(power_state=client.power_state())

    def do_facts(self, result, client, deadline):
        facts = client.facts()
        facts['health'] = health_summary([s for kind in facts['sensors'].values() for s in kind])
        result.set(power_state=client.power_state(), boot_device=client.boot(), **facts)

    def do_power(self, result, client, deadline):
        wanted = self.params['power']
        current = client.power_state()
        acts, target = plan_power(current, wanted)
        result.before = {'power_state': current}
        result.after = {'power_state': target}
        if not acts:
            result.set(power_state=current)
            return
        result.did('power %s (was %s)' % (wanted, current))
        if self.check:
            result.set(power_state=current)
            return
        client.set_power(wanted)
        if wanted in ('reset', 'cycle'):
            # The BMC may still say "on" while it resets; give it a moment, then want "on".
            time.sleep(min(1.0, remaining(deadline)))
        result.set(power_state=wait_power(client, target, deadline))

    def do_boot_device(self, result, client, deadline):
        device, persistent, mode = (self.params['boot_device'], self.params['boot_device_persistent'],
                                    self.params['boot_mode'])
        current = client.boot()
        wanted = {'device': device, 'persistent': persistent, 'mode': mode or current.get('mode')}
        result.before = {'boot_device': current}
        result.after = {'boot_device': wanted}
        if not plan_boot(current, device, persistent, mode):
            result.set(boot_device=current)
            return
        result.did('boot device %s%s%s' % (
            device, ' (persistent)' if persistent else '', ', %s mode' % mode if mode else ''))
        if self.check:
            result.set(boot_device=current)
            return
        client.set_boot(device, persistent, mode)
        result.set(boot_device=client.boot())

    def exit(self):
        out = [r.as_dict() for r in self.results]
        task_failed, msg = summarize(self.results, self.params['fail_on'], noun='BMCs')
        result = dict(changed=any(r['changed'] for r in out), bmcs=out, msg=msg)
        if self.module._diff:
            changed = [r for r in self.results if r.changed]
            result['diff'] = [{'before_header': r.name, 'after_header': r.name, 'before': r.before,
                               'after': r.after} for r in changed]
        if task_failed:
            self.module.fail_json(**result)
        self.module.exit_json(**result)


def validate(module, bmcs):
    """Whole-task checks before talking to any BMC: names unique, what each operation needs."""
    problems = []
    seen = {}
    for bmc in bmcs:
        if bmc['name'] in seen:
            problems.append('%s: name: given twice' % bmc['name'])
        seen[bmc['name']] = True
        if not bmc.get('username') or bmc.get('password') is None:
            problems.append('%s: username and password are required' % bmc['name'])
        if bmc['driver'] == 'ipmi' and (bmc.get('system_id') or bmc.get('verify_ca') is not None):
            problems.append('%s: system_id and verify_ca are for driver redfish' % bmc['name'])
    params = module.params
    if params['operation'] == 'power' and not params['power']:
        problems.append('power: required when operation is power')
    if params['operation'] == 'boot_device' and not params['boot_device']:
        problems.append('boot_device: required when operation is boot_device')
    if params['concurrency'] < 1 or params['timeout'] < 1:
        problems.append('concurrency and timeout must be at least 1')
    if problems:
        module.fail_json(msg='Invalid BMC list; nothing was sent to any BMC: ' + '; '.join(problems),
                         problems=problems)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            bmcs=dict(type='list', elements='dict', options=BMC_OPTIONS),
            bmc=dict(type='dict', options=BMC_OPTIONS),
            operation=dict(type='str', choices=['check', 'facts', 'power', 'boot_device'], default='check'),
            power=dict(type='str', choices=list(POWER_STATES)),
            boot_device=dict(type='str', choices=list(BOOT_DEVICES)),
            boot_device_persistent=dict(type='bool', default=False),
            boot_mode=dict(type='str', choices=['uefi', 'bios']),
            concurrency=dict(type='int', default=64),
            timeout=dict(type='int', default=30),
            fail_on=dict(type='str', choices=list(FAIL_ON), default='any'),
        ),
        mutually_exclusive=[('bmcs', 'bmc')],
        required_one_of=[('bmcs', 'bmc')],
        supports_check_mode=True,
    )
    bmcs = module.params['bmcs'] if module.params['bmcs'] is not None else [module.params['bmc']]
    validate(module, bmcs)
    drivers = {b['driver'] for b in bmcs}
    if 'ipmi' in drivers and not HAS_PYGHMI:
        module.fail_json(msg=missing_required_lib('pyghmi'), exception=PYGHMI_IMPORT_ERROR)
    if 'redfish' in drivers and not HAS_SUSHY:
        module.fail_json(msg=missing_required_lib('sushy'), exception=SUSHY_IMPORT_ERROR)
    task = BmcTask(module, bmcs)
    task.run()
    task.exit()


if __name__ == '__main__':
    main()
