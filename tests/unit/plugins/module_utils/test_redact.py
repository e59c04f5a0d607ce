"""Secrets are masked wherever they sit in a returned structure."""

from __future__ import annotations

from ansible_collections.rackops.baremetal.plugins.module_utils._redact import MASK, redact


def test_nested_secrets_are_masked_and_the_rest_kept():
    node = {
        'name': 'n1',
        'driver_info': {'ipmi_password': 'hunter2', 'ipmi_username': 'admin', 'redfish_password': 'x'},
        'instance_info': {'configdrive': {'meta_data': {'admin_pass': 'a', 'auth_token': 't'}}},
        'ports': [{'extra': {'switch_secret': 's'}}],
    }
    out = redact(node)
    assert out['driver_info'] == {'ipmi_password': MASK, 'ipmi_username': 'admin', 'redfish_password': MASK}
    assert out['instance_info']['configdrive']['meta_data']['auth_token'] == MASK
    assert out['ports'][0]['extra']['switch_secret'] == MASK
    assert node['driver_info']['ipmi_password'] == 'hunter2'  # the input is not modified


def test_empty_secrets_stay_empty():
    assert redact({'ipmi_password': None, 'redfish_password': ''}) == {
        'ipmi_password': None, 'redfish_password': ''}


def test_pass_through_keys_that_look_secret_are_masked_public_keys_are_not():
    out = redact({'driver_info': {'ipmi_hex_kg_key': 'ab' * 20, 'vendor_api_key': 'k', 'snmp_auth_key': 'a',
                                  'snmp_priv_protocol': 'aes'},
                  'ssh_keys': ['ssh-ed25519 AAAA'], 'public_key': 'ssh-rsa AAAA'})
    assert out['driver_info'] == {'ipmi_hex_kg_key': MASK, 'vendor_api_key': MASK, 'snmp_auth_key': MASK,
                                  'snmp_priv_protocol': 'aes'}
    assert out['ssh_keys'] == ['ssh-ed25519 AAAA'] and out['public_key'] == 'ssh-rsa AAAA'
