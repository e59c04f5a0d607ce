"""Bad input: the role fails before starting anything and names the variable."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
from pathlib import Path

from conftest import ROOT, engine_vars, free_port, run_playbook


def install_expecting_failure(base: Path, **overrides):
    variables = dict(engine_vars(base, overrides.pop('port', None) or free_port()), **overrides)
    code, output = run_playbook(ROOT / 'playbooks/install.yml', variables, expect_ok=False)
    assert code != 0, output[-3000:]
    return output


def assert_nothing_started(base: Path):
    """No control script was installed, so no service was defined or started."""
    assert not (base / 'opt/bin/rackops-ironicctl').exists()
    procs = subprocess.run(['ps', '-ww', '-eo', 'args'], capture_output=True, text=True, check=True).stdout
    assert str(base) not in procs


def test_unknown_database(scratch_base):
    output = install_expecting_failure(scratch_base, ironic_database='oracle')
    assert 'ironic_database' in output
    assert 'oracle' in output
    assert_nothing_started(scratch_base)


def test_database_url_missing(scratch_base):
    output = install_expecting_failure(scratch_base, ironic_database='postgresql')
    assert 'ironic_database_url' in output
    assert_nothing_started(scratch_base)


def test_split_layout_on_sqlite(scratch_base):
    output = install_expecting_failure(scratch_base, ironic_process_layout='split')
    assert 'ironic_process_layout: split runs several Ironic processes on one database' in output
    assert_nothing_started(scratch_base)


def test_negative_json_rpc_retries(scratch_base):
    output = install_expecting_failure(
        scratch_base, ironic_process_layout='split', ironic_json_rpc_connect_retries=-1,
        ironic_database='postgresql', ironic_database_url='postgresql://ironic:secret@127.0.0.1:1/ironic')
    assert 'ironic_json_rpc_connect_retries: must be 0 or more.' in output
    assert 'secret' not in output
    assert_nothing_started(scratch_base)


@contextlib.contextmanager
def a_taken_port():
    """A port another process (this one) listens on, for as long as the block runs."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_json_rpc_port_already_taken(scratch_base):
    with a_taken_port() as port:
        output = install_expecting_failure(
            scratch_base, ironic_process_layout='split', ironic_conductor_count=2, ironic_json_rpc_port=port - 1,
            ironic_database='postgresql', ironic_database_url='postgresql://ironic:secret@127.0.0.1:1/ironic')
    assert 'ironic_json_rpc_port: port %d-%d is already in use' % (port - 1, port) in output
    assert 'secret' not in output
    assert_nothing_started(scratch_base)


def test_unwritable_state_dir(scratch_base):
    blocker = scratch_base / 'a-file'
    blocker.write_text('not a directory\n')
    output = install_expecting_failure(scratch_base, ironic_state_dir=str(blocker / 'state'))
    assert 'ironic_state_dir' in output
    assert 'is not a directory' in output
    assert_nothing_started(scratch_base)


def test_port_already_taken(scratch_base):
    with a_taken_port() as port:
        output = install_expecting_failure(scratch_base, port=port)
    assert 'ironic_api_port' in output
    assert 'port %d is already in use' % port in output
    assert_nothing_started(scratch_base)


def test_missing_tls_key(scratch_base):
    cert = scratch_base / 'cert.pem'
    cert.write_text('-----BEGIN CERTIFICATE-----\n')
    output = install_expecting_failure(scratch_base, ironic_tls_cert_file=str(cert),
                                       ironic_tls_key_file=str(scratch_base / 'missing-key.pem'))
    assert 'ironic_tls_key_file' in output
    assert 'does not exist' in output
    assert_nothing_started(scratch_base)


def site_expecting_failure(base: Path, inventory: dict, **network):
    """playbooks/site.yml over an inventory of fake servers; its output."""
    path = base / 'inventory.yml'
    path.write_text(json.dumps(inventory))
    variables = dict(engine_vars(base, free_port()), **dict(
        {'rackops_provisioning_interface': 'lo', 'rackops_provisioning_address': '10.20.0.2/24',
         'rackops_provisioning_dhcp_range': ['10.20.0.100', '10.20.0.199']}, **network))
    code, output = run_playbook(ROOT / 'playbooks/site.yml', variables, '-i', str(path), expect_ok=False)
    assert code != 0, output[-3000:]
    return output


def rack(**hosts):
    return {'all': {'children': {'baremetal': {
        'vars': {'baremetal_defaults': {'bmc': {'driver': 'ipmi', 'username': 'admin', 'password': 'hunter2-secret'}}},
        'hosts': {name: {'baremetal': server} for name, server in hosts.items()}}}}}


def test_site_refuses_a_bad_inventory_naming_every_host_and_field(scratch_base):
    output = site_expecting_failure(scratch_base, rack(
        r1={'bmc': {'address': '10.10.0.1'}, 'nics': [{'mac': '3c:ec:ef:00:00:01', 'ip': '10.20.0.50'}]},
        r2={'bmc': {'address': '10.10.0.2'}, 'nics': [{'mac': '3c:ec:ef:00:00:02', 'ip': '10.20.0.50'}]},
        r3={'bmc': {'address': '10.10.0.3'}, 'nics': [{'mac': '3c:ec:ef:00:00:0g'}]},
        r4={'bmc': {'address': '10.10.0.4'}, 'nics': [{'mac': '3c:ec:ef:00:00:04', 'ip': '10.30.0.4'}]}))
    assert 'r2: nics[0].ip: 10.20.0.50 is also reserved for r1' in output, output[-3000:]
    assert 'r3: nics[0].mac: not a MAC address' in output
    assert 'hunter2-secret' not in output
    assert_nothing_started(scratch_base)


def test_site_names_a_bad_provisioning_setting(scratch_base):
    output = site_expecting_failure(
        scratch_base, rack(r1={'bmc': {'address': '10.10.0.1'}, 'nics': [{'mac': '3c:ec:ef:00:00:01', 'ip': '10.30.0.9'}]}),
        rackops_provisioning_address='10.20.0.150/24')
    assert "rackops_provisioning_dhcp_range: holds the provisioning host's own address 10.20.0.150" in output, output[-3000:]
    assert_nothing_started(scratch_base)
    output = site_expecting_failure(
        scratch_base, rack(r1={'bmc': {'address': '10.10.0.1'}, 'nics': [{'mac': '3c:ec:ef:00:00:01', 'ip': '10.30.0.9'}]}))
    assert 'r1: nics[0].ip: 10.30.0.9 is outside the provisioning network 10.20.0.0/24' in output, output[-3000:]
    assert_nothing_started(scratch_base)
    # an address the interface does not have: refused before the engine is installed
    output = site_expecting_failure(
        scratch_base, rack(r1={'bmc': {'address': '10.10.0.1'}, 'nics': [{'mac': '3c:ec:ef:00:00:01'}]}))
    assert 'pxe_address: 10.20.0.2 is not an address of lo (it has 127.0.0.1' in output, output[-3000:]
    assert_nothing_started(scratch_base)
