"""provisioning_network and pxe_hosts: what site.yml derives from the provisioning network and the inventory."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.rackops.baremetal.plugins.filter.provisioning_network import provisioning_network
from ansible_collections.rackops.baremetal.plugins.filter.pxe_hosts import pxe_hosts

SETTINGS = {'interface': 'eno2', 'address': '10.20.0.2/24', 'dhcp_range': ['10.20.0.100', '10.20.0.199'],
            'http_port': 8080, 'api_port': 6385, 'api_tls': False}


def test_every_url_follows_from_the_address():
    site = provisioning_network(SETTINGS)
    assert site == {
        'interface': 'eno2', 'address': '10.20.0.2', 'prefix_length': 24, 'netmask': '255.255.255.0',
        'network': '10.20.0.0/24', 'dhcp_start': '10.20.0.100', 'dhcp_end': '10.20.0.199', 'http_port': 8080,
        'ipv6_prefix': '', 'api_url': 'http://10.20.0.2:6385', 'http_url': 'http://10.20.0.2:8080',
        'images_url': 'http://10.20.0.2:8080/images', 'ipxe_url': 'http://10.20.0.2:8080/boot.ipxe',
        'deploy_kernel': 'http://10.20.0.2:8080/images/ipa.kernel',
        'deploy_ramdisk': 'http://10.20.0.2:8080/images/ipa.initramfs'}


def test_tls_the_ramdisk_name_and_an_ipv6_prefix():
    site = provisioning_network(dict(SETTINGS, api_tls=True, ipv6_prefix='fd20:0:0:7::', http_port='81'),
                                ipa_name='agent')
    assert site['api_url'] == 'https://10.20.0.2:6385' and site['ipv6_prefix'] == 'fd20:0:0:7::'
    assert site['deploy_ramdisk'] == 'http://10.20.0.2:81/images/agent.initramfs'
    assert provisioning_network(SETTINGS, ipa_name='')['deploy_kernel'] == ''


@pytest.mark.parametrize('change, message', [
    ({'interface': ''}, 'rackops_provisioning_interface: required'),
    ({'address': '10.20.0.2'}, 'rackops_provisioning_address: .* with its prefix length'),
    ({'address': '10.20.0.0/24'}, 'rackops_provisioning_address: 10.20.0.0 is not a host address'),
    ({'dhcp_range': None}, 'rackops_provisioning_dhcp_range: required'),
    ({'dhcp_range': ['10.20.0.100', 'ten']}, 'rackops_provisioning_dhcp_range: .* not two IPv4 addresses'),
    ({'dhcp_range': ['10.20.0.100', '10.20.1.10']}, '10.20.1.10 is not a host address of the provisioning network'),
    ({'dhcp_range': ['10.20.0.150', '10.20.0.100']}, 'starts after it ends'),
    ({'dhcp_range': ['10.20.0.1', '10.20.0.100']}, "holds the provisioning host's own address 10.20.0.2"),
    ({'ipv6_prefix': 'fd20::/48'}, 'rackops_provisioning_ipv6_prefix: .* not an IPv6 /64'),
    ({'http_port': 70000}, 'rackops_provisioning_http_port: 70000 is not a port'),
    ({'http_port': 6385}, "rackops_provisioning_http_port: is the API's port too"),
])
def test_a_bad_setting_is_named(change, message):
    with pytest.raises(AnsibleFilterError, match=message):
        provisioning_network(dict(SETTINGS, **change))


def server(name, *nics, **more):
    return dict({'name': name, 'bmc': {'driver': 'fake-hardware'}, 'nics': list(nics)}, **more)


def test_one_reservation_per_server_for_its_pxe_nic():
    servers = [
        server('a', {'mac': 'AA:00:00:00:00:01'}, {'mac': 'aa:00:00:00:00:02'}),
        server('b', {'mac': 'bb:00:00:00:00:01'}, {'mac': 'bb:00:00:00:00:02', 'pxe': True, 'ip': '10.20.0.50'}),
        server('c', {'mac': 'cc:00:00:00:00:01', 'pxe': False}),
        server('d', {'mac': 'dd:00:00:00:00:01'}, state='absent'),
        server('e'),
    ]
    assert pxe_hosts(servers, '10.20.0.2/24') == [
        {'name': 'a', 'mac': 'aa:00:00:00:00:01'},
        {'name': 'b', 'mac': 'bb:00:00:00:00:02', 'ip': '10.20.0.50'}]


def test_the_whole_inventory_is_checked_and_every_problem_named():
    servers = [
        server('a', {'mac': 'aa:00:00:00:00:01', 'ip': '10.30.0.5'}),
        server('b', {'mac': 'bb:00:00:00:00:01', 'ip': '10.20.0.50'}, {'mac': 'bb:00:00:00:00:02', 'ip': '10.20.0.51'}),
        server('c', {'mac': 'cc:00:00:00:00:01', 'ip': '10.20.0.50'}),
        server('d', {'mac': 'dd:00:00:00:00:01', 'ip': 'ten'}),
    ]
    with pytest.raises(AnsibleFilterError) as error:
        pxe_hosts(servers, '10.20.0.2/24')
    lines = str(error.value).splitlines()[1:]
    assert lines == [
        'b: nics[1].ip: only the PXE NIC gets a DHCP reservation',
        'c: nics[0].ip: 10.20.0.50 is also reserved for b',
        "d: nics[0].ip: 'ten' is not an IPv4 address",
    ]
    # outside the network: named once the fleet meets the contract
    with pytest.raises(AnsibleFilterError, match=r'a: nics\[0\].ip: 10.30.0.5 is outside the provisioning network 10.20.0.0/24'):
        pxe_hosts(servers[:1], '10.20.0.2/24')
    with pytest.raises(AnsibleFilterError, match='unknown key'):
        pxe_hosts([server('a', {'mac': 'aa:00:00:00:00:01', 'ipaddr': '10.20.0.5'})])
