"""Patch, trait and port planning (pure logic)."""

from __future__ import annotations

from ansible_collections.rackops.baremetal.plugins.module_utils._reconcile import (
    plan_node_patch,
    plan_portgroups,
    plan_ports,
    plan_traits,
)


def test_only_given_keys_are_patched_and_inspected_keys_survive():
    current = {'driver': 'ipmi', 'resource_class': 'gold',
               'properties': {'cpus': 4, 'memory_mb': 8192, 'cpu_arch': 'x86_64'},
               'driver_info': {'ipmi_address': '10.0.0.1', 'ipmi_password': '******'}}
    desired = {'name': 'a', 'driver': 'ipmi', 'resource_class': 'silver', 'properties': {'cpus': 8},
               'driver_info': {'ipmi_address': '10.0.0.1', 'ipmi_password': 'new'}}
    ops, before, after = plan_node_patch(current, desired)
    assert ops == [{'op': 'add', 'path': '/resource_class', 'value': 'silver'},
                   {'op': 'add', 'path': '/properties/cpus', 'value': 8}]
    assert before == {'resource_class': 'gold', 'properties': {'cpus': 4}}
    assert after == {'resource_class': 'silver', 'properties': {'cpus': 8}}


def test_secrets_are_resent_only_when_asked_and_masked_in_the_diff():
    current = {'driver_info': {'ipmi_password': '******'}}
    desired = {'driver_info': {'ipmi_password': 'hunter2'}}
    assert plan_node_patch(current, desired)[0] == []
    ops, before, after = plan_node_patch(current, desired, resend_secrets=True)
    assert ops == [{'op': 'add', 'path': '/driver_info/ipmi_password', 'value': 'hunter2'}]
    assert before == {'driver_info': {'ipmi_password': '******'}}
    assert after == {'driver_info': {'ipmi_password': '******'}}


def test_a_secret_set_for_the_first_time_is_a_change():
    ops, before, after = plan_node_patch({'driver_info': {}}, {'driver_info': {'redfish_password': 'x'}})
    assert len(ops) == 1 and before == {'driver_info': {'redfish_password': None}}


def test_traits():
    assert plan_traits(['B', 'A'], ['A', 'B', 'A']) is None
    assert plan_traits(['A'], ['B']) == ['B']
    assert plan_traits(['A'], None) is None


def test_ports_are_matched_by_mac():
    current = [{'id': 'p1', 'address': '52:54:00:00:00:01', 'pxe_enabled': True, 'local_link_connection': {}},
               {'id': 'p2', 'address': '52:54:00:00:00:02', 'pxe_enabled': True, 'local_link_connection': {}}]
    desired = [{'address': '52:54:00:00:00:01', 'pxe_enabled': True},
               {'address': '52:54:00:00:00:02', 'pxe_enabled': False,
                'local_link_connection': {'switch_id': 'aa:bb:cc:dd:ee:ff', 'port_id': 'Eth1'}},
               {'address': '52:54:00:00:00:03', 'pxe_enabled': False}]
    plan = plan_ports(current, desired)
    assert plan['create'] == [desired[2]]
    assert plan['delete'] == []
    assert plan['update'] == [('p2', [{'op': 'add', 'path': '/pxe_enabled', 'value': False},
                                      {'op': 'add', 'path': '/local_link_connection',
                                       'value': {'switch_id': 'aa:bb:cc:dd:ee:ff', 'port_id': 'Eth1'}}])]


def test_a_changed_mac_moves_the_port():
    plan = plan_ports([{'id': 'p1', 'address': '52:54:00:00:00:01', 'pxe_enabled': True}],
                      [{'address': '52:54:00:00:00:09', 'pxe_enabled': True}])
    assert [p['address'] for p in plan['create']] == ['52:54:00:00:00:09']
    assert [p['id'] for p in plan['delete']] == ['p1'] and plan['update'] == []


def test_ports_join_and_leave_bonds():
    current = [{'id': 'p1', 'address': 'aa:00:00:00:00:01', 'pxe_enabled': True, 'portgroup': None},
               {'id': 'p2', 'address': 'aa:00:00:00:00:02', 'pxe_enabled': False, 'portgroup': 'n-bond0'},
               {'id': 'p3', 'address': 'aa:00:00:00:00:03', 'pxe_enabled': False, 'portgroup': 'n-bond0'}]
    desired = [{'address': 'aa:00:00:00:00:01', 'pxe_enabled': True, 'portgroup': 'n-bond1'},
               {'address': 'aa:00:00:00:00:02', 'pxe_enabled': False, 'portgroup': 'n-bond1'},
               {'address': 'aa:00:00:00:00:03', 'pxe_enabled': False, 'portgroup': 'n-bond0'}]
    plan = plan_ports(current, desired)
    assert plan['detach'] == ['p2']
    assert plan['attach'] == [('p1', 'n-bond1'), ('p2', 'n-bond1')]
    assert plan['update'] == [] and plan['create'] == [] and plan['delete'] == []


def test_portgroups_are_matched_by_name_and_compare_given_keys_only():
    current = [{'id': 'g0', 'name': 'n-bond0', 'mode': 'active-backup', 'address': None, 'properties': {},
                'standalone_ports_supported': True},
               {'id': 'g9', 'name': 'n-old', 'mode': None}]
    desired = [{'name': 'n-bond0', 'mode': '802.3ad'}, {'name': 'n-bond1'}]
    create, update, delete = plan_portgroups(current, desired)
    assert create == [{'name': 'n-bond1'}]
    assert update == [('g0', [{'op': 'add', 'path': '/mode', 'value': '802.3ad'}])]
    assert [g['id'] for g in delete] == ['g9']
