# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: phase_rows
short_description: One row per node from the results of a run's phases
version_added: 0.1.0
author:
  - rackops.baremetal developers (@rackops)
description:
  - Merges the per-node results of several fleet tasks (for example enroll, then deploy) into one row per node,
    for the summary table (P(rackops.baremetal.fleet_row#filter)) and the run report
    (P(rackops.baremetal.fleet_report#filter)).
  - A row's states and image come from the last phase that handled the node; it failed if a phase failed it
    (with that phase's message and C(last_error)); it changed if any phase changed it; C(elapsed) is the sum and
    C(phases) the seconds per phase.
options:
  _input:
    description:
      - The phases in order, as a list of C([name, nodes]) pairs; C(nodes) is a fleet result's C(nodes) (may be
        empty or missing for a skipped phase).
    type: list
    elements: list
    required: true
'''

EXAMPLES = r'''
- name: Rows of a provisioning run
  ansible.builtin.set_fact:
    rows: "{{ [['enroll', enrolled.nodes], ['deploy', deployed.nodes | default([])]] | rackops.baremetal.phase_rows }}"
'''

RETURN = r'''
_value:
  description: One row per node, in order of first appearance.
  type: list
  elements: dict
'''

from ansible.errors import AnsibleFilterError

CARRIED = ('uuid', 'provision_state', 'power_state', 'image')


def phase_rows(phases):
    rows = {}
    for pair in phases:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise AnsibleFilterError('phase_rows expects [name, nodes] pairs, got %r' % (pair,))
        phase, nodes = pair
        for node in nodes or []:
            row = rows.setdefault(node['name'], {'name': node['name'], 'changed': False, 'failed': False,
                                                 'msg': '', 'last_error': None, 'elapsed': 0.0, 'phases': {},
                                                 'image': None, 'actions': []})
            for key in CARRIED:
                if node.get(key) is not None or key in ('provision_state', 'power_state'):
                    row[key] = node.get(key, row.get(key))
            elapsed = float(node.get('elapsed') or 0)
            row['phases'][phase] = round(elapsed, 2)
            row['elapsed'] = round(row['elapsed'] + elapsed, 2)
            row['changed'] = row['changed'] or bool(node.get('changed'))
            row['actions'] += ['%s: %s' % (phase, action) for action in node.get('actions') or []]
            if node.get('failed') and not row['failed']:
                row.update(failed=True, msg='%s: %s' % (phase, node.get('msg') or 'failed'),
                           last_error=node.get('last_error'), failed_phase=phase)
    for row in rows.values():
        if not row['failed']:
            row['msg'] = '; '.join(row['actions']) or 'ok'
        parts = ['%s %.1fs' % (phase, seconds) for phase, seconds in row['phases'].items()]
        if row['image']:
            parts.append('image %s' % row['image'])
        row['note'] = ', '.join(parts)
    return list(rows.values())


class FilterModule:

    def filters(self):
        return {'phase_rows': phase_rows}
