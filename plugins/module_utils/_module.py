# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared base of every module that talks to Ironic.

Private to rackops.baremetal (the leading underscore).

``IronicModule`` wraps (does not subclass) AnsibleModule: it adds the
connection options and reaches Ironic through one ``IronicClient`` (_client:
the connection, the retry policy and error translation, the raw requests, the
fleet's list-poll), whose retries it returns with the module result.
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.rackops.baremetal.plugins.module_utils._client import (
    HAS_OPENSTACKSDK,
    OPENSTACKSDK_IMPORT_ERROR,
    IronicClient,
)
from ansible_collections.rackops.baremetal.plugins.module_utils._connection import (
    AUTH_ARGUMENT_SPEC,
    AUTH_MUTUALLY_EXCLUSIVE,
    AUTH_REQUIRED_TOGETHER,
)
from ansible_collections.rackops.baremetal.plugins.module_utils._fleet import summarize


class IronicModule:
    """AnsibleModule + one Ironic connection + retries + error translation."""

    def __init__(self, argument_spec, supports_check_mode=True, mutually_exclusive=None,
                 required_if=None, required_together=None, required_one_of=None,
                 carries_secrets=False):
        """``carries_secrets``: some parameters hold secrets the argument spec
        cannot name (free-form node descriptions); the invocation is then not
        written to the host's log, and add_secrets() masks them in results."""
        spec = dict(AUTH_ARGUMENT_SPEC)
        spec.update(argument_spec)
        self.ansible = AnsibleModule(
            argument_spec=spec,
            supports_check_mode=supports_check_mode,
            mutually_exclusive=AUTH_MUTUALLY_EXCLUSIVE + list(mutually_exclusive or []),
            required_together=AUTH_REQUIRED_TOGETHER + list(required_together or []),
            required_if=required_if,
            required_one_of=required_one_of,
            no_log=carries_secrets,
        )
        if not HAS_OPENSTACKSDK:
            self.ansible.fail_json(msg=missing_required_lib('openstacksdk'),
                                   exception=OPENSTACKSDK_IMPORT_ERROR)
        self.client = IronicClient(self.ansible.params, self.fail)

    @property
    def params(self):
        return self.ansible.params

    @property
    def check_mode(self):
        return self.ansible.check_mode

    @property
    def retries(self):
        return self.client.retries

    # the client's, for the modules' many openstacksdk proxy calls
    @property
    def conn(self):
        return self.client.conn

    @property
    def baremetal(self):
        return self.client.baremetal

    def call(self, operation, fn, *args, node=None, **kwargs):
        return self.client.call(operation, fn, *args, node=node, **kwargs)

    def try_call(self, operation, fn, *args, node=None, **kwargs):
        return self.client.try_call(operation, fn, *args, node=node, **kwargs)

    def add_secrets(self, values):
        """Mask these values wherever they would appear in the task's result."""
        for value in values:
            if value not in (None, ''):
                self.ansible.no_log_values.add(str(value))

    def fail(self, msg, **kwargs):
        kwargs.setdefault('retries', self.retries)
        self.ansible.fail_json(msg=msg, **kwargs)

    def exit_fleet(self, results, diffs, **extra):
        """End a fleet task: every node's result, the diff, and fail_on applied."""
        nodes = [r.as_dict() for r in results]
        failed, msg = summarize(results, self.params['fail_on'])
        outcome = dict(changed=any(n['changed'] for n in nodes), nodes=nodes, msg=msg, **extra)
        if self.ansible._diff:
            outcome['diff'] = diffs
        if failed:
            self.fail(**outcome)
        self.exit(**outcome)

    def exit(self, **result):
        result.setdefault('changed', False)
        result.setdefault('retries', self.retries)
        self.ansible.exit_json(**result)
