"""The inventory contract: validation messages and the mapping to Ironic fields."""

from __future__ import annotations

import json
from pathlib import Path

from ansible_collections.rackops.baremetal.plugins.module_utils._inventory import (
    SCHEMA,
    deep_merge,
    to_ironic,
    validate_fleet,
)

REPO = Path(__file__).resolve().parents[4]


def ipmi(name, mac, address, **extra):
    server = {'name': name, 'bmc': {'driver': 'ipmi', 'address': address, 'username': 'admin',
                                    'password': 'pw'}, 'nics': [{'mac': mac}]}
    server.update(extra)
    return server


def test_a_valid_fleet_has_no_problems():
    fleet = [ipmi('a', '52:54:00:00:00:01', '10.0.0.1'),
             ipmi('b', '52:54:00:00:00:02', '10.0.0.2', properties={'cpu_arch': 'x86_64', 'cpus': 2})]
    assert validate_fleet(fleet, enabled_drivers=['ipmi']) == []


def test_a_typo_is_named_with_a_suggestion():
    server = ipmi('a', '52:54:00:00:00:01', '10.0.0.1')
    server['bmc']['adress'] = server['bmc'].pop('address')
    problems = validate_fleet([server])
    assert 'a: bmc.adress: unknown key (did you mean address?)' in problems
    assert 'a: bmc.address: required for driver ipmi' not in problems  # schema errors stop the rest


def test_unknown_top_level_key():
    problems = validate_fleet([ipmi('a', '52:54:00:00:00:01', '10.0.0.1', ipmi_adress='x')])
    assert problems[0].startswith('a: ipmi_adress: unknown key')


def test_driver_requirements_and_what_drivers_ignore():
    problems = validate_fleet([{'name': 'r', 'bmc': {'driver': 'redfish', 'address': 'https://bmc'}},
                               {'name': 'f', 'bmc': {'driver': 'fake-hardware', 'port': 623}}])
    assert 'r: bmc.username: required for driver redfish' in problems
    assert 'r: bmc.password: required for driver redfish' in problems
    assert 'f: bmc.port: not used by driver fake-hardware' in problems


def test_duplicates_across_hosts():
    problems = validate_fleet([ipmi('a', '52:54:00:00:00:01', '10.0.0.1'),
                               ipmi('b', '52:54:00:00:00:01', '10.0.0.1'),
                               ipmi('a', '52:54:00:00:00:03', '10.0.0.3')])
    assert 'b: nics[0].mac: 52:54:00:00:00:01 is also on a' in problems
    assert 'b: bmc.address: 10.0.0.1:623 is also the BMC of a' in problems
    assert 'a: name: also used by a' in problems


def test_mac_port_address_image_and_network_formats():
    server = ipmi('a', '52:54:00:00:00', 'not an address!', image={'source': 'ftp://x/img'},
                  network={'ipv4': {'address': '10.0.0.5', 'gateway': '10.1.0.1'}})
    server['bmc']['port'] = 70000
    problems = validate_fleet([server])
    assert 'a: nics[0].mac: not a MAC address (aa:bb:cc:dd:ee:ff)' in problems
    assert any(p.startswith('a: bmc.port: 70000 is greater than') for p in problems)
    assert 'a: image.source: not an http://, https:// or file:// URL' in problems
    server = ipmi('a', '52:54:00:00:00:01', 'bad_host!', image={'source': 'https://x/img', 'checksum': 'xyz'},
                  network={'ipv4': {'address': '10.0.0.5/24', 'gateway': '10.1.0.1'}})
    problems = validate_fleet([server])
    assert 'a: image.checksum: not a checksum (md5/sha1/sha256/sha512 hex, sha256:/sha512:/md5:<hex>, or a URL)' in problems
    server['image']['checksum'] = 'a' * 64
    problems = validate_fleet([server])
    assert "a: bmc.address: 'bad_host!' is neither an IP address nor a host name" in problems
    assert 'a: network.ipv4.gateway: 10.1.0.1 is outside 10.0.0.0/24' in problems


def test_driver_not_enabled_on_the_engine():
    problems = validate_fleet([ipmi('a', '52:54:00:00:00:01', '10.0.0.1')], enabled_drivers=['fake-hardware'])
    assert problems == ['a: bmc.driver: ipmi is not enabled on the engine (enabled: fake-hardware)']


def test_a_server_that_is_not_a_dict():
    assert validate_fleet(['oops'])[0].startswith("server[0]: (top): 'oops' is not of type")


