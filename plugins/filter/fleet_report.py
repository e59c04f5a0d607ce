# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: fleet_report
short_description: The run report every rackops playbook writes (JSON), from per-node results
version_added: 0.1.0
author:
  - rackops.baremetal developers (@rackops)
description:
  - Builds the report a playbook writes at its end - what ran, a summary (total, ok, changed, failed) and one
    entry per node or BMC with its result (V(ok), V(changed) or V(failed)), seconds and message.
  - Takes the per-node entries of any rackops fleet result (M(rackops.baremetal.node), M(rackops.baremetal.power),
    M(rackops.baremetal.bmc), P(rackops.baremetal.preflight_rows#filter)) - each needs C(name); C(failed), C(changed),
    C(msg) and C(elapsed) are used when present; every other key is kept.
  - P(rackops.baremetal.junit_xml#filter) turns the report into JUnit XML for CI systems.
positional: run
options:
  _input:
    description: The per-node entries.
    type: list
    elements: dict
    required: true
  run:
    description: What ran, for example V(preflight) or V(provision).
    type: str
    required: true
'''

EXAMPLES = r'''
- name: Write the JSON report
  ansible.builtin.copy:
    content: "{{ result.bmcs | rackops.baremetal.fleet_report('preflight') | to_nice_json }}"
    dest: reports/preflight.json
    mode: '0644'
  delegate_to: localhost
  run_once: true
'''

RETURN = r'''
_value:
  description: The report - C(format) (its version), C(run), C(summary) and C(nodes).
  type: dict
'''

from ansible.errors import AnsibleFilterError

REPORT_FORMAT = 'rackops.report/1'


def fleet_report(entries, run):
    nodes = []
    for entry in entries:
        if not isinstance(entry, dict) or 'name' not in entry:
            raise AnsibleFilterError('fleet_report expects per-node entries with a name, got %r' % (entry,))
        node = dict(entry)
        node['result'] = 'failed' if entry.get('failed') else 'changed' if entry.get('changed') else 'ok'
        node['elapsed'] = float(entry.get('elapsed') or 0)
        node['msg'] = entry.get('msg') or ''
        nodes.append(node)
    summary = {key: sum(1 for n in nodes if n['result'] == key) for key in ('ok', 'changed', 'failed')}
    summary['total'] = len(nodes)
    return {'format': REPORT_FORMAT, 'run': run, 'summary': summary, 'nodes': nodes}


class FilterModule:

    def filters(self):
        return {'fleet_report': fleet_report}
