"""The fleet base's maintenance rule: Ironic's own power-failure maintenance is left (once Ironic
reaches the BMC again), an operator's stays, and a verb Ironic refuses in it is not asked."""

from __future__ import annotations

import pytest

from ansible_collections.rackops.baremetal.plugins.module_utils._errors import BaremetalError
from ansible_collections.rackops.baremetal.plugins.module_utils._fleet import maintenance_of
from ansible_collections.rackops.baremetal.plugins.module_utils._fleet_options import LEAVE_POWER_FAILURE, FleetTask

POWER_FAILURE = {'maintenance': True, 'fault': 'power failure',
                 'maintenance_reason': 'During sync_power_state, max retries exceeded for node n0'}
OPERATORS = {'maintenance': True, 'fault': None, 'maintenance_reason': 'replacing a DIMM'}


class SdkNode:
    def __init__(self, **fields):
        self.__dict__.update(fields)


class SdkDict(dict):
    """An openstacksdk resource: a dict whose keys are its attribute names."""


class FakeClient:
    def __init__(self, bmc_answers=True):
        self.bmc_answers = bmc_answers
        self.gets = []

    def get_json(self, operation, path, node=None, **_kwargs):
        self.gets.append(path)
        if not self.bmc_answers:
            raise BaremetalError(operation, 'IPMI call failed: chassis bootparam get 5.', node=node, status_code=500)
        return {'boot_device': 'disk', 'persistent': True}


class FakeBaremetal:
    def __init__(self):
        self.unset = []

    def unset_node_maintenance(self, uuid):
        self.unset.append(uuid)


class FakeModule:
    def __init__(self, check_mode=False, bmc_answers=True):
        self.params = {'concurrency': 2}
        self.check_mode = check_mode
        self.baremetal = FakeBaremetal()
        self.client = FakeClient(bmc_answers)

    def try_call(self, _operation, fn, *args, node=None, **kwargs):  # pylint: disable=unused-argument
        return fn(*args, **kwargs)


def task(**kwargs):
    fleet = FleetTask(FakeModule(**kwargs), ['n0'])
    fleet.results[0].uuid = 'uuid-0'
    return fleet, fleet.results[0]


def test_maintenance_is_read_from_api_dicts_and_sdk_nodes():
    assert maintenance_of(POWER_FAILURE) == (True, 'power failure', POWER_FAILURE['maintenance_reason'])
    assert maintenance_of(SdkNode(is_maintenance=True, fault=None, maintenance_reason='rack work')) == (
        True, None, 'rack work')
    assert maintenance_of({'maintenance': False}) == (False, None, None)
    # openstacksdk's resources are dicts keyed by their own attribute names
    assert maintenance_of(SdkDict(is_maintenance=True, fault='power failure', maintenance_reason='r')) == (
        True, 'power failure', 'r')


def test_ironics_power_failure_maintenance_is_planned_to_end_once():
    fleet, result = task()
    assert fleet.admit(result, POWER_FAILURE, ['provide'], 'not moved to available')
    assert fleet.admit(result, POWER_FAILURE, ['active'], 'not deployed')
    assert result.changed and result.actions == [LEAVE_POWER_FAILURE] and not result.failed


@pytest.mark.parametrize('verb', ['provide', 'clean', 'active', 'rebuild'])
def test_an_operators_maintenance_stays_and_a_verb_ironic_refuses_in_it_is_not_asked(verb):
    fleet, result = task()
    assert not fleet.admit(result, OPERATORS, ['manage', verb], 'not deployed')
    assert result.failed and not result.changed
    assert result.msg.startswith('is in maintenance (replacing a DIMM): not deployed')
    assert not fleet.power_failures


def test_verbs_ironic_takes_in_maintenance_go_on_and_nothing_asked_changes_nothing():
    fleet, result = task()
    assert fleet.admit(result, OPERATORS, ['inspect'], 'not inspected')
    assert fleet.admit(result, POWER_FAILURE, [], 'not moved')
    assert fleet.admit(result, {'maintenance': False}, ['active'], 'not deployed')
    assert not result.failed and not result.changed and not fleet.power_failures


