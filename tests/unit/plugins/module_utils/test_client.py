"""The client's first use of the baremetal proxy (API version discovery) rides out an API that is restarting."""
from __future__ import annotations

from types import SimpleNamespace

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


class Response:
    status_code = 200

    def __init__(self, body):
        self.body = body

    def json(self):
        return self.body


class PagedNodes:
    """The API's GET /v1/nodes: at most `page` nodes an answer, a `next` link while more remain."""

    def __init__(self, total, page):
        self.nodes = [{'uuid': 'u%04d' % i, 'provision_state': 'available'} for i in range(total)]
        self.page = page
        self.asked = []

    def get(self, path, params=None, microversion=None):
        self.asked.append((path, dict(params), microversion))
        start = 0
        if 'marker' in params:
            start = [n['uuid'] for n in self.nodes].index(params['marker']) + 1
        nodes = self.nodes[start:start + self.page]
        if tuple(map(int, microversion.split('.'))) < (1, 39):
            # what Ironic's API does for older clients (update_state_in_older_versions)
            nodes = [dict(n, provision_state='inspecting') if n['provision_state'] == 'inspect wait' else n
                     for n in nodes]
        body = {'nodes': nodes}
        if len(nodes) == self.page:
            body['next'] = 'http://api:6385/v1/nodes?marker=%s' % nodes[-1]['uuid']
        return Response(body)


@pytest.mark.parametrize('total', [0, 999, 1000, 2500])
def test_the_fleet_list_reads_every_page(total):
    ironic = client(failures=0, outage=0)
    api = PagedNodes(total, page=1000)
    for node in api.nodes[::7]:
        node['provision_state'] = 'inspect wait'
    ironic._conn = SimpleNamespace(baremetal=api)  # pylint: disable=protected-access
    records = ironic.list_node_records(['provision_state'])
    # every node, in the state it is in: a version older than 1.39 would show 'inspect wait' as 'inspecting'
    assert records == api.nodes
    # the marker needs the uuid, asked for though the caller did not; one call a page (and one that finds the end)
    assert all(params['fields'] == 'uuid,provision_state' for _path, params, _version in api.asked)
    assert len(api.asked) == total // 1000 + 1
