"""inventory_nodes: host variables to server descriptions, merged over the group's defaults."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.rackops.baremetal.plugins.filter.inventory_nodes import inventory_nodes, plain


class ReadOnlyMapping(Mapping):
    """Stands in for Ansible's lazy containers: a Mapping that is not a dict."""

    def __init__(self, data):
        self._data = data

    def __getitem__(self, key):
        return self._data[key]

    def __iter__(self):
        return iter(self._data)

    def __len__(self):
        return len(self._data)


def test_plain_turns_mappings_and_sequences_into_dicts_and_lists():
    value = ReadOnlyMapping({'nics': (ReadOnlyMapping({'mac': 'aa'}),), 'name': 'x', 'n': 1})
    assert plain(value) == {'nics': [{'mac': 'aa'}], 'name': 'x', 'n': 1}
    assert isinstance(plain(value), dict) and isinstance(plain(value)['nics'][0], dict)
    assert plain('text') == 'text'


def test_host_values_merge_over_defaults_and_hosts_without_either_are_skipped():
    hostvars = {
        'a': {'baremetal_defaults': ReadOnlyMapping({'bmc': {'driver': 'ipmi', 'username': 'admin'}}),
              'baremetal': ReadOnlyMapping({'bmc': {'address': '10.0.0.1'}})},
        'b': {'baremetal': {'name': 'bee', 'nics': [{'mac': 'bb'}]}},
        'c': {'unrelated': True},
    }
    servers = inventory_nodes(['a', 'b', 'c'], hostvars)
    assert servers == [{'bmc': {'driver': 'ipmi', 'username': 'admin', 'address': '10.0.0.1'}, 'name': 'a'},
                       {'name': 'bee', 'nics': [{'mac': 'bb'}]}]
    # the defaults are not changed by the merge
    assert dict(hostvars['a']['baremetal_defaults'])['bmc'] == {'driver': 'ipmi', 'username': 'admin'}


def test_state_picks_the_servers_kept_or_the_servers_marked_absent():
    hostvars = {'a': {'baremetal': {'bmc': {}}}, 'b': {'baremetal': {'state': 'absent'}},
                'c': {'baremetal': {'state': 'present'}}}
    names = ['a', 'b', 'c']
    assert [s['name'] for s in inventory_nodes(names, hostvars)] == ['a', 'b', 'c']
    assert [s['name'] for s in inventory_nodes(names, hostvars, state='present')] == ['a', 'c']
    assert [s['name'] for s in inventory_nodes(names, hostvars, state='absent')] == ['b']
    with pytest.raises(AnsibleFilterError, match='state must be'):
        inventory_nodes(names, hostvars, state='gone')
