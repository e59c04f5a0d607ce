"""Inspection results against the inventory's expectations."""

from __future__ import annotations

from ansible_collections.rackops.baremetal.plugins.module_utils._hardware import hardware_mismatches, summarize_inventory

INVENTORY = {
    'cpu': {'count': 16, 'architecture': 'x86_64'},
    'memory': {'physical_mb': 65536},
    'disks': [{'name': '/dev/sda', 'size': 480 * (1 << 30), 'model': 'SSD', 'serial': 'S1', 'rotational': False}],
    'interfaces': [{'name': 'eno1', 'mac_address': '3C:EC:EF:00:00:01', 'lldp': [[1, '04aabb']]},
                   {'name': 'eno2', 'mac_address': '3c:ec:ef:00:00:02'}],
}
STORED = {'inventory': INVENTORY, 'plugin_data': {}}


def test_summary():
    hardware = summarize_inventory(STORED)
    assert (hardware['cpus'], hardware['cpu_arch'], hardware['memory_mb']) == (16, 'x86_64', 65536)
    assert hardware['disks'] == [{'name': '/dev/sda', 'size_gb': 480, 'model': 'SSD', 'serial': 'S1',
                                  'rotational': False}]
    assert [i['mac'] for i in hardware['interfaces']] == ['3c:ec:ef:00:00:01', '3c:ec:ef:00:00:02']
    assert summarize_inventory(None) is None and summarize_inventory({'inventory': {}}) is None


def test_mismatches():
    hardware = summarize_inventory(STORED)
    server = {'properties': {'cpus': 8, 'memory_mb': 65536, 'cpu_arch': 'x86_64'},
              'nics': [{'mac': '3c:ec:ef:00:00:01'}]}
    assert hardware_mismatches(server, {'local_gb': 446}, hardware) == []
    server = {'properties': {'cpus': 32, 'memory_mb': 131072, 'local_gb': 500, 'cpu_arch': 'aarch64'},
              'nics': [{'mac': '3c:ec:ef:00:00:09'}]}
    assert hardware_mismatches(server, {'local_gb': 446}, hardware) == [
        'cpus: expected at least 32, found 16',
        'memory_mb: expected at least 131072, found 65536',
        'local_gb: expected at least 500, found 446',
        'cpu_arch: expected aarch64, found x86_64',
        'nics: 3c:ec:ef:00:00:09 not found (found 3c:ec:ef:00:00:01, 3c:ec:ef:00:00:02)',
    ]
    # no stored inventory (fake or out-of-band inspection): the properties decide, MACs are not checked
    assert hardware_mismatches({'properties': {'memory_mb': 1024}, 'nics': [{'mac': 'aa:aa:aa:aa:aa:aa'}]},
                               {'memory_mb': '2048'}, None) == []
    assert hardware_mismatches({'properties': {'cpus': 2}}, {}, None) == ['cpus: expected at least 2, found none']
