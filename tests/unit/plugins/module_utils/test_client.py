"""The client's first use of the baremetal proxy (API version discovery) rides out an API that is restarting."""
from __future__ import annotations

import pytest
from keystoneauth1 import exceptions as ksa_exceptions

from ansible_collections.rackops.baremetal.plugins.module_utils._client import IronicClient


class Ended(Exception):
    pass


class Connection:
    """Answers the proxy after `failures` discovery failures (what openstacksdk raises while the API is down)."""

    def __init__(self, failures):
        self.failures = failures

    @property
    def baremetal(self):
        if self.failures:
            self.failures -= 1
            raise ksa_exceptions.DiscoveryFailure('Unable to find a version discovery document at http://api:6385')
        return 'proxy'


def client(failures, outage):
    def fail(**result):
        raise Ended(result['msg'])
    ironic = IronicClient({'api_retries': 5, 'api_outage_timeout': outage}, fail)
    ironic._conn = Connection(failures)  # pylint: disable=protected-access
    return ironic


def test_an_api_that_answers_after_a_restart_is_waited_for():
    ironic = client(failures=2, outage=30)
    assert ironic.baremetal == 'proxy'
    assert [retry['operation'] for retry in ironic.retries] == ['reach Ironic', 'reach Ironic']


def test_an_api_that_never_answers_fails_the_task_clearly():
    with pytest.raises(Ended, match='Failed to reach Ironic: Unable to find a version discovery document'):
        client(failures=1000, outage=0).baremetal  # pylint: disable=expression-not-assigned
