"""rescue's pure planning: what each node needs, or why it cannot."""

from __future__ import annotations

from ansible_collections.rackops.baremetal.plugins.modules.rescue import rescue_plan


def test_a_deployed_node_is_rescued_and_a_rescued_one_brought_back():
    assert rescue_plan('rescued', 'active', 'agent') == ('rescue', None)
    assert rescue_plan('rescued', 'rescue failed', 'agent') == ('rescue', None)
    assert rescue_plan('unrescued', 'rescue', 'agent') == ('unrescue', None)
    assert rescue_plan('unrescued', 'unrescue failed', 'agent') == ('unrescue', None)


def test_a_node_as_wanted_is_left_alone():
    assert rescue_plan('rescued', 'rescue', 'agent') == (None, None)
    assert rescue_plan('unrescued', 'active', 'no-rescue') == (None, None)


def test_what_cannot_be_rescued_says_why():
    assert rescue_plan('rescued', 'available', 'agent') == (None, 'is available: rescue needs a deployed (active) node')
    assert rescue_plan('unrescued', 'manageable', 'agent') == (None, 'is manageable: unrescue needs a rescued node')
    verb, problem = rescue_plan('rescued', 'active', 'no-rescue')
    assert verb is None and problem.startswith('has rescue interface no-rescue: give it interfaces.rescue: agent')
