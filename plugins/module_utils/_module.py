# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared base of every module that talks to Ironic.

Private to rackops.baremetal (the leading underscore).

``IronicModule`` wraps (does not subclass) AnsibleModule: it adds the
connection options, opens one connection lazily, runs every Ironic call
through one retry policy and one error translation, and returns the retries
it made with the module result.
"""

from __future__ import annotations

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.rackops.baremetal.plugins.module_utils._connection import (
    AUTH_ARGUMENT_SPEC,
    AUTH_MUTUALLY_EXCLUSIVE,
    AUTH_REQUIRED_TOGETHER,
    ConnectionParamsError,
    connect_kwargs,
)
from ansible_collections.rackops.baremetal.plugins.module_utils._errors import (
    BaremetalError,
    call_with_retries,
)
from ansible_collections.rackops.baremetal.plugins.module_utils._fleet import summarize

try:
    import openstack
    from openstack import exceptions as sdk_exceptions
    from keystoneauth1 import exceptions as ksa_exceptions
except ImportError:
    HAS_OPENSTACKSDK = False
    OPENSTACKSDK_IMPORT_ERROR = traceback.format_exc()
    _SDK_ERRORS = ()
else:
    HAS_OPENSTACKSDK = True
    OPENSTACKSDK_IMPORT_ERROR = None
    _SDK_ERRORS = (sdk_exceptions.SDKException, ksa_exceptions.ClientException)


def _is_sdk_error(exc):
    return isinstance(exc, _SDK_ERRORS)


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
        self.retries = []
        self._conn = None

    @property
    def params(self):
        return self.ansible.params

    @property
    def check_mode(self):
        return self.ansible.check_mode

    @property
    def conn(self):
        """The one connection of this task, opened on first use."""
        if self._conn is None:
            try:
                kwargs = connect_kwargs(self.params)
            except ConnectionParamsError as exc:
                self.fail(str(exc))
            try:
                self._conn = openstack.connect(**kwargs)
            except _SDK_ERRORS as exc:
                self.fail('Failed to connect to Ironic: %s' % exc)
        return self._conn

    @property
    def baremetal(self):
        """The baremetal proxy. Its first use asks Ironic for its API versions,
        so an unreachable or misconfigured endpoint fails here, clearly."""
        try:
            return self.conn.baremetal
        except _SDK_ERRORS as exc:
            self.fail('Failed to reach Ironic: %s' % exc)
        return None  # not reached: fail() exits

    def call(self, operation, fn, *args, node=None, **kwargs):
        """Run one Ironic call; fail the task with a clear message if it fails.

        ``operation`` completes the sentence "Failed to <operation> node <node>".
        """
        try:
            return self.try_call(operation, fn, *args, node=node, **kwargs)
        except BaremetalError as exc:
            self.fail(**exc.as_result())

    def try_call(self, operation, fn, *args, node=None, **kwargs):
        """Like call() but raises BaremetalError, for code that must go on."""
        try:
            return call_with_retries(
                lambda: fn(*args, **kwargs), operation, node=node,
                retries=self.params['api_retries'], retry_log=self.retries,
                is_sdk_error=_is_sdk_error)
        except BaremetalError as exc:
            if node and exc.last_error is None and exc.status_code != 404:
                exc.last_error = self._last_error_of(node)
            raise

    def _last_error_of(self, node):
        """Best effort: Ironic's own reason, which says more than the HTTP error."""
        try:
            return self.conn.baremetal.get_node(node, fields=['last_error']).last_error
        except Exception:  # pylint: disable=broad-except
            return None

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
