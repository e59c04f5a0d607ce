"""Ironic drives a virtual-rack machine to its deploy ramdisk: IPMI power and boot device, PXE, iPXE, HTTP.

The engine (Ironic, `ipxe` boot interface) powers a QEMU machine on through
its emulated IPMI BMC and asks it to network-boot; the pxe role's dnsmasq and
nginx serve what Ironic wrote into its HTTP root. The machine's iPXE must
fetch Ironic's boot script, its per-node configuration and the deploy kernel
and ramdisk - the whole path up to the agent, which needs the images role.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pytest
import yaml
from conftest import BOOT_HTTP_PORT, RACK_ADDRESS, make_base, run_playbook

SUBNET = RACK_ADDRESS.rsplit('.', 1)[0]
MAC = '52:54:00:96:00:01'


@pytest.fixture(scope='module')
def rack(engine):
    base = make_base('rackops-ri-')
    role_vars = {
        'virtual_rack_name': 'rvr-ironic', 'virtual_rack_host_interface': 'rvhironic',
        'virtual_rack_address': RACK_ADDRESS, 'virtual_rack_ipv6_address': 'fd96::1',
        'virtual_rack_mac_prefix': MAC.rsplit(':', 1)[0],
        'virtual_rack_machines': [{'name': 'ri-node', 'firmware': 'bios', 'memory_mb': 256, 'disk_gb': 1}],
        'virtual_rack_bmc_first_address': '127.0.96.10', 'virtual_rack_dir': str(base / 'rack'),
        'virtual_rack_inventory_file': str(base / 'virtual-rack.yml'),
        'pxe_interface': 'rvhironic', 'pxe_dhcp_range_start': SUBNET + '.50', 'pxe_dhcp_range_end': SUBNET + '.60',
        'pxe_hosts': [{'name': 'ri-node', 'mac': MAC}], 'pxe_ipv6_ra_prefix': 'fd96::',
        'pxe_http_port': BOOT_HTTP_PORT, 'pxe_root_owner': engine.vars.get('ironic_system_user', 'ironic'),
        'pxe_tftp_root': engine.vars['ironic_tftp_root'], 'pxe_http_root': engine.vars['ironic_http_root'],
        'pxe_install_dir': str(base / 'pxe'), 'pxe_config_dir': str(base / 'pxe-etc'),
        'pxe_state_dir': str(base / 'pxe-state'), 'pxe_log_dir': str(base / 'pxe-log'),
        'pxe_service_manager': 'supervisor'}
    playbook = base / 'rack.yml'
    playbook.write_text(json.dumps([{'hosts': 'localhost', 'gather_facts': False, 'roles': [
        {'role': 'rackops.baremetal.virtual_rack'}, {'role': 'rackops.baremetal.pxe'}]}]))
    teardown = base / 'teardown.yml'
    teardown.write_text(json.dumps([{'hosts': 'localhost', 'gather_facts': False, 'roles': [
        {'role': 'rackops.baremetal.pxe', 'vars': {'pxe_state': 'absent'}},
        {'role': 'rackops.baremetal.virtual_rack', 'vars': {'virtual_rack_state': 'absent'}}]}]))
    try:
        run_playbook(playbook, role_vars)
        # stand-ins for the deploy kernel and ramdisk (the images role builds real ones)
        images = Path(engine.vars['ironic_http_root']) / 'images'
        images.mkdir(exist_ok=True)
        shutil.copy('/usr/lib/ipxe/ipxe.lkrn', images / 'deploy.kernel')
        (images / 'deploy.initramfs').write_bytes(b'\0' * 4096)
        host = yaml.safe_load(Path(role_vars['virtual_rack_inventory_file']).read_text())[
            'all']['children']['baremetal']['hosts']['ri-node']
        yield {'base': base, 'vars': role_vars, 'host': host}
    finally:
        run_playbook(teardown, role_vars, expect_ok=False)
        shutil.rmtree(base, ignore_errors=True)


def test_ironic_boots_the_machine_into_its_deploy_ramdisk_over_the_network(engine, rack):
    baremetal = engine.sdk().baremetal
    bmc = rack['host']['baremetal']['bmc']
    url = 'http://%s:%d/images/' % (RACK_ADDRESS, BOOT_HTTP_PORT)
    node = baremetal.create_node(
        name='ri-node', driver='ipmi', boot_interface='ipxe', inspect_interface='agent', deploy_interface='direct',
        driver_info={'ipmi_address': bmc['address'], 'ipmi_port': bmc['port'], 'ipmi_username': bmc['username'],
                     'ipmi_password': bmc['password'], 'deploy_kernel': url + 'deploy.kernel',
                     'deploy_ramdisk': url + 'deploy.initramfs'})
    try:
        baremetal.create_port(node_id=node.id, address=MAC, pxe_enabled=True)
        baremetal.set_node_provision_state(node.id, 'manage', wait=True, timeout=120)
        baremetal.set_node_provision_state(node.id, 'inspect')
        access_log = Path(rack['vars']['pxe_log_dir']) / 'nginx-access.log'
        wanted = ['/boot.ipxe', '/pxelinux.cfg/%s' % MAC.replace(':', '-'),
                  '/%s/deploy_kernel' % node.id, '/%s/deploy_ramdisk' % node.id]
        seen = []
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            if access_log.exists():
                seen = re.findall(r'"GET (\S+) HTTP', access_log.read_text())
                if all(path in seen for path in wanted):
                    break
            time.sleep(2)
        state = baremetal.get_node(node.id)
        ironic_log = Path(engine.vars['ironic_log_dir']) / 'ironic.log'
        assert all(path in seen for path in wanted), 'fetched %s; node %s %s %s\n%s' % (
            seen, state.provision_state, state.power_state, state.last_error,
            '\n'.join(line for line in ironic_log.read_text().splitlines()[-400:]
                      if 'ERROR' in line or 'WARNING' in line or node.id in line)[-5000:])
        assert state.power_state == 'power on' and state.provision_state == 'inspect wait'
        qmp = rack['host']['virtual_rack']['qmp']
        assert Path(qmp).exists()
        baremetal.set_node_provision_state(node.id, 'abort', wait=False)
    finally:
        baremetal.set_node_maintenance(node.id)
        baremetal.delete_node(node.id)
