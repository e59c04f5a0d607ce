"""inventory/example-rack.yml as shipped: it validates (with its vault example) and site.yml's
derivations hold for it - every server's PXE NIC reserved, the deploy ramdisk the engine's default."""

from __future__ import annotations

import json

from conftest import ROOT, run_playbook

INVENTORY = ROOT / 'inventory/example-rack.yml'
VAULT = ROOT / 'inventory/example-rack.vault.yml'
SERVERS = ['r12-u01', 'r12-u02', 'r12-u03', 'r12-u10', 'r12-u11']


def vault_password_file(tmp_path):
    path = tmp_path / 'vault-password'
    path.write_text('example\n')
    path.chmod(0o600)
    return path


def test_the_example_rack_validates_with_its_vault_example(engine, tmp_path):
    code, output = run_playbook(ROOT / 'playbooks/validate.yml', None, '-i', str(INVENTORY), '-e', '@' + str(VAULT),
                                '--vault-password-file', str(vault_password_file(tmp_path)), env=engine.env)
    assert 'Inventory is valid; planned changes (nothing was written):' in output, output[-3000:]
    for name in SERVERS:
        assert name in output, output[-3000:]
    assert output.count(' changed  ') == len(SERVERS), output[-3000:]
    assert 'example-ipmi-password' not in output and 'example-redfish-password' not in output
    nodes = {node.name for node in engine.sdk().baremetal.nodes() if node.name in SERVERS}
    assert nodes == set()


def test_site_serves_every_server_of_the_example_rack(tmp_path):
    # what site.yml derives on seed01, derived here on localhost from the same inventory
    out = tmp_path / 'site.json'
    seed = "hostvars['seed01']"
    derived = ("{{ {'site': {'interface': %(h)s.rackops_provisioning_interface, 'address': %(h)s.rackops_provisioning_address,"
               " 'dhcp_range': %(h)s.rackops_provisioning_dhcp_range, 'http_port': 8080, 'api_port': 6385}"
               " | rackops.baremetal.provisioning_network,"
               " 'reservations': groups['baremetal'] | rackops.baremetal.inventory_nodes(hostvars)"
               " | rackops.baremetal.pxe_hosts(%(h)s.rackops_provisioning_address),"
               " 'images': groups['baremetal'] | rackops.baremetal.inventory_nodes(hostvars)"
               " | map(attribute='image') | list} | to_json }}" % {'h': seed})
    playbook = tmp_path / 'derive.yml'
    playbook.write_text(json.dumps([{'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        {'ansible.builtin.copy': {'dest': str(out), 'mode': '0600', 'content': derived}}]}]))
    run_playbook(playbook, None, '-i', str(INVENTORY), '-e', '@' + str(VAULT),
                 '--vault-password-file', str(vault_password_file(tmp_path)))
    result = json.loads(out.read_text())
    assert result['reservations'] == [
        {'name': 'r12-u01', 'mac': '3c:ec:ef:10:12:01'}, {'name': 'r12-u02', 'mac': '3c:ec:ef:10:12:11', 'ip': '10.20.0.12'},
        {'name': 'r12-u03', 'mac': '3c:ec:ef:10:12:21'}, {'name': 'r12-u10', 'mac': 'b4:96:91:12:10:01'},
        {'name': 'r12-u11', 'mac': 'b4:96:91:12:11:01'}]
    # the servers' image is where the site publishes it
    site = result['site']
    assert site['deploy_kernel'] == 'http://10.20.0.2:8080/images/ipa.kernel'
    assert {image['source'] for image in result['images']} == {site['images_url'] + '/debian-bookworm.qcow2'}