def test_to_ironic_maps_drivers_and_only_given_keys():
    server = ipmi('a', '52:54:00:AA:00:01', '10.0.0.1', resource_class='gold',
                  properties={'cpus': 4, 'boot_mode': 'uefi'}, root_device={'size': 100},
                  interfaces={'deploy': 'fake'}, deploy_kernel='http://h/k')
    fields, ports, groups = to_ironic(server)
    assert fields == {
        'name': 'a', 'driver': 'ipmi', 'resource_class': 'gold', 'deploy_interface': 'fake',
        'driver_info': {'ipmi_address': '10.0.0.1', 'ipmi_username': 'admin', 'ipmi_password': 'pw',
                        'deploy_kernel': 'http://h/k'},
        'properties': {'cpus': 4, 'capabilities': 'boot_mode:uefi', 'root_device': {'size': 100}},
    }
    assert ports == [{'address': '52:54:00:aa:00:01', 'pxe_enabled': True, 'portgroup': None}]
    assert groups == []


def test_deploy_templates_join_the_traits_the_server_gives():
    fields = to_ironic(ipmi('a', '52:54:00:aa:00:01', '10.0.0.1', traits=['CUSTOM_RACK'],
                            deploy_templates=['CUSTOM_RAID1']))[0]
    assert fields['traits'] == ['CUSTOM_RACK', 'CUSTOM_RAID1']
    # no traits given: the node's traits are not managed (the deploy adds its templates)
    assert 'traits' not in to_ironic(ipmi('a', '52:54:00:aa:00:01', '10.0.0.1', deploy_templates=['CUSTOM_RAID1']))[0]
    problems = validate_fleet([ipmi('a', '52:54:00:aa:00:01', '10.0.0.1', deploy_templates=['raid1'])])
    assert len(problems) == 1 and problems[0].startswith('a: deploy_templates[0]:'), problems


def test_redfish_address_becomes_a_url_and_pxe_defaults_to_first_nic():
    server = {'name': 'r', 'bmc': {'driver': 'redfish', 'address': 'bmc.example', 'system_id': '/redfish/v1/Systems/1'},
              'nics': [{'mac': '52:54:00:00:00:01'}, {'mac': '52:54:00:00:00:02', 'pxe': True}]}
    fields, ports, _groups = to_ironic(server)
    assert fields['driver_info']['redfish_address'] == 'https://bmc.example'
    assert [p['pxe_enabled'] for p in ports] == [False, True]


def test_deep_merge_lets_hosts_override_group_defaults_key_by_key():
    defaults = {'bmc': {'driver': 'ipmi', 'username': 'admin'}, 'traits': ['A']}
    merged = deep_merge(defaults, {'bmc': {'address': '10.0.0.1'}, 'traits': ['B']})
    assert merged == {'bmc': {'driver': 'ipmi', 'username': 'admin', 'address': '10.0.0.1'}, 'traits': ['B']}
    assert defaults['bmc'] == {'driver': 'ipmi', 'username': 'admin'}


def test_published_schema_is_the_one_the_validator_uses():
    published = json.loads((REPO / 'docs/inventory.schema.json').read_text())
    assert published == json.loads(json.dumps(SCHEMA)), 'run scripts/export-inventory-schema.py'


def test_bonds_become_port_groups_and_are_checked():
    server = ipmi('a', '52:54:00:00:00:01', '10.0.0.1')
    server['nics'].append({'mac': '52:54:00:00:00:02'})
    server['bonds'] = [{'name': 'bond0', 'nics': ['52:54:00:00:00:01', '52:54:00:00:00:02'], 'mode': '802.3ad',
                        'properties': {'miimon': 100}}]
    assert validate_fleet([server]) == []
    _fields, ports, groups = to_ironic(server)
    assert groups == [{'name': 'a-bond0', 'mode': '802.3ad', 'properties': {'miimon': 100}}]
    assert {p['portgroup'] for p in ports} == {'a-bond0'}
    server['bonds'].append({'name': 'bond0', 'nics': ['52:54:00:00:00:02', '52:54:00:00:00:09']})
    problems = validate_fleet([server])
    assert 'a: bonds[1].name: bond0 is used twice' in problems
    assert 'a: bonds[1].nics[0]: 52:54:00:00:00:02 is already in bond bond0' in problems
    assert "a: bonds[1].nics[1]: 52:54:00:00:00:09 is not one of the server's nics" in problems


def test_the_shipped_example_rack_is_valid():
    import yaml  # pylint: disable=import-outside-toplevel
    group = yaml.safe_load((REPO / 'inventory/example-rack.yml').read_text())['all']['children']['baremetal']
    servers = [dict(deep_merge(group['vars']['baremetal_defaults'], own['baremetal']), name=host)
               for host, own in group['hosts'].items()]
    assert len(servers) == 5
    assert validate_fleet(servers, enabled_drivers=['ipmi', 'redfish']) == []
