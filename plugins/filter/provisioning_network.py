# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: provisioning_network
short_description: Everything the site's services must agree on, from the provisioning network's few settings
version_added: 0.1.0
author:
  - rackops.baremetal developers (@rackops)
description:
  - Checks the provisioning network's settings (playbook C(rackops.baremetal.site)) and derives from them every
    address and URL the engine, the boot services and the images must agree on, so that none is set by hand.
  - A problem fails the filter with the variable's name (C(rackops_provisioning_<key>)) and what is wrong.
options:
  _input:
    description:
      - C(interface) - the provisioning interface of the provisioning host;
      - C(address) - its IPv4 address with the prefix length (V(10.20.0.2/24));
      - C(dhcp_range) - the first and last address DHCP hands out to machines that boot ([V(10.20.0.100), V(10.20.0.199)]);
        in the network, without the host's own address;
      - C(http_port) - the HTTP boot server's port (images, iPXE scripts, deploy ramdisk);
      - C(api_port) - the engine's API port;
      - C(api_tls) - whether the API speaks HTTPS;
      - C(ipv6_prefix) - optionally, an IPv6 /64 prefix (V(fd20::)) to send router advertisements for.
    type: dict
    required: true
  ipa_name:
    description: The images role's name of the deploy ramdisk (C(images_ipa_name)); empty when the site builds none.
    type: str
    default: ipa
'''

EXAMPLES = r'''
- name: Derive the site's addresses and URLs
  ansible.builtin.set_fact:
    site: "{{ {'interface': 'eno2', 'address': '10.20.0.2/24', 'dhcp_range': ['10.20.0.100', '10.20.0.199'],
               'http_port': 8080, 'api_port': 6385, 'api_tls': false} | rackops.baremetal.provisioning_network }}"
# site.http_url == 'http://10.20.0.2:8080', site.images_url == 'http://10.20.0.2:8080/images',
# site.deploy_kernel == 'http://10.20.0.2:8080/images/ipa.kernel'
'''

RETURN = r'''
_value:
  description:
    - "C(interface), C(address) (without prefix), C(prefix_length), C(netmask), C(network) (V(10.20.0.0/24)),
      C(dhcp_start), C(dhcp_end), C(http_port), C(ipv6_prefix)."
    - "C(api_url) (where the agent and the controller reach the API), C(http_url) (the HTTP boot server, Ironic's
      C([deploy]http_url)), C(images_url) (where the images are published), C(ipxe_url) (the script iPXE chains to),
      C(deploy_kernel) and C(deploy_ramdisk) (the conductor's defaults; empty without O(ipa_name))."
  type: dict
'''

import ipaddress

from ansible.errors import AnsibleFilterError


def _fail(key, problem):
    raise AnsibleFilterError('rackops_provisioning_%s: %s' % (key, problem))


def _port(settings, key):
    value = settings.get(key)
    try:
        port = int(value)
    except (TypeError, ValueError):
        _fail(key, '%r is not a port number' % (value,))
    if not 1 <= port <= 65535:
        _fail(key, '%d is not a port number (1-65535)' % port)
    return port


def provisioning_network(settings, ipa_name='ipa'):
    if not isinstance(settings, dict):
        raise AnsibleFilterError('provisioning_network expects a dict of settings, got %s' % type(settings).__name__)
    interface = settings.get('interface') or ''
    if not interface:
        _fail('interface', 'required: the interface of the provisioning host on the provisioning network')
    address = settings.get('address') or ''
    try:
        if '/' not in str(address):
            raise ValueError
        host = ipaddress.IPv4Interface(address)
    except ValueError:
        _fail('address', '%r is not an IPv4 address with its prefix length (10.20.0.2/24)' % (address,))
    network = host.network
    if host.ip in (network.network_address, network.broadcast_address) and network.prefixlen < 31:
        _fail('address', '%s is not a host address of %s' % (host.ip, network))

    dhcp_range = settings.get('dhcp_range')
    if not isinstance(dhcp_range, (list, tuple)) or len(dhcp_range) != 2:
        _fail('dhcp_range', 'required: the first and last address DHCP hands out, e.g. [10.20.0.100, 10.20.0.199]')
    try:
        start, end = (ipaddress.IPv4Address(str(value)) for value in dhcp_range)
    except ValueError:
        _fail('dhcp_range', '%r: not two IPv4 addresses' % (list(dhcp_range),))
    for value in (start, end):
        if value not in network or value in (network.network_address, network.broadcast_address):
            _fail('dhcp_range', '%s is not a host address of the provisioning network %s' % (value, network))
    if start > end:
        _fail('dhcp_range', 'starts after it ends (%s > %s)' % (start, end))
    if start <= host.ip <= end:
        _fail('dhcp_range', 'holds the provisioning host\'s own address %s' % host.ip)

    ipv6_prefix = settings.get('ipv6_prefix') or ''
    if ipv6_prefix:
        try:
            prefix = ipaddress.IPv6Network(ipv6_prefix.rstrip(':') + '::/64' if '/' not in ipv6_prefix else ipv6_prefix)
            if prefix.prefixlen != 64:
                raise ValueError
        except ValueError:
            _fail('ipv6_prefix', '%r is not an IPv6 /64 prefix (fd20::)' % (ipv6_prefix,))
        ipv6_prefix = str(prefix.network_address)

    http_port, api_port = _port(settings, 'http_port'), _port(settings, 'api_port')
    if http_port == api_port:
        _fail('http_port', 'is the API\'s port too (%d)' % api_port)
    http_url = 'http://%s:%d' % (host.ip, http_port)
    images_url = http_url + '/images'
    return {
        'interface': interface,
        'address': str(host.ip),
        'prefix_length': network.prefixlen,
        'netmask': str(network.netmask),
        'network': str(network),
        'dhcp_start': str(start),
        'dhcp_end': str(end),
        'http_port': http_port,
        'ipv6_prefix': ipv6_prefix,
        'api_url': '%s://%s:%d' % ('https' if settings.get('api_tls') else 'http', host.ip, api_port),
        'http_url': http_url,
        'images_url': images_url,
        'ipxe_url': http_url + '/boot.ipxe',
        'deploy_kernel': '%s/%s.kernel' % (images_url, ipa_name) if ipa_name else '',
        'deploy_ramdisk': '%s/%s.initramfs' % (images_url, ipa_name) if ipa_name else '',
    }


class FilterModule:

    def filters(self):
        return {'provisioning_network': provisioning_network}
