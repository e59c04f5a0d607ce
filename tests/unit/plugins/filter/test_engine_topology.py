"""engine_topology: what site.yml reads from the inventory's groups for a multi-host engine."""

from __future__ import annotations

from ansible_collections.rackops.baremetal.plugins.filter.engine_topology import engine_topology

GROUPS = {'ironic_database': ['db'], 'ironic_api': ['api'], 'ironic_conductor': ['c1', 'c2']}
HOSTVARS = {'db': {'ansible_host': '10.0.0.10'}, 'api': {'ansible_host': '10.0.0.11'},
            'c1': {'ansible_host': '10.0.0.12'},
            'c2': {'ansible_host': 'c2.example', 'rackops_engine_address': '10.0.0.13', 'ironic_conductor_group': 'east',
                   'ironic_conductor_count': 2, 'ironic_json_rpc_port': 8089}}


def test_without_the_groups_the_site_is_all_in_one():
    assert engine_topology({'provisioner': ['p'], 'baremetal': ['n1']}, {}) == {
        'hosts': {}, 'database': {}, 'conductors': [], 'api_addresses': [], 'json_rpc_addresses': {}, 'errors': []}


def test_each_host_gets_its_part_and_the_api_waits_for_every_conductor():
    topology = engine_topology(GROUPS, HOSTVARS)
    assert topology['errors'] == []
    assert topology['hosts']['api'] == {'layout': 'api', 'address': '10.0.0.11', 'json_rpc_host': '10.0.0.11',
                                        'conductor_group': '', 'conductors': [], 'schema': False}
    assert topology['hosts']['c1']['layout'] == 'conductor' and topology['hosts']['c1']['schema'] is True
    assert topology['hosts']['c2']['schema'] is False
    # Ironic leaves ":8089" off a conductor's name; the second conductor of c2 listens on 8090
    assert topology['hosts']['c2']['conductors'] == ['10.0.0.13', '10.0.0.13:8090']
    assert topology['hosts']['c2']['conductor_group'] == 'east'
    assert topology['conductors'] == ['10.0.0.12', '10.0.0.13', '10.0.0.13:8090']
    assert topology['database'] == {'host': 'db', 'address': '10.0.0.10',
                                    'clients': ['10.0.0.11', '10.0.0.12', '10.0.0.13']}
    assert topology['api_addresses'] == ['10.0.0.11']
    # the addresses each host's json-rpc certificate is for: every Ironic host, not the database's
    assert topology['json_rpc_addresses'] == {'api': '10.0.0.11', 'c1': '10.0.0.12', 'c2': '10.0.0.13'}


def test_a_host_in_both_groups_runs_api_and_conductors():
    groups = dict(GROUPS, ironic_api=['api', 'c1'])
    topology = engine_topology(groups, HOSTVARS)
    assert topology['hosts']['c1']['layout'] == 'split' and topology['hosts']['c1']['conductors'] == ['10.0.0.12']
    assert topology['api_addresses'] == ['10.0.0.11', '10.0.0.12']


def test_every_problem_is_named_at_once():
    groups = {'ironic_database': ['db', 'c1'], 'ironic_api': [], 'ironic_conductor': ['c1'], 'provisioner': ['p']}
    hostvars = {'db': {'ansible_host': 'db.example'}, 'c1': {'ansible_host': '10.0.0.12', 'ironic_conductor_group': 'a b',
                                                             'ironic_conductor_count': 0}}
    errors = engine_topology(groups, hostvars)['errors']
    assert errors[0] == 'group ironic_database: a multi-host engine needs exactly one database host (has 2)'
    assert 'group ironic_api: a multi-host engine needs at least one host in it' in errors
    assert any(e.startswith('group provisioner: the boot services') for e in errors)
    assert "db: rackops_engine_address (or ansible_host) must be an IP address the other engine hosts reach it at, " \
           "not 'db.example'" in errors
    assert 'c1: ironic_conductor_group must be letters, digits, "_", "." or "-"' in errors
    assert 'c1: ironic_conductor_count must be a whole number of 1 or more' in errors
