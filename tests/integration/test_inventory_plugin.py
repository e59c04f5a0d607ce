"""The rackops.baremetal.ironic inventory plugin against real Ironic, through `ansible-inventory --list`."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import yaml
from conftest import ROOT, documented_examples

PREFIX = 'invp-'
SECRETS = ('Bmc-Pa55-invp', 'Extra-T0ken-invp', 'Config-Dr1ve-invp')


@pytest.fixture(scope='module')
def nodes(engine):
    """Three nodes: enroll, manageable in maintenance, manageable with a resource class and an image."""
    baremetal = engine.sdk().baremetal
    made = []
    for i in range(3):
        node = baremetal.create_node(
            name='%s%d' % (PREFIX, i), driver='fake-hardware',
            driver_info={'ipmi_address': '127.0.0.%d' % (60 + i), 'ipmi_username': 'admin',
                         'ipmi_password': SECRETS[0]},
            extra={'rack': 'r%d' % i, 'bmc_token': SECRETS[1], 'note': '{{ lookup("env", "HOME") }}'},
            resource_class='gold' if i == 2 else None)
        baremetal.create_port(node_id=node.id, address='52:54:00:1b:00:%02x' % i, pxe_enabled=True)
        made.append(node)
    for node in made[1:]:
        baremetal.set_node_provision_state(node.id, 'manage', wait=True)
    baremetal.set_node_maintenance(made[1].id, reason='fan replaced')
    baremetal.patch_node(made[2].id, [{'op': 'add', 'path': '/instance_info',
                                       'value': {'image_source': 'http://10.0.0.1/img.qcow2',
                                                 'configdrive': SECRETS[2]}}])
    yield made
    for node in made:
        baremetal.set_node_maintenance(node.id)
        baremetal.delete_node(node.id)


def plain(value):
    """The listing without ansible-core's marks: values from Ironic are not trusted as templates
    (a node's extra may hold "{{ ... }}"), and ansible-inventory writes them as {"__ansible_unsafe": ...}."""
    if isinstance(value, dict):
        if set(value) == {'__ansible_unsafe'}:
            return value['__ansible_unsafe']
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def ansible_inventory(engine, config, *args):
    """(the listing, everything ansible-inventory printed); with -v options the listing is None."""
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', **engine.env)
    proc = subprocess.run(['ansible-inventory', '-i', str(config), '--list', *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    verbose = any(a.startswith('-v') for a in args)
    return (None if verbose else plain(json.loads(proc.stdout))), proc.stdout + proc.stderr


def write_config(path, **options):
    path.write_text(yaml.safe_dump(dict({'plugin': 'rackops.baremetal.ironic', 'cloud': 'rackops'}, **options)))
    return path


def hosts_of(listing, group):
    return set(listing.get(group, {}).get('hosts', []))


def test_lists_exactly_the_enrolled_nodes_with_their_groups_and_no_secrets(engine, nodes, tmp_path):
    config = write_config(tmp_path / 'ironic.yml')
    printed = ansible_inventory(engine, config, '-vvv')[1]
    assert '"invp-0"' in printed  # the listing is in what was printed
    for secret in SECRETS:
        assert secret not in printed
    listing = ansible_inventory(engine, config)[0]
    hostvars = listing['_meta']['hostvars']
    in_ironic = {n.name or n.id for n in engine.sdk().baremetal.nodes()}
    assert set(hostvars) == in_ironic and hosts_of(listing, 'ironic') == in_ironic

    mine = {'%s%d' % (PREFIX, i) for i in range(3)}
    assert hosts_of(listing, 'provision_state_enroll') & mine == {PREFIX + '0'}
    assert hosts_of(listing, 'provision_state_manageable') & mine == {PREFIX + '1', PREFIX + '2'}
    assert hosts_of(listing, 'maintenance') & mine == {PREFIX + '1'}
    assert hosts_of(listing, 'resource_class_gold') == {PREFIX + '2'}
    assert mine <= hosts_of(listing, 'conductor_group_default')

    node = hostvars[PREFIX + '2']['ironic']
    assert node['uuid'] == nodes[2].id and node['provision_state'] == 'manageable'
    assert node['driver_info'] == {'ipmi_address': '127.0.0.62'}
    assert node['instance_info'] == {'image_source': 'http://10.0.0.1/img.qcow2'}
    assert node['ports'] == [{'mac': '52:54:00:1b:00:02', 'pxe_enabled': True}]
    assert node['extra'] == {'rack': 'r2', 'bmc_token': '******', 'note': '{{ lookup("env", "HOME") }}'}
    assert hostvars[PREFIX + '1']['ironic']['maintenance_reason'] == 'fan replaced'


def test_filters_compose_and_prefix(engine, nodes, tmp_path):
    config = write_config(tmp_path / 'manageable.ironic.yml', provision_states=['manageable'], group='bm',
                          group_prefix='bm_', var_name='node',
                          compose={'ansible_host': 'node.driver_info.ipmi_address'},
                          keyed_groups=[{'key': 'node.extra.rack', 'prefix': 'rack'}])
    listing = ansible_inventory(engine, config)[0]
    mine = hosts_of(listing, 'bm') & {'%s%d' % (PREFIX, i) for i in range(3)}
    assert mine == {PREFIX + '1', PREFIX + '2'}
    assert hosts_of(listing, 'bm_provision_state_manageable') >= mine and 'provision_state_enroll' not in listing
    assert listing['_meta']['hostvars'][PREFIX + '1']['ansible_host'] == '127.0.0.61'
    assert hosts_of(listing, 'rack_r2') == {PREFIX + '2'}


def test_the_cache_answers_until_flushed(engine, nodes, tmp_path):
    config = write_config(tmp_path / 'cached.ironic.yml', cache=True, cache_plugin='ansible.builtin.jsonfile',
                          cache_connection=str(tmp_path / 'cache'), cache_timeout=600)
    first = ansible_inventory(engine, config)[0]['_meta']['hostvars']
    baremetal = engine.sdk().baremetal
    late = baremetal.create_node(name=PREFIX + 'late', driver='fake-hardware')
    try:
        cached = ansible_inventory(engine, config)[0]['_meta']['hostvars']
        assert set(cached) == set(first) and PREFIX + 'late' not in cached
        fresh = ansible_inventory(engine, config, '--flush-cache')[0]['_meta']['hostvars']
        assert set(fresh) == set(first) | {PREFIX + 'late'}
    finally:
        baremetal.delete_node(late.id)


def test_a_bad_configuration_is_a_clear_error(engine, tmp_path):
    config = tmp_path / 'broken.ironic.yml'
    config.write_text(yaml.safe_dump({'plugin': 'rackops.baremetal.ironic', 'auth_type': 'http_basic',
                                      'auth': {'endpoint': engine.endpoint, 'username': 'admin'}}))
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_INVENTORY_UNPARSED_FAILED='1')
    proc = subprocess.run(['ansible-inventory', '-i', str(config), '--list'], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    assert proc.returncode != 0 and 'auth_type http_basic needs auth.password' in proc.stdout + proc.stderr


def plugin_examples() -> list:
    """The plugin's EXAMPLES (what ansible-doc prints): one configuration file per YAML document."""
    return list(yaml.safe_load_all(documented_examples('inventory/ironic')))


def test_the_documented_examples_work_as_written(engine, nodes, tmp_path):
    every, deployed = plugin_examples()
    # a deployed node, enrolled as the second example's comment says (extra.ip), with a resource class
    baremetal = engine.sdk().baremetal
    node = baremetal.create_node(name=PREFIX + 'active', driver='fake-hardware', resource_class='baremetal.gold',
                                 extra={'ip': '10.30.0.11'},
                                 instance_info={'image_source': 'http://10.0.0.1/img.qcow2'})
    try:
        baremetal.set_node_provision_state(node.id, 'manage', wait=True)
        baremetal.set_node_provision_state(node.id, 'provide', wait=True)
        baremetal.set_node_provision_state(node.id, 'active', wait=True)
        (tmp_path / 'ironic.yml').write_text(yaml.safe_dump(every))
        listing = ansible_inventory(engine, tmp_path / 'ironic.yml')[0]
        assert {PREFIX + '0', PREFIX + '1', PREFIX + '2', PREFIX + 'active'} <= set(listing['_meta']['hostvars'])
        # (the cache goes where this test says, not to ~/.cache)
        (tmp_path / 'active.ironic.yml').write_text(yaml.safe_dump(dict(deployed, cache_connection=str(tmp_path / 'cache'))))
        listing = ansible_inventory(engine, tmp_path / 'active.ironic.yml')[0]
        hostvars = listing['_meta']['hostvars']
        assert PREFIX + 'active' in hostvars and not {PREFIX + '0', PREFIX + '1', PREFIX + '2'} & set(hostvars)
        assert hostvars[PREFIX + 'active']['ansible_host'] == '10.30.0.11'
        assert hosts_of(listing, 'class_baremetal_gold') == {PREFIX + 'active'}, listing.keys()
    finally:
        baremetal.set_node_maintenance(node.id)
        baremetal.delete_node(node.id)
