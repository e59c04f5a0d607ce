"""console's pure helpers: reading a record's console state, deciding a wait, the browsers' page."""

from __future__ import annotations

from ansible_collections.rackops.baremetal.plugins.modules.console import console_enabled, console_verdict, web_console_url


class SdkNode:
    """What openstacksdk's node looks like to the helpers: its own attribute names."""

    def __init__(self, **fields):
        self.__dict__.update(fields)


def test_console_state_from_ironic_and_sdk_records():
    assert console_enabled({'console_enabled': True}) is True
    assert console_enabled({'console_enabled': False}) is False
    assert console_enabled(SdkNode(is_console_enabled=True)) is True
    assert console_enabled(SdkNode(is_console_enabled=None)) is False


def test_wait_until_the_console_is_as_wanted_and_the_node_unlocked():
    assert console_verdict(True, {'console_enabled': True}) == 'done'
    assert console_verdict(True, {'console_enabled': True, 'reservation': 'conductor-1'}) == 'wait'
    assert console_verdict(True, {'console_enabled': False, 'reservation': 'conductor-1'}) == 'wait'


def test_unlocked_and_not_as_wanted_is_a_failure_with_ironics_reason():
    error = 'Error enabling the console on node 1c. Reason: socat exited'
    assert console_verdict(True, {'console_enabled': False, 'last_error': error}) == (
        'the console was not turned on: ' + error)
    assert console_verdict(False, {'console_enabled': True}) == 'the console was not turned off: no reason given'


def test_a_socat_consoles_page_for_browsers_is_on_its_own_address():
    socat = {'type': 'socat', 'url': 'tcp://10.20.0.2:10003'}
    assert web_console_url(socat, 4200) == 'http://10.20.0.2:4200/?10003'
    assert web_console_url({'type': 'socat', 'url': 'tcp://[fd20::2]:10000'}, 8022) == 'http://[fd20::2]:8022/?10000'
    # no browsers' console on the site, a console that is off, or another kind: no page
    assert web_console_url(socat, 0) is None
    assert web_console_url(None, 4200) is None
    assert web_console_url({'type': 'shellinabox', 'url': 'http://10.20.0.2:10000'}, 4200) is None
    assert web_console_url({'type': 'socat', 'url': 'tcp://10.20.0.2'}, 4200) is None
