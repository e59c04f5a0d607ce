"""The inventory contract: validation messages and the mapping to Ironic fields."""

from __future__ import annotations

import json
from pathlib import Path

from ansible_collections.rackops.baremetal.plugins.module_utils._inventory import (
    SCHEMA,
    check_driver_properties,
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
    assert validate_fleet(['oops']) == ['server[0]: (top): a string is not of type object']


def test_a_type_error_echoes_only_values_that_cannot_be_secrets():
    server = ipmi('a', '52:54:00:00:00:01', '10.0.0.1')
    server['properties'] = {'cpus': '4x'}
    assert validate_fleet([server]) == ['a: properties.cpus: a string is not of type integer']
    server['properties'] = {'cpus': 'yes'}
    assert validate_fleet([server]) == ["a: properties.cpus: 'yes' is not of type integer"]
    # a password YAML read as a number, or a short password pasted where a list belongs
    del server['properties']
    server['bmc']['password'] = 482913
    assert validate_fleet([server]) == ['a: bmc.password: an integer is not of type string']
    server['bmc']['password'] = 'pw'
    server['ssh_keys'] = 'Tr0ub4dor'
    assert validate_fleet([server]) == ['a: ssh_keys: a string is not of type array']


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
    from ansible_collections.rackops.baremetal.plugins.filter.inventory_nodes import (  # pylint: disable=import-outside-toplevel
        inventory_nodes,
    )
    inventory = yaml.safe_load((REPO / 'inventory/example-rack.yml').read_text())['all']
    group = inventory['children']['baremetal']
    # the host variables as Ansible gives them: all's, the group's, the host's own
    hostvars = {host: dict(inventory['vars'], **group['vars'], **own) for host, own in group['hosts'].items()}
    servers = inventory_nodes(list(hostvars), hostvars)
    assert len(servers) == 5
    assert validate_fleet(servers, enabled_drivers=['ipmi', 'redfish']) == []


def test_an_image_name_that_reached_a_module_unresolved_says_what_resolves_it():
    problems = validate_fleet([ipmi('a', '52:54:00:00:00:01', '10.0.0.1', image={'name': 'debian-bookworm'})])
    assert problems == ['a: image.source: required: image.name becomes a source through the inventory_nodes '
                        'filter, with rackops_provisioning_address or rackops_images_url set']


# what GET /v1/drivers/<driver>/properties says, abridged (Ironic 39's own descriptions)
PROPERTIES = {
    'ipmi': {'ipmi_address': 'IP address or hostname of the node. Required.',
             'ipmi_username': 'username; default is NULL user. Optional.',
             'ipmi_password': 'password. Optional.', 'ipmi_protocol_version': 'the version of the IPMI protocol',
             'ipmi_hex_kg_key': 'Kg key for IPMIv2 authentication.',
             'deploy_kernel': 'UUID (from Glance) of the deployment kernel. Required.',
             'deploy_ramdisk': 'UUID (from Glance) of the ramdisk. Required.'},
    'snmp': {'snmp_driver': 'PDU manufacturer driver. Required.', 'snmp_address': 'PDU IPv4 address. Required.',
             'snmp_outlet': 'PDU power outlet index (1-based). Required.', 'snmp_version': 'SNMP protocol version'},
}


def test_any_hardware_type_takes_its_keys_from_driver_info():
    pdu = {'name': 'p', 'bmc': {'driver': 'snmp', 'driver_info': {
        'snmp_driver': 'apc', 'snmp_address': '10.0.0.9', 'snmp_outlet': 3}}}
    assert validate_fleet([pdu], enabled_drivers=['snmp']) == []
    assert to_ironic(pdu)[0]['driver_info'] == {'snmp_driver': 'apc', 'snmp_address': '10.0.0.9', 'snmp_outlet': 3}
    assert check_driver_properties([pdu], PROPERTIES) == []
    # the modelled fields belong to the modelled drivers
    pdu['bmc']['address'] = '10.0.0.9'
    assert validate_fleet([pdu]) == [
        'p: bmc.address: not used by driver snmp (give its Ironic keys under bmc.driver_info)']
    assert validate_fleet([pdu], enabled_drivers=['ipmi'])[-1] == (
        'p: bmc.driver: snmp is not enabled on the engine (enabled: ipmi)')


def test_driver_info_is_checked_against_the_engines_properties():
    server = ipmi('a', '52:54:00:00:00:01', '10.0.0.1', deploy_kernel='http://h/k')
    server['bmc']['driver_info'] = {'ipmi_protocol_version': '2.0', 'ipmi_hex_kg_key': 'aa' * 20, 'ipmi_adress': 'x'}
    assert validate_fleet([server]) == []  # the schema cannot know a driver's keys: the engine does
    fields = to_ironic(server)[0]
    assert fields['driver_info']['ipmi_protocol_version'] == '2.0' and fields['driver_info']['ipmi_address'] == '10.0.0.1'
    assert check_driver_properties([server], PROPERTIES) == [
        'a: bmc.driver_info.ipmi_adress: ipmi_adress is not a property of driver ipmi on this engine '
        '(did you mean ipmi_address?)']
    # a driver the engine described nothing for is not checked here (validate_fleet names it)
    assert check_driver_properties([{'name': 'f', 'bmc': {'driver': 'fake-hardware'}}], PROPERTIES) == []


def test_a_modelled_field_and_its_ironic_key_are_not_both_given():
    server = ipmi('a', '52:54:00:00:00:01', '10.0.0.1')
    server['bmc']['driver_info'] = {'ipmi_address': '10.0.0.2'}
    assert validate_fleet([server]) == ['a: bmc.driver_info.ipmi_address: also set by bmc.address']
    # ... but the Ironic key alone is the field
    del server['bmc']['address']
    assert validate_fleet([server]) == []
    assert to_ironic(server)[0]['driver_info']['ipmi_address'] == '10.0.0.2'


def test_idrac_is_reached_through_its_redfish_keys():
    server = {'name': 'd', 'bmc': {'driver': 'idrac', 'address': 'idrac-d.example', 'username': 'root',
                                   'password': 'calvin', 'driver_info': {'redfish_auth_type': 'basic'}}}
    assert validate_fleet([server]) == []
    assert to_ironic(server)[0]['driver_info'] == {
        'redfish_address': 'https://idrac-d.example', 'redfish_username': 'root', 'redfish_password': 'calvin',
        'redfish_auth_type': 'basic'}
    del server['bmc']['password']
    assert validate_fleet([server]) == ['d: bmc.password: required for driver idrac']


def test_what_ironic_would_refuse_later_is_refused_now():
    bad_ip = ipmi('a', '52:54:00:00:00:01', '10.0.0.300')
    redfish = {'name': 'r', 'bmc': {'driver': 'redfish', 'address': 'https://192.168.1.256:8443', 'username': 'u',
                                    'password': 'p'}}
    checksum = ipmi('c', '52:54:00:00:00:03', '10.0.0.3',
                    image={'source': 'https://x/img.qcow2', 'checksum': 'sha256:' + 'ab' * 16})
    named = ipmi('bad name!', '52:54:00:00:00:04', '10.0.0.4')
    uuid_named = ipmi('0b3e4f6a-1c2d-4e5f-8a9b-0c1d2e3f4a5b', '52:54:00:00:00:05', '10.0.0.5')
    problems = validate_fleet([bad_ip, redfish, checksum, named, uuid_named])
    assert "a: bmc.address: '10.0.0.300' is not a valid IPv4 address" in problems
    assert "r: bmc.address: '192.168.1.256' is not a valid IPv4 address" in problems
    assert 'c: image.checksum: a sha256 digest has 64 hex digits, this one 32' in problems
    assert 'server[3]: name: not a node name Ironic takes (letters, digits, and - . _ ~; at most 255)' in problems
    assert ('0b3e4f6a-1c2d-4e5f-8a9b-0c1d2e3f4a5b: name: a UUID-like name, which Ironic refuses (it would read as '
            'a node UUID)') in problems
    assert len(problems) == 5, problems


def test_a_private_key_for_a_public_one_is_refused_and_never_echoed():
    private = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n-----END OPENSSH PRIVATE KEY-----'
    server = ipmi('a', '52:54:00:00:00:01', '10.0.0.1', ssh_keys=['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB op@desk', private])
    problems = validate_fleet([server])
    assert problems == ['a: ssh_keys[1]: a private key: only public keys belong here (and a private key in an '
                        'inventory is a leaked key: replace it)']
    # a key given where a list belongs is not echoed either
    server['ssh_keys'] = private
    problems = validate_fleet([server])
    assert problems == ['a: ssh_keys: a string is not of type array'] and 'b3Bl' not in problems[0]
    server['ssh_keys'] = ['AAAAC3NzaC1lZDI1NTE5AAAAIB op@desk']
    assert validate_fleet([server]) == ['a: ssh_keys[0]: not an OpenSSH public key line']


def test_two_hosts_with_one_node_name_are_both_named():
    first, second = ipmi('x', '52:54:00:00:00:01', '10.0.0.1'), ipmi('x', '52:54:00:00:00:02', '10.0.0.2')
    first['_inventory_host'], second['_inventory_host'] = 'rack1-u01', 'rack1-u02'
    assert validate_fleet([first, second]) == [
        'x (inventory host rack1-u02): name: also used by x (inventory host rack1-u01)']


def test_a_partition_image_needs_its_kernel_ramdisk_and_root_size():
    image = {'source': 'https://x/root.qcow2', 'checksum': 'sha256:' + 'ab' * 32, 'type': 'partition'}
    problems = validate_fleet([ipmi('a', '52:54:00:00:00:01', '10.0.0.1', image=image)])
    assert problems == ['a: image: a partition image needs kernel and ramdisk',
                        'a: image.root_gb: required for a partition image (the size of the root partition the agent '
                        'makes, in GiB)']
    image.update(kernel='https://x/root.vmlinuz', ramdisk='https://x/root.initrd', root_gb=2)
    assert validate_fleet([ipmi('a', '52:54:00:00:00:01', '10.0.0.1', image=image)]) == []
