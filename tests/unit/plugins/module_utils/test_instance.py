"""What a deployed server should run: instance_info, config drive data, the per-node decision."""

from __future__ import annotations

from ansible_collections.rackops.baremetal.plugins.module_utils._instance import (
    image_patch, image_record,
    instance_info, meta_data, missing_traits, network_data, plan_deploy, pxe_mac, runs_image, wants_config_drive)


def test_instance_info_maps_checksums_and_partition_images():
    assert instance_info({'image': {'source': 'http://i/x.img', 'checksum': 'sha256:ABCD'}}) == {
        'image_source': 'http://i/x.img', 'image_os_hash_algo': 'sha256', 'image_os_hash_value': 'abcd'}
    assert instance_info({'image': {'source': 'http://i/x.img', 'checksum': 'http://i/x.img.sha256'}}) == {
        'image_source': 'http://i/x.img', 'image_checksum': 'http://i/x.img.sha256'}
    partition = instance_info({'image': {'source': 'http://i/p.img', 'checksum': 'a' * 32, 'type': 'partition',
                                         'kernel': 'http://i/k', 'ramdisk': 'http://i/r', 'root_gb': 10}})
    assert partition['image_type'] == 'partition' and partition['root_gb'] == 10 and partition['kernel'] == 'http://i/k'
    assert instance_info({'name': 'x'}) == {}


def test_runs_image_compares_only_what_is_asked():
    assert runs_image({'image_source': 'a', 'image_checksum': 'c', 'root_gb': 5}, {'image_source': 'a'})
    assert not runs_image({'image_source': 'a'}, {'image_source': 'b'})
    assert not runs_image(None, {'image_source': 'a'})


def test_plan_deploy():
    assert plan_deploy('available', None, True, False, False)[0] == 'active'
    assert plan_deploy('deploy failed', None, True, False, False)[0] == 'active'
    assert plan_deploy('deploy failed', 'active', True, False, False)[0] == 'active'  # Ironic keeps the target
    assert plan_deploy('active', None, True, True, False) == (None, 'already active with this image')
    assert plan_deploy('active', None, True, False, True)[0] == 'rebuild'
    action, msg = plan_deploy('active', None, True, False, False)
    assert action == 'fail' and 'rebuild: true' in msg
    action, msg = plan_deploy('manageable', None, True, False, False)
    assert action == 'fail' and 'provide it first' in msg
    action, msg = plan_deploy('deploying', 'active', True, False, False)
    assert action == 'fail' and 'busy: deploying -> active' in msg
    assert plan_deploy('active', None, False, True, False)[0] == 'deleted'
    assert plan_deploy('deploy failed', None, False, True, False)[0] == 'deleted'
    assert plan_deploy('available', None, False, True, False) == (None, 'not deployed (available)')


def test_config_drive_data():
    server = {'name': 'r1', 'nics': [{'mac': 'AA:BB:CC:DD:EE:01'}, {'mac': 'aa:bb:cc:dd:ee:02', 'pxe': True}],
              'ssh_keys': ['ssh-ed25519 K1', 'ssh-rsa K2'],
              'network': {'ipv4': {'address': '10.0.0.5/24', 'gateway': '10.0.0.1', 'dns': ['10.0.0.2']},
                          'ipv6': {'address': 'fd00::5/64'}}}
    assert pxe_mac(server) == 'aa:bb:cc:dd:ee:02' and pxe_mac({'nics': [{'mac': 'AA:00:00:00:00:01'}]}) == 'aa:00:00:00:00:01'
    assert meta_data(server, 'u-1') == {'uuid': 'u-1', 'name': 'r1', 'hostname': 'r1',
                                        'public_keys': {'0': 'ssh-ed25519 K1', '1': 'ssh-rsa K2'}}
    data = network_data(server, pxe_mac(server))
    assert data['links'] == [{'id': 'port0', 'type': 'phy', 'ethernet_mac_address': 'aa:bb:cc:dd:ee:02'}]
    v4, v6 = data['networks']
    assert (v4['ip_address'], v4['netmask'], v4['routes'][0]['gateway']) == ('10.0.0.5', '255.255.255.0', '10.0.0.1')
    assert (v6['type'], v6['ip_address'], v6['routes']) == ('ipv6', 'fd00::5', [])
    assert data['services'] == [{'type': 'dns', 'address': '10.0.0.2'}]
    assert network_data({'network': {'dhcp': True}}, 'aa:bb:cc:dd:ee:ff')['networks'][0]['type'] == 'ipv4_dhcp'
    assert network_data({}, None) is None
    assert wants_config_drive(server) and not wants_config_drive({'name': 'x', 'image': {}})


