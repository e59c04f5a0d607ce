# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: preflight_rows
short_description: One preflight row per BMC, from the bmc module's check and facts results
version_added: 0.1.0
author:
  - rackops.baremetal developers (@rackops)
description:
  - Merges the C(bmcs) of a M(rackops.baremetal.bmc) O(rackops.baremetal.bmc#module:operation=check) result with
    those of a later O(rackops.baremetal.bmc#module:operation=facts) result (matched by name) into one row per BMC -
    reachable, authenticated, power, vendor, model, serial, firmware, boot-device support, health and the problem.
  - A BMC that passed the check but failed the facts is failed, with the facts' message.
  - The rows carry C(name), C(changed), C(failed), C(msg) and C(elapsed), so P(rackops.baremetal.fleet_report#filter)
    takes them as they are.
positional: facts
options:
  _input:
    description: The C(bmcs) of the check result.
    type: list
    elements: dict
    required: true
  facts:
    description: The C(bmcs) of the facts result (may be empty).
    type: list
    elements: dict
    default: []
'''

EXAMPLES = r'''
- name: Rows for the table and the report
  ansible.builtin.set_fact:
    rows: "{{ check.bmcs | rackops.baremetal.preflight_rows(facts.bmcs | default([])) }}"
'''

RETURN = r'''
_value:
  description: One row per BMC, in the order of the check result.
  type: list
  elements: dict
'''

FROM_FACTS = ('vendor', 'model', 'serial', 'firmware', 'health', 'macs', 'boot_device')


def preflight_rows(checked, facts=None):
    facts_by_name = {entry.get('name'): entry for entry in facts or []}
    rows = []
    for entry in checked:
        row = {key: entry.get(key) for key in ('name', 'driver', 'address', 'reachable', 'authenticated',
                                               'power_state', 'priv_level', 'cipher_suite',
                                               'boot_device_support', 'failed', 'problem', 'msg')}
        row.update((key, None) for key in FROM_FACTS)  # one shape for every row, with facts or not
        row['changed'] = False
        row['elapsed'] = entry.get('elapsed') or 0
        more = facts_by_name.get(entry.get('name'))
        if more is not None:
            row.update((key, more.get(key)) for key in FROM_FACTS)
            row['elapsed'] = round(row['elapsed'] + (more.get('elapsed') or 0), 2)
            if more.get('failed') and not row['failed']:
                row.update(failed=True, problem=more.get('problem'), msg='facts: %s' % more.get('msg'))
            elif more.get('health') not in (None, 'ok') and not row['failed']:
                row['msg'] = 'sensor health %s' % more['health']
        rows.append(row)
    return rows


class FilterModule:

    def filters(self):
        return {'preflight_rows': preflight_rows}
