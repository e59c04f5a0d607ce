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
                       # a name of its own: where it came from goes with it (messages name both)
                       {'name': 'bee', 'nics': [{'mac': 'bb'}], '_inventory_host': 'b'}]
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


def test_an_image_by_name_is_where_the_site_publishes_it():
    site = {'rackops_provisioning_address': '10.20.0.2/24', 'baremetal_defaults': {'image': {'name': 'debian-bookworm'}}}
    hostvars = {
        'a': dict(site),
        # another port; a checksum of its own is kept
        'b': dict(site, rackops_provisioning_http_port=8081, baremetal={'image': {'checksum': 'sha256:' + 'a' * 64}}),
        # an images URL of its own wins over the provisioning network
        'c': dict(site, rackops_images_url='https://images.example.com/rack/'),
        'd': {'rackops_provisioning_address': 'fd20::2/64', 'baremetal': {'image': {'name': 'x'}}},
    }
    images = {s['name']: s['image'] for s in inventory_nodes(list(hostvars), hostvars)}
    assert images == {
        'a': {'name': 'debian-bookworm', 'source': 'http://10.20.0.2:8080/images/debian-bookworm.qcow2',
              'checksum': 'http://10.20.0.2:8080/images/debian-bookworm.qcow2.sha256'},
        'b': {'name': 'debian-bookworm', 'source': 'http://10.20.0.2:8081/images/debian-bookworm.qcow2',
              'checksum': 'sha256:' + 'a' * 64},
        'c': {'name': 'debian-bookworm', 'source': 'https://images.example.com/rack/debian-bookworm.qcow2',
              'checksum': 'https://images.example.com/rack/debian-bookworm.qcow2.sha256'},
        'd': {'name': 'x', 'source': 'http://[fd20::2]:8080/images/x.qcow2',
              'checksum': 'http://[fd20::2]:8080/images/x.qcow2.sha256'}}


def test_a_hosts_own_name_or_source_replaces_the_groups_other_one():
    by_url = {'image': {'source': 'http://h/g.qcow2', 'checksum': 'sha256:' + 'b' * 64}}
    hostvars = {
        'named': {'rackops_provisioning_address': '10.0.0.2/24', 'baremetal_defaults': by_url,
                  'baremetal': {'image': {'name': 'own'}}},
        'by-url': {'rackops_provisioning_address': '10.0.0.2/24', 'baremetal_defaults': {'image': {'name': 'group'}},
                   'baremetal': {'image': {'source': 'http://h/own.qcow2', 'checksum': 'sha256:' + 'c' * 64}}},
    }
    images = {s['name']: s['image'] for s in inventory_nodes(list(hostvars), hostvars)}
    assert images['named'] == {'name': 'own', 'source': 'http://10.0.0.2:8080/images/own.qcow2',
                               'checksum': 'http://10.0.0.2:8080/images/own.qcow2.sha256'}
    assert images['by-url'] == {'source': 'http://h/own.qcow2', 'checksum': 'sha256:' + 'c' * 64}


def test_a_named_partition_image_is_the_partition_image_published_beside_it():
    site = {'rackops_provisioning_address': '10.20.0.2/24',
            'baremetal_defaults': {'image': {'name': 'debian-bookworm', 'kernel': 'http://h/group.vmlinuz'}}}
    hostvars = {'p': dict(site, baremetal={'image': {'name': 'deb', 'type': 'partition', 'root_gb': 4}}),
                'w': dict(site)}
    images = {s['name']: s['image'] for s in inventory_nodes(list(hostvars), hostvars)}
    stem = 'http://10.20.0.2:8080/images/deb-partition'
    # (the group's kernel belonged to the group's image: a host's own name drops it)
    assert images['p'] == {'name': 'deb', 'type': 'partition', 'root_gb': 4, 'source': stem + '.qcow2',
                           'checksum': stem + '.qcow2.sha256', 'kernel': stem + '.vmlinuz', 'ramdisk': stem + '.initrd'}
    assert images['w']['source'] == 'http://10.20.0.2:8080/images/debian-bookworm.qcow2'


def test_an_image_name_with_nowhere_to_resolve_it_names_the_host_and_field():
    with pytest.raises(AnsibleFilterError, match=r"^r1: image.name: 'deb' names an image the site publishes.*"
                                                 r"rackops_provisioning_address"):
        inventory_nodes(['r1'], {'r1': {'baremetal': {'image': {'name': 'deb'}}}})
    with pytest.raises(AnsibleFilterError, match='r2: rackops_provisioning_address'):
        inventory_nodes(['r2'], {'r2': {'rackops_provisioning_address': 'nonsense', 'baremetal': {'image': {'name': 'd'}}}})
