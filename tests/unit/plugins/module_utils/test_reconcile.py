"""Patch, trait, port and provision-path planning (pure logic)."""

from __future__ import annotations

from ansible_collections.rackops.baremetal.plugins.module_utils._reconcile import (
    plan_node_patch,
    plan_ports,
    plan_traits,
    provision_path,
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
    create, update, delete = plan_ports(current, desired)
    assert create == [desired[2]]
    assert delete == []
    assert update == [('p2', [{'op': 'add', 'path': '/pxe_enabled', 'value': False},
                              {'op': 'add', 'path': '/local_link_connection',
                               'value': {'switch_id': 'aa:bb:cc:dd:ee:ff', 'port_id': 'Eth1'}}])]


def test_a_changed_mac_moves_the_port():
    create, update, delete = plan_ports([{'id': 'p1', 'address': '52:54:00:00:00:01', 'pxe_enabled': True}],
                                        [{'address': '52:54:00:00:00:09', 'pxe_enabled': True}])
    assert [p['address'] for p in create] == ['52:54:00:00:00:09']
    assert [p['id'] for p in delete] == ['p1'] and update == []


def test_provision_paths():
    assert provision_path('enroll', 'manageable') == ['manage']
    assert provision_path('enroll', 'available') == ['manage', 'provide']
    assert provision_path('manageable', 'available') == ['provide']
    assert provision_path('available', 'manageable') == ['manage']
    assert provision_path('clean failed', 'available') == ['manage', 'provide']
    assert provision_path('active', 'available') is None
    assert provision_path('manageable', 'enroll') is None