def test_leaving_asks_ironic_to_reach_the_bmc_first():
    fleet, result = task()
    fleet.admit(result, POWER_FAILURE, ['provide'], 'not moved')
    fleet.leave_power_failure(result)
    assert fleet.module.client.gets == ['/nodes/uuid-0/management/boot_device']
    assert fleet.module.baremetal.unset == ['uuid-0']
    fleet.leave_power_failure(result)  # once
    assert fleet.module.baremetal.unset == ['uuid-0']


def test_a_bmc_still_silent_keeps_the_node_in_maintenance_with_ironics_error():
    fleet, result = task(bmc_answers=False)
    fleet.admit(result, POWER_FAILURE, ['provide'], 'not moved')
    with pytest.raises(BaremetalError, match='IPMI call failed'):
        fleet.leave_power_failure(result)
    assert fleet.module.baremetal.unset == []


def test_check_mode_sends_nothing():
    fleet, result = task(check_mode=True)
    fleet.admit(result, POWER_FAILURE, ['provide'], 'not moved')
    fleet.leave_power_failure(result)
    assert fleet.module.client.gets == [] and fleet.module.baremetal.unset == []
    assert result.actions == [LEAVE_POWER_FAILURE]


def test_a_node_not_chosen_is_left_alone():
    fleet, result = task()
    fleet.leave_power_failure(result)
    assert fleet.module.client.gets == [] and fleet.module.baremetal.unset == []


class ScriptedFleet:
    """A fleet whose states change from one list call to the next (the last one stays)."""

    def __init__(self, *snapshots):
        self.snapshots = list(snapshots)
        self.calls = 0

    def nodes(self, fields=None):  # pylint: disable=unused-argument
        snapshot = self.snapshots[min(self.calls, len(self.snapshots) - 1)]
        self.calls += 1
        return [dict(uuid='uuid-%s' % name, name=name, provision_state=state[0], target_provision_state=state[1])
                for name, state in snapshot.items()]


def waiting_task(fleet, names, timeout=5):
    module = FakeModule()
    module.params.update(timeout=timeout, wait_interval=0.01)
    module.call = lambda _operation, fn: fn()
    module.baremetal.nodes = fleet.nodes
    module.client.fleet_poll = lambda: fleet.nodes
    return FleetTask(module, names)


def test_nodes_in_a_transition_under_way_are_waited_for_before_planning():
    fleet = ScriptedFleet({'n0': ('deploying', 'active'), 'n1': ('available', None)},
                          {'n0': ('wait call-back', 'active'), 'n1': ('available', None)},
                          {'n0': ('active', None), 'n1': ('available', None)})
    task_ = waiting_task(fleet, ['n0', 'n1'])
    busy = task_.wait_for_others()
    assert [r.name for r in busy] == ['n0']
    n0, n1 = task_.results
    assert n0.provision_state == 'active' and not n0.failed and not n0.changed
    assert 'deploying -> active' in n0.extra['note'] and 'note' not in n1.extra
    assert fleet.calls >= 3


def test_nothing_busy_costs_one_list_call():
    fleet = ScriptedFleet({'n0': ('available', None)})
    assert waiting_task(fleet, ['n0']).wait_for_others() == []
    assert fleet.calls == 1


def test_a_transition_that_does_not_end_times_the_node_out_and_only_it():
    fleet = ScriptedFleet({'n0': ('clean wait', 'available'), 'n1': ('manageable', None)})
    task_ = waiting_task(fleet, ['n0', 'n1'], timeout=0.05)
    task_.wait_for_others()
    n0, n1 = task_.results
    assert n0.failed and 'clean wait' in n0.msg and not n1.failed


def test_only_the_nodes_named_are_waited_for():
    fleet = ScriptedFleet({'n0': ('deploying', 'active')})
    assert waiting_task(fleet, ['n0']).wait_for_others(names=set()) == []