def test_a_new_image_replaces_every_key_of_the_old_one():
    # an earlier run wrote an algo:hex checksum; the fixed input gives a checksum URL
    current = {'image_source': 'http://x/bad.qcow2', 'image_os_hash_algo': 'sha256', 'image_os_hash_value': '00',
               'image_url': 'http://ironic/agent_images/u', 'configdrive': 'kept'}
    wanted = {'image_source': 'http://x/good.qcow2', 'image_checksum': 'http://x/good.qcow2.sha256'}
    assert image_patch(current, wanted) == [
        {'op': 'remove', 'path': '/instance_info/image_os_hash_algo'},
        {'op': 'remove', 'path': '/instance_info/image_os_hash_value'},
        {'op': 'add', 'path': '/instance_info/image_source', 'value': 'http://x/good.qcow2'},
        {'op': 'add', 'path': '/instance_info/image_checksum', 'value': 'http://x/good.qcow2.sha256'},
        {'op': 'add', 'path': '/instance_info/rackops_image', 'value': image_record(wanted)}]
    assert image_patch(None, {'image_source': 's'}) == [
        {'op': 'add', 'path': '/instance_info/image_source', 'value': 's'},
        {'op': 'add', 'path': '/instance_info/rackops_image', 'value': image_record({'image_source': 's'})}]


def test_an_image_ironic_serves_itself_still_counts_as_deployed():
    # image_download_source local: Ironic replaces the checksum keys with its raw copy's
    wanted = {'image_source': 'http://x/a.qcow2', 'image_checksum': 'http://x/a.qcow2.sha256'}
    deployed = {'image_source': 'http://x/a.qcow2', 'image_os_hash_algo': 'sha256', 'image_os_hash_value': 'ff',
                'image_url': 'http://ironic/agent_images/u', 'rackops_image': image_record(wanted)}
    assert runs_image(deployed, wanted)
    # the inventory now names new content at the same URL: a different image
    assert not runs_image(deployed, dict(wanted, image_checksum='sha256:' + 'a' * 64))


def test_deploy_templates_are_instance_traits_and_part_of_what_runs():
    server = {'image': {'source': 'http://i/x.img'}, 'deploy_templates': ['CUSTOM_RAID1', 'CUSTOM_BIOS', 'CUSTOM_RAID1']}
    info = instance_info(server)
    assert info == {'image_source': 'http://i/x.img', 'traits': ['CUSTOM_BIOS', 'CUSTOM_RAID1']}
    assert missing_traits(['CUSTOM_BIOS', 'CUSTOM_RACK'], info) == ['CUSTOM_RAID1']
    assert missing_traits(None, info) == ['CUSTOM_BIOS', 'CUSTOM_RAID1']
    assert missing_traits(['X'], {'image_source': 'a'}) == []
    # deployed with them: the same image without them (or with others) is another deploy
    deployed = dict(info, rackops_image=image_record(info))
    assert runs_image(deployed, info)
    assert not runs_image(deployed, instance_info({'image': {'source': 'http://i/x.img'}}))
    # and a deploy without them removes the instance traits an earlier one wrote
    assert {'op': 'remove', 'path': '/instance_info/traits'} in image_patch(deployed, {'image_source': 'http://i/x.img'})
