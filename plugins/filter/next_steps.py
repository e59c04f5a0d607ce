# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: next_steps
short_description: Where to look next for each failed node of a run
version_added: 0.1.0
author:
  - rackops.baremetal developers (@rackops)
description:
  - For each failed entry of a fleet module's C(nodes) result, one line naming what to read next.
  - A node that failed with Ironic's C(last_error) can be run again once the input is fixed; a node that timed out
    waiting for its deploy ramdisk (the module's message says so) needs its boot path checked.
  - When the node's inventory host has C(rackops_console_log) (its serial console's log) or C(rackops_boot_log)
    (the DHCP/TFTP server's log), the line names those files; the virtual rack's inventory sets both.
options:
  _input:
    description: The C(nodes) of a fleet module's result.
    type: list
    elements: dict
    required: true
  hostvars:
    description: Ansible's C(hostvars), to read the hosts' log locations.
    type: dict
    required: true
'''

EXAMPLES = r'''
- name: Say where to look
  ansible.builtin.debug:
    msg: "{{ result.nodes | rackops.baremetal.next_steps(hostvars) }}"
'''

RETURN = r'''
_value:
  description: One line per failed node (none for a run without failures).
  type: list
  elements: str
'''


def next_steps(nodes, hostvars):
    lines = []
    for node in nodes or []:
        if not node.get('failed'):
            continue
        name = node.get('name')
        host = hostvars[name] if name in hostvars else {}
        parts = []
        if node.get('last_error'):
            parts.append('fix what last_error says, then run again')
        for var, what in (('rackops_console_log', 'its console'), ('rackops_boot_log', 'the DHCP/TFTP log')):
            if host.get(var):
                parts.append('%s: %s' % (what, host[var]))
        if parts:
            lines.append('%s: %s' % (name, '; '.join(parts)))
    return lines


class FilterModule:

    def filters(self):
        return {'next_steps': next_steps}
