# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: preflight_row
short_description: One line of the BMC preflight table
version_added: 0.1.0
author:
  - rackops.baremetal developers (@rackops)
description:
  - Formats one row of P(rackops.baremetal.preflight_rows#filter) as a fixed-width line - host, BMC, reachable,
    authenticated, power, vendor/model/serial, firmware, boot-device support, problem.
options:
  _input:
    description: One preflight row.
    type: dict
    required: true
'''

EXAMPLES = r'''
- name: Print the table
  ansible.builtin.debug:
    msg: "{{ rows | map('rackops.baremetal.preflight_row') | list }}"
'''

RETURN = r'''
_value:
  description: The line.
  type: str
'''


def _flag(value):
    return '-' if value is None else 'yes' if value else 'NO'


def preflight_row(row):
    identity = '/'.join(str(row.get(key) or '?') for key in ('vendor', 'model', 'serial'))
    if not any(row.get(key) for key in ('vendor', 'model', 'serial')):
        identity = '-'
    if row.get('failed'):
        problem = '%s: %s' % (row.get('problem') or 'failed', row.get('msg') or '')
    else:
        problem = row.get('msg') if row.get('msg') not in (None, '', 'ok') else ''
    return '%-20s %-24s %-5s %-5s %-5s %-34s %-8s %-5s %s' % (
        row.get('name'), row.get('address'), _flag(row.get('reachable')), _flag(row.get('authenticated')),
        row.get('power_state') or '-', identity, row.get('firmware') or '-', _flag(row.get('boot_device_support')),
        problem)


class FilterModule:

    def filters(self):
        return {'preflight_row': preflight_row}
