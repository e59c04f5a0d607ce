# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options every fleet module shares: concurrency, waiting, failure policy.

Private to rackops.baremetal (the leading underscore). Paired one-to-one with
doc_fragments/fleet.py: change both together.
"""

from __future__ import annotations

import time

from ansible_collections.rackops.baremetal.plugins.module_utils._errors import BaremetalError
from ansible_collections.rackops.baremetal.plugins.module_utils._redact import is_secret_key
from ansible_collections.rackops.baremetal.plugins.module_utils._fleet import (
    FAIL_ON, WAIT_FIELDS, NodeResult, field_getter, maintenance_of, wait_for)
from ansible_collections.rackops.baremetal.plugins.module_utils._states import (
    BUSY, POWER_FAILURE_FAULT, REFUSED_IN_MAINTENANCE, verb_microversion)

FLEET_ARGUMENT_SPEC = dict(
    concurrency=dict(type='int'),
    timeout=dict(type='int', default=1800),
    wait_interval=dict(type='float', default=1.0),
    fail_on=dict(type='str', choices=list(FAIL_ON), default='any'),
)

# The `ironic` role writes this key into its clouds.yaml entry: 4 for SQLite
# (measured best; Ironic runs in one process there), 8 for PostgreSQL/MariaDB.
CLOUD_CONCURRENCY_KEY = 'rackops_concurrency'
FALLBACK_CONCURRENCY = 4


def fleet_concurrency(module):
    """The task's concurrency: the option, else the engine's hint, else a safe default."""
    if module.params.get('concurrency'):
        return max(1, module.params['concurrency'])
    try:
        hint = module.conn.config.config.get(CLOUD_CONCURRENCY_KEY)
    except AttributeError:
        hint = None
    try:
        return max(1, int(hint))
    except (TypeError, ValueError):
        return FALLBACK_CONCURRENCY


# What a node's result says when the task takes it out of Ironic's own power-failure maintenance.
LEAVE_POWER_FAILURE = "leave the maintenance Ironic set when the BMC stopped answering"

# The lowest Ironic API version that has each request body field (each verb's: the state table's).
_FIELD_VERSIONS = {'clean_steps': 15, 'deploy_steps': 69, 'disable_ramdisk': 70}


def provision_microversion(target, body):
    """The API version a provision request asks for: the lowest that takes it, so an
    older Ironic (an existing cloud's) still takes the plain verbs."""
    minor = max([verb_microversion(target)] + [_FIELD_VERSIONS.get(k, 1) for k in body])
    if 'configdrive' in body:
        # a config drive with a rebuild since 1.35; as a dict (not an ISO image) since 1.56
        minor = max(minor, 56 if isinstance(body['configdrive'], dict) else 35 if target == 'rebuild' else 1)
    return '1.%d' % minor


def unnamed_problems(servers):
    """The problem with server descriptions that have no name (a list of at most one message)."""
    unnamed = [str(i) for i, s in enumerate(servers) if not isinstance(s, dict) or not s.get('name')]
    return ['every node needs a name; entries without one: %s' % ', '.join(unnamed)] if unnamed else []


def index_records(records):
    """{UUID: record, name: record} for node records (dicts or SDK nodes)."""
    by_key = {}
    for record in records:
        get = field_getter(record)
        by_key[get('id') or get('uuid')] = record
        if get('name'):
            by_key[get('name')] = record
    return by_key


def fleet_servers(module):
    """The server descriptions of a task (``node`` or ``nodes``), their BMC secrets (the password,
    secret-looking driver_info pass-through keys) masked in its result."""
    servers = module.params['nodes'] if module.params['nodes'] is not None else [module.params['node']]
    for server in servers:
        bmc = server.get('bmc') if isinstance(server, dict) else None
        if not isinstance(bmc, dict):
            continue
        module.add_secrets([bmc.get('password')])
        passed = bmc.get('driver_info')
        if isinstance(passed, dict):
            # strings only: a number as a masked value would hide every such digit in the output
            module.add_secrets(value for key, value in passed.items() if is_secret_key(key) and isinstance(value, str))
    return servers


class FleetTask:
    """What every fleet module's run holds: the module, one result per node, the diff, phase timings."""

    def __init__(self, module, names):
        self.module = module
        self.params = module.params
        self.check = module.check_mode
        self.baremetal = module.baremetal
        self.results = [NodeResult(name) for name in names]
        self.records = {}  # result name -> the node's record, as the task last read it
        self.diffs = []
        self.timings = {}
        self.concurrency = fleet_concurrency(module)
        self.power_failures = set()  # result names to take out of Ironic's power-failure maintenance

    def timed(self, phase, fn, *args):
        """Run one phase of the task; its seconds go to the result's ``timings``."""
        start = time.monotonic()
        fn(*args)
        self.timings[phase] = round(time.monotonic() - start, 2)

    def match(self, records, missing='no such node in Ironic', if_missing=None):
        """{result name: record} for the results whose node (by name or UUID) is among
        ``records``; the others fail with ``missing`` (or ``if_missing(result)``
        decides for them). Matched results observe their record."""
        by_key = index_records(records)
        matched = {}
        for result in self.results:
            record = by_key.get(result.name)
            if record is None:
                if if_missing is not None:
                    if_missing(result)
                else:
                    result.fail(missing)
                continue
            result.observe(record)
            matched[result.name] = record
        return matched

    def read_records(self, fields, microversion):
        """Every node's record with these fields (raw, every page: what openstacksdk's node lacks, e.g. fields of a
        newer microversion); a failure to list ends the task with the client's error (it retried already)."""
        try:
            return self.module.client.list_node_records(fields, microversion=microversion)
        except BaremetalError as exc:
            self.module.fail(**exc.as_result())
        return None  # not reached: fail() exits

    def refresh(self, records, results=None):
        """Take fresh ``records`` for these results (all by default) into ``self.records``."""
        by_key = index_records(records)
        for result in self.results if results is None else results:
            self.records[result.name] = by_key.get(result.name, self.records.get(result.name))

    def call(self, result, operation, fn, *args, **kwargs):
        """One Ironic call for this node; a failure is raised for run_phase to record."""
        return self.module.try_call(operation, fn, *args, node=result.name, **kwargs)

    def set_provision_state(self, result, target, operation=None, **body):
        """Ask for one provision action (``body``: the request's other fields, Ironic's names).

        One PUT, not openstacksdk's set_node_provision_state: that reads the
        whole node back after each request, one GET more per node and action,
        which the fleet's waits (one list per cycle) never need. Over a
        provision.yml run of 200 nodes those were 800 GETs; each took Ironic's
        API about as much CPU as a 200-node list.
        """
        self.put_node(result, operation or target, 'states/provision', dict(body, target=target),
                      provision_microversion(target, body))

    def put_node(self, result, operation, subpath, body, microversion):
        """One raw PUT to ``/nodes/<uuid>/<subpath>``, for what openstacksdk does not do (or does with more calls)."""
        self.module.client.put(operation, '/nodes/%s/%s' % (result.uuid, subpath), body, microversion, node=result.name)

    # -- transitions under way -------------------------------------------------
    def wait_for_others(self, names=None):
        """Before the task reads and plans: wait for the nodes a transition is under way on (BUSY).

        Someone else's run is acting on them, or a run was interrupted (Ctrl-C) while
        Ironic went on. Ironic would refuse a verb now, and the plan must not start the
        transition again once it ends: so the task waits for every such node to settle
        (one list call per cycle, up to its timeout), then reads and plans from where
        each one ended. Check mode waits too: it only reads. ``names``: only these nodes (default all).
        Returns the results waited for.
        """
        records = index_records(self.module.call('list nodes', lambda: list(self.baremetal.nodes(fields=WAIT_FIELDS))))
        busy = []
        for result in self.results:
            record = records.get(result.name)
            if record is None or result.failed or (names is not None and result.name not in names):
                continue
            get = field_getter(record)
            if get('provision_state') in BUSY:
                result.observe(record)
                result.extra['note'] = 'waited for a transition under way when the task started (%s -> %s: ' \
                    'another run, or one interrupted)' % (get('provision_state'), get('target_provision_state'))
                busy.append(result)
        if busy:
            wait_for(self.module.client.fleet_poll(), busy,
                     lambda result, node: 'wait' if field_getter(node)('provision_state') in BUSY else 'done',
                     self.params['timeout'], self.params['wait_interval'])
            for result in busy:
                result.resume_clock()
        return busy

    # -- maintenance -----------------------------------------------------------
    def admit(self, result, record, verbs, undone):
        """May ``verbs`` be asked of this node, as far as its maintenance goes?

        Maintenance Ironic set itself because the BMC stopped answering (fault
        ``power failure``) is not the operator's: the node is taken out of it first
        (leave_power_failure, once Ironic reads the BMC again), which Ironic's own
        recovery would do only minutes later. An operator's maintenance stays: when
        Ironic would refuse one of the verbs in it, the node fails now, saying so
        (``undone``: what is not done, e.g. "not deployed").
        """
        in_maintenance, fault, reason = maintenance_of(record)
        if not in_maintenance or not verbs:
            return True
        if fault == POWER_FAILURE_FAULT:
            if result.name not in self.power_failures:
                self.power_failures.add(result.name)
                result.did(LEAVE_POWER_FAILURE)
            return True
        if any(verb in REFUSED_IN_MAINTENANCE for verb in verbs):
            result.fail('is in maintenance (%s): %s. Maintenance set by an operator is theirs to end '
                        '(openstack baremetal node maintenance unset)' % (reason or 'no reason given', undone))
            return False
        return True

    def leave_power_failure(self, result):
        """Take a node admit() chose out of Ironic's power-failure maintenance (nothing for others).

        Only once Ironic reaches the BMC again: it reads the node's boot device from
        the BMC first, as its own recovery reads the power state. A BMC still silent
        fails the node with Ironic's error, and the node stays in maintenance.
        """
        if result.name not in self.power_failures or self.check:
            return
        self.module.client.get_json('reach the BMC (asked through Ironic for the boot device) of',
                                    '/nodes/%s/management/boot_device' % result.uuid, node=result.name)
        self.call(result, 'take out of maintenance', self.baremetal.unset_node_maintenance, result.uuid)
        self.power_failures.discard(result.name)
