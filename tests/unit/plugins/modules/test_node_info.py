"""node_info's pure helpers: which fields to ask for, how nodes are returned and sorted."""

from __future__ import annotations

from ansible_collections.rackops.baremetal.plugins.modules.node_info import (
    node_to_result,
    requested_fields,
    sort_key,
)


class FakeNode:
    def __init__(self, data):
        self.data = data

    def to_dict(self, computed, original_names):
        assert computed is False and original_names is True
        return dict(self.data)


def test_fields_always_include_identity():
    assert requested_fields(None) is None
    assert requested_fields(['provision_state', 'name']) == ['uuid', 'name', 'provision_state']


def test_node_result_drops_plumbing_and_masks():
    node = FakeNode({'id': 'u1', 'uuid': 'u1', 'name': 'n', 'links': [{}],
                     'driver_info': {'ipmi_password': 'p'}, 'power_state': None})
    assert node_to_result(node, None) == {'uuid': 'u1', 'name': 'n',
                                          'driver_info': {'ipmi_password': '******'}, 'power_state': None}
    assert node_to_result(node, ['uuid', 'name']) == {'uuid': 'u1', 'name': 'n'}


def test_nameless_nodes_sort_last():
    nodes = [{'name': None, 'uuid': 'b'}, {'name': 'z', 'uuid': 'a'}, {'name': 'a', 'uuid': 'c'}]
    assert [n['uuid'] for n in sorted(nodes, key=sort_key)] == ['c', 'a', 'b']
