"""discovered_inventory: the nodes discovery enrolled, as inventory in the contract."""

from __future__ import annotations

from ansible_collections.rackops.baremetal.plugins.filter.discovered_inventory import discovered_inventory
from ansible_collections.rackops.baremetal.plugins.module_utils._inventory import validate_fleet


def discovered(uuid='6e3c', name=None, bmc_address='10.10.0.7', pxe='01-52-54-00-00-00-01', **node):
    return dict({
        'uuid': uuid, 'name': name, 'driver': 'manual-management', 'discovered': True, 'properties': {},
        'inventory': {'interfaces': [{'name': 'eth1', 'mac_address': '52:54:00:00:00:02'},
                                     {'name': 'eth0', 'mac_address': '52:54:00:00:00:01'},
                                     {'name': 'ib0', 'mac_address': 'not-a-mac'}],
                      'boot': {'pxe_interface': pxe}, 'bmc_address': bmc_address,
                      'system_vendor': {'manufacturer': 'QEMU', 'product_name': 'Standard PC', 'serial_number': ''}},
        'hardware': {'cpus': 2, 'cpu_arch': 'x86_64', 'memory_mb': 2048,
                     'disks': [{'name': '/dev/sda', 'size_gb': 100, 'model': None},
                               {'name': '/dev/sdb', 'size_gb': 40, 'model': 'SSD'},
                               {'name': '/dev/sr0', 'size_gb': 0}]}}, **node)


def hosts(nodes):
    return discovered_inventory(nodes)['all']['children']['baremetal']['hosts']


def only(written):
    assert len(written) == 1, written
    return next(iter(written.values()))


def test_a_discovered_machine_becomes_one_host_pxe_nic_first():
    assert hosts([discovered()]) == {'discovered-52-54-00-00-00-01': {
        'baremetal': {'bmc': {'driver': 'ipmi', 'address': '10.10.0.7'},
                      'nics': [{'mac': '52:54:00:00:00:01', 'pxe': True}, {'mac': '52:54:00:00:00:02'}],
                      # the root disk: the smallest of at least 4 GiB, less the 1 GiB Ironic keeps
                      'properties': {'cpus': 2, 'cpu_arch': 'x86_64', 'memory_mb': 2048, 'local_gb': 39}},
        'rackops_discovered': {
            'node': '6e3c',
            'disks': [{'name': '/dev/sda', 'size_gb': 100}, {'name': '/dev/sdb', 'size_gb': 40, 'model': 'SSD'},
                      {'name': '/dev/sr0', 'size_gb': 0}],
            'system': {'manufacturer': 'QEMU', 'product_name': 'Standard PC'}}}}


def test_without_a_bmc_address_the_node_keeps_its_driver_and_ironics_local_gb_wins():
    host = only(hosts([discovered(bmc_address='0.0.0.0', pxe='52:54:00:00:00:02', properties={'local_gb': '99'})]))
    assert host['baremetal']['bmc'] == {'driver': 'manual-management'}
    assert host['baremetal']['nics'][0] == {'mac': '52:54:00:00:00:02', 'pxe': True}
    assert host['baremetal']['properties']['local_gb'] == 99


def test_named_and_not_discovered_nodes_are_left_out():
    assert hosts([discovered(name='r1-u01'), discovered(discovered=False), discovered(uuid='b', pxe='')]) == {
        'discovered-52-54-00-00-00-02': hosts([discovered(uuid='b', pxe='')])['discovered-52-54-00-00-00-02']}


def test_the_written_host_needs_only_its_bmc_credentials_to_be_valid():
    host = only(hosts([discovered()]))
    server = dict(host['baremetal'], name='r1-u01')
    assert validate_fleet([server]) == ['r1-u01: bmc.username: required for driver ipmi',
                                        'r1-u01: bmc.password: required for driver ipmi']
    server['bmc'] = dict(server['bmc'], username='admin', password='secret')
    assert validate_fleet([server]) == []
