# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: fleet_row
short_description: One line of a per-node report table
version_added: 0.1.0
author:
  - rackops.baremetal developers (@rackops)
description:
  - Formats one entry of a fleet module's C(nodes) result (M(rackops.baremetal.node), M(rackops.baremetal.power))
    as a fixed-width line - name, result, provision state, power state, seconds, detail.
  - The detail is the failure with Ironic's C(last_error); else what was done, then the interfaces that failed
    Ironic's validation (or that all are valid).
options:
  _input:
    description: One entry of a fleet module's C(nodes) result.
    type: dict
    required: true
'''

EXAMPLES = r'''
- name: Print the table
  ansible.builtin.debug:
    msg: "{{ result.nodes | map('rackops.baremetal.fleet_row') | list }}"
'''

RETURN = r'''
_value:
  description: The line.
  type: str
'''


def fleet_row(node):
    if node.get('failed'):
        status = 'FAILED'
        detail = node.get('msg') or ''
        if node.get('last_error') and node['last_error'] not in detail:
            detail += ' | last_error: %s' % node['last_error']
    else:
        status = 'changed' if node.get('changed') else 'ok'
        parts = [node.get('msg') or ''] if node.get('changed') else []
        validation = node.get('validation') or {}
        invalid = ['%s (%s)' % (iface, v.get('reason')) for iface, v in sorted(validation.items())
                   if v.get('result') is False]
        if invalid:
            parts.append('invalid: ' + '; '.join(invalid))
        elif validation:
            parts.append('all interfaces valid')
        if node.get('note'):
            parts.append(node['note'])
        detail = ' | '.join(p for p in parts if p) or node.get('msg') or ''
    return '%-24s %-8s %-14s %-10s %7s  %s' % (
        node.get('name'), status, node.get('provision_state') or '-', node.get('power_state') or '-',
        '%.1f' % float(node.get('elapsed') or 0), detail)


class FilterModule:

    def filters(self):
        return {'fleet_row': fleet_row}
