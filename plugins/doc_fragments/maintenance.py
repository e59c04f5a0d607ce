# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the modules that ask provision actions do with a node in maintenance.

Paired with FleetTask.admit() and leave_power_failure() in module_utils/_fleet_options.py:
change both together.
"""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r'''
options: {}
notes:
  - A node that Ironic put into maintenance itself because its BMC stopped answering (fault C(power failure),
    I(During sync_power_state, max retries exceeded)) is taken out of it before an action is asked of it, once
    Ironic reaches the BMC again (it reads the node's boot device from the BMC first); Ironic's own recovery would,
    only every C([conductor]power_failure_recovery_interval) (5 minutes by default). A BMC still silent fails that node
    with Ironic's error and leaves it in maintenance. In check mode this is reported as a change, and nothing is sent.
  - Maintenance an operator set is left as it is. When Ironic would refuse the action in maintenance (provide, clean,
    deploy, rebuild), the node fails with its maintenance reason before anything is asked of Ironic.
'''
