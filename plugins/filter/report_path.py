# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: report_path
short_description: Where a run's reports go, as an absolute path
version_added: 0.1.0
author:
  - rackops.baremetal developers (@rackops)
description:
  - An absolute report directory stays as it is. A relative one (the default C(rackops-reports)) is taken from the
    directory C(ansible-playbook) was started in - where the operator runs it, or the job's directory under
    ansible-runner and AWX.
  - Not from the playbook's own directory, where Ansible runs local commands and resolves relative paths; for an
    installed collection that is inside its install directory.
options:
  _input:
    description: The report directory (C(rackops_report_dir)).
    type: str
    required: true
'''

EXAMPLES = r'''
- name: Write the report where the run started
  ansible.builtin.copy:
    content: "{{ report | to_nice_json }}"
    dest: "{{ rackops_report_dir | default('rackops-reports') | rackops.baremetal.report_path }}/run.json"
    mode: '0644'
'''

RETURN = r'''
_value:
  description: The absolute, normalized report directory.
  type: str
'''

import os


def report_path(directory, start=None):
    """``directory`` made absolute against ``start`` (default: the controller's working directory, which
    Ansible leaves where ansible-playbook was started)."""
    directory = os.path.expanduser(str(directory))
    return os.path.normpath(os.path.join(start or os.getcwd(), directory))


class FilterModule:

    def filters(self):
        return {'report_path': report_path}
