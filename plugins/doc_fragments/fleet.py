# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the fleet options.

Paired one-to-one with FLEET_ARGUMENT_SPEC in module_utils/_fleet_options.py:
change both together.
"""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r'''
options:
  concurrency:
    description:
      - How many nodes are worked on at the same time.
      - Defaults to the C(rackops_concurrency) key of the O(cloud) entry (the C(rackops.baremetal.ironic)
        role writes 4 for SQLite, where more only adds lock waits in the single Ironic process, and 8 for PostgreSQL/MariaDB),
        else 4.
    type: int
  timeout:
    description: Seconds to wait for the nodes to reach their state; nodes still on their way then fail with a timeout.
    type: int
    default: 1800
  wait_interval:
    description: Seconds between two looks at the fleet while waiting (one API call per look for all nodes).
    type: float
    default: 1.0
  fail_on:
    description:
      - When the task fails. V(any) node failed, V(all) nodes failed, or V(never) (read RV(nodes)).
      - Failed nodes never stop the others; every node is reported either way.
    type: str
    choices: [any, all, never]
    default: any
'''
