# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one client every module reaches Ironic through.

Private to rackops.baremetal (the leading underscore).

``IronicClient`` owns the task's connection (opened once, on first use), runs
every call through one retry policy and one error translation (and keeps the
retries it made, for the result), makes the raw requests openstacksdk does not
make or makes with more calls (a GET with a microversion, a PUT without the
read-back), and the fleet's list-poll: one ``GET /v1/nodes`` per wait cycle.
"""

from __future__ import annotations

import traceback

from ansible_collections.rackops.baremetal.plugins.module_utils._connection import ConnectionParamsError, connect_kwargs
from ansible_collections.rackops.baremetal.plugins.module_utils._errors import BaremetalError, call_with_retries
from ansible_collections.rackops.baremetal.plugins.module_utils._fleet import WAIT_FIELDS

try:
    import openstack
    from openstack import exceptions as sdk_exceptions
    from keystoneauth1 import exceptions as ksa_exceptions
except ImportError:
    HAS_OPENSTACKSDK = False
    OPENSTACKSDK_IMPORT_ERROR = traceback.format_exc()
    SDK_ERRORS = ()
    OUTAGE_ERRORS = ()
    DISCOVERY_ERRORS = ()
else:
    HAS_OPENSTACKSDK = True
    OPENSTACKSDK_IMPORT_ERROR = None
    SDK_ERRORS = (sdk_exceptions.SDKException, ksa_exceptions.ClientException)
    # no connection at all (refused, timed out connecting): the request never reached the API,
    # so sending it again is safe whatever it was
    OUTAGE_ERRORS = (ksa_exceptions.ConnectFailure, ksa_exceptions.ConnectTimeout)
    # what the first use of the baremetal proxy raises when it cannot read the API's versions: an API
    # restarting (a rolling change on a site) looks the same as a wrong endpoint, so it is waited for too
    DISCOVERY_ERRORS = OUTAGE_ERRORS + (ksa_exceptions.DiscoveryFailure,)

# get_json(missing=...) default: a 404 is an error like any other
_RAISE = object()
# The fleet's list-poll: ?fields= needs 1.8, and before 1.39 the API shows a node in 'inspect wait'
# as 'inspecting' (it hid the state from clients older than it), so a wait sees the state as it is
# from 1.39 on.
POLL_MICROVERSION = '1.39'


def is_sdk_error(exc):
    return isinstance(exc, SDK_ERRORS)


def is_outage(exc):
    return isinstance(exc, OUTAGE_ERRORS)


class IronicClient:
    """One task's way to Ironic: connection, retries, raw requests, the fleet's list-poll.

    ``params``: the module's (connection options, ``api_retries``); ``fail(msg)``
    ends the task (it does not return).
    """

    def __init__(self, params, fail):
        self.params = params
        self.fail = fail
        self.retries = []
        self._conn = None

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
            except SDK_ERRORS as exc:
                self.fail('Failed to connect to Ironic: %s' % exc)
        return self._conn

    @property
    def baremetal(self):
        """The baremetal proxy. Its first use asks Ironic for its API versions: an API that does not
        answer (restarting) is waited for api_outage_timeout like any call, then the task fails, clearly."""
        try:
            return call_with_retries(
                lambda: self.conn.baremetal, 'reach Ironic', retries=0, retry_log=self.retries,
                is_sdk_error=is_sdk_error, is_outage=lambda exc: isinstance(exc, DISCOVERY_ERRORS),
                outage=self.params['api_outage_timeout'])
        except BaremetalError as exc:
            self.fail(**exc.as_result())
        return None  # not reached: fail() exits

    # -- calls -----------------------------------------------------------------
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
                is_sdk_error=is_sdk_error, is_outage=is_outage, outage=self.params['api_outage_timeout'])
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

    # -- raw requests ----------------------------------------------------------
    def get_json(self, operation, path, microversion=None, params=None, node=None, missing=_RAISE):
        """One raw GET of ``path`` (under /v1), its JSON body; ``missing`` is returned for a 404 when given.
        Raises BaremetalError (after the retries)."""
        def get():
            response = self.baremetal.get(path, params=params, microversion=microversion)
            if response.status_code == 404 and missing is not _RAISE:
                return missing
            sdk_exceptions.raise_from_response(response, error_message='Failed to %s' % operation)
            return response.json()
        return self.try_call(operation, get, node=node)

    def put(self, operation, path, body, microversion, node=None):
        """One raw PUT of ``body`` to ``path`` (under /v1), for what openstacksdk does not do (or does with
        more calls: its provision-state call reads the whole node back). Raises BaremetalError."""
        def put():
            response = self.baremetal.put(path, json=body, microversion=microversion)
            sdk_exceptions.raise_from_response(response, error_message='Failed to %s node %s' % (operation, node))
        self.try_call(operation, put, node=node)

    # -- the fleet -------------------------------------------------------------
    def list_nodes(self, fields, operation='list nodes'):
        """Every node with these fields, in one list call (retried on 409/503). Raises BaremetalError."""
        return self.try_call(operation, lambda: list(self.baremetal.nodes(fields=fields)))

    def list_node_records(self, fields, operation='list nodes', microversion=POLL_MICROVERSION):
        """Every node with these fields, as the API's dicts, a page at a time (Ironic sends at most
        [api]max_limit nodes a page, 1,000 by default). Raw GETs, not openstacksdk's nodes: building those costs
        about 1.4 ms of CPU a node, 7 s for 5,000 nodes at every wait cycle (benchmarks/site_scale.py).
        Raises BaremetalError."""
        fields = list(fields) if 'uuid' in fields else ['uuid'] + list(fields)  # the next page's marker
        records, params = [], {'fields': ','.join(fields)}
        while True:
            page = self.get_json(operation, '/nodes', microversion=microversion, params=params)
            records.extend(page.get('nodes') or [])
            if not page.get('next') or not page.get('nodes'):
                return records
            params = dict(params, marker=page['nodes'][-1]['uuid'])

    def fleet_poll(self):
        """A function returning every node's wait fields: what each wait cycle asks (a call a page)."""
        return lambda: self.list_node_records(WAIT_FIELDS)
