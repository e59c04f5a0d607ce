# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Attributes (check mode, diff mode) shared by the modules.

Private to rackops.baremetal (the leading underscore).
"""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r'''
options: {}
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
'''

    INFO_MODULE = r'''
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This action does not modify state.
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
'''

    ACTIONGROUP_IRONIC = r'''
options: {}
attributes:
  action_group:
    description: Use C(group/rackops.baremetal.ironic) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - rackops.baremetal.ironic
'''
