"""The state table: what the modules plan and wait from (pure data and functions)."""

from __future__ import annotations

from ansible_collections.rackops.baremetal.plugins.module_utils._states import (
    AGENT_WAIT_STATES,
    BUSY,
    DELETABLE,
    DEPLOYED,
    NODE_TARGETS,
    VERBS,
    action_result,
    provision_path,
    verb_microversion,
)
from ansible_collections.rackops.baremetal.plugins.module_utils._fleet_options import provision_microversion

# Ironic's provision states (ironic/common/states.py, as the API names them)
IRONIC_STATES = {
    'enroll', 'verifying', 'manageable', 'available', 'active', 'deploying', 'wait call-back', 'deploy failed',
    'deleting', 'error', 'cleaning', 'clean wait', 'clean failed', 'inspecting', 'inspect wait', 'inspect failed',
    'adopting', 'adopt failed', 'rescuing', 'rescue wait', 'rescue', 'rescue failed', 'unrescuing', 'unrescue failed',
    'servicing', 'service wait', 'service failed', 'deploy hold', 'clean hold', 'service hold'}


def test_provision_paths():
    assert provision_path('enroll', 'manageable') == ['manage']
    assert provision_path('enroll', 'available') == ['manage', 'provide']
    assert provision_path('manageable', 'available') == ['provide']
    assert provision_path('available', 'manageable') == ['manage']
    assert provision_path('clean failed', 'available') == ['manage', 'provide']
    assert provision_path('inspect failed', 'manageable') == ['manage']
    assert provision_path('available', 'available') == []
    assert provision_path('enroll', 'enroll') == []
    # deployed, busy, or no way back: the node module leaves it alone
    assert provision_path('active', 'available') is None
    assert provision_path('cleaning', 'manageable') is None
    assert provision_path('manageable', 'enroll') is None
    # active is adoption: from a node not yet cleaned, never by cleaning (provide) on the way
    assert provision_path('enroll', 'active') == ['manage', 'adopt']
    assert provision_path('manageable', 'active') == ['adopt']
    assert provision_path('adopt failed', 'active') == ['adopt']
    assert provision_path('active', 'active') == []
    assert provision_path('available', 'active') is None
    assert provision_path('deploy failed', 'active') is None


def test_every_state_of_the_table_is_ironics_and_every_verb_ends_somewhere():
    for verb in VERBS.values():
        states = set(verb.starts_from) | set(verb.transitional) | set(verb.failed) | ({verb.done} - {None})
        assert states <= IRONIC_STATES, (verb.target, states - IRONIC_STATES)
        assert verb.microversion >= 1
        assert verb.done is not None or verb.target == 'abort', verb.target
    assert set(DEPLOYED) <= IRONIC_STATES and set(DELETABLE) <= IRONIC_STATES
    assert set(AGENT_WAIT_STATES) <= set(BUSY)
    # a node being moved is never one the modules start a verb from
    assert not set(BUSY) & {state for verb in VERBS.values() for state in verb.starts_from if verb.target != 'abort'}
    assert set(NODE_TARGETS) == {'enroll', 'manageable', 'available', 'active'}


def test_the_modules_wait_for_what_the_table_says():
    assert action_result('manage') == ('manageable', ('enroll',))
    assert action_result('provide') == ('available', ('clean failed',))
    assert action_result('active') == ('active', ('deploy failed', 'error'))
    assert action_result('deleted') == ('available', ('clean failed', 'error'))
    assert action_result('inspect') == ('manageable', ('inspect failed',))


def test_a_request_asks_for_the_lowest_microversion_that_takes_it():
    assert verb_microversion('manage') == 4 and verb_microversion('clean') == 15
    assert verb_microversion('unknown') == 1
    assert provision_microversion('active', {}) == '1.1'
    assert provision_microversion('inspect', {}) == '1.6'
    assert provision_microversion('clean', {'clean_steps': []}) == '1.15'
    assert provision_microversion('active', {'deploy_steps': []}) == '1.69'
    assert provision_microversion('rescue', {}) == '1.38'
