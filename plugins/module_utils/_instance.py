# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a deployed server should run, in Ironic's terms: instance_info, the
config drive's metadata and network data, and the deploy decision per node.

Private to rackops.baremetal (the leading underscore). Pure logic: no API calls.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re

from ansible_collections.rackops.baremetal.plugins.module_utils._states import BUSY, VERBS

_ALGO_HASH = re.compile(r'^(md5|sha1|sha256|sha512):([0-9a-fA-F]+)$')

# Where a node is, seen from a deploy: states we start from (the state table's), and
# states that are a transition in progress (someone else's, or ours from an earlier run).
DEPLOYABLE = VERBS['active'].starts_from
UNDEPLOYABLE = VERBS['deleted'].starts_from


def instance_info(server):
    """The instance_info keys of the server's image (only those it gives)."""
    image = server.get('image') or {}
    info = {'image_source': image['source']} if image.get('source') else {}
    checksum = image.get('checksum')
    if checksum:
        match = _ALGO_HASH.match(checksum)
        if match:
            info['image_os_hash_algo'], info['image_os_hash_value'] = match.group(1), match.group(2).lower()
        else:
            info['image_checksum'] = checksum
    if image.get('type'):
        info['image_type'] = image['type']
    for key, ironic_key in (('kernel', 'kernel'), ('ramdisk', 'ramdisk'), ('root_gb', 'root_gb')):
        if image.get(key) is not None:
            info[ironic_key] = image[key]
    if server.get('deploy_templates'):
        # Ironic runs the steps of the deploy templates named in instance_info's traits
        info['traits'] = sorted(set(server['deploy_templates']))
    return info


# Every instance_info key instance_info() may write: a deploy replaces all of them,
# so nothing of an earlier image (an old checksum form) outlives it.
IMAGE_KEYS = ('image_source', 'image_checksum', 'image_os_hash_algo', 'image_os_hash_value', 'image_type',
              'kernel', 'ramdisk', 'root_gb', 'traits')


# What the deploy asked for, kept in instance_info beside it: Ironic rewrites
# the checksum keys when it serves the image itself (image_download_source
# local: the checksum of its raw copy), so they cannot tell later whether the
# node runs the image the inventory asks for. Undeploying clears it with the rest.
IMAGE_RECORD_KEY = 'rackops_image'


def image_record(wanted_info):
    """A short digest of the image keys a deploy wrote."""
    return hashlib.sha256(json.dumps(wanted_info, sort_keys=True, default=str).encode()).hexdigest()[:16]


def image_patch(current_info, wanted_info):
    """JSON patch writing the wanted image keys (and their record), removing the image keys it does not give."""
    current_info = current_info or {}
    patch = [{'op': 'remove', 'path': '/instance_info/%s' % key}
             for key in IMAGE_KEYS if key in current_info and key not in wanted_info]
    return patch + [{'op': 'add', 'path': '/instance_info/%s' % key, 'value': value}
                    for key, value in wanted_info.items()] + [
        {'op': 'add', 'path': '/instance_info/%s' % IMAGE_RECORD_KEY, 'value': image_record(wanted_info)}]


def missing_traits(node_traits, wanted_info):
    """The deploy templates the node must have as traits before Ironic takes them as instance traits."""
    return [t for t in wanted_info.get('traits') or () if t not in (node_traits or ())]


def runs_image(current_info, wanted_info):
    """Whether a deployed node's instance_info already is the wanted image."""
    current_info = current_info or {}
    if IMAGE_RECORD_KEY in current_info:
        return current_info[IMAGE_RECORD_KEY] == image_record(wanted_info)
    # deployed by someone else: what is there must be what is asked
    return all(current_info.get(key) == value for key, value in wanted_info.items())


def plan_deploy(provision_state, target_provision_state, wanted_active, same_image, rebuild):
    """(action, message) for one node.

    action: 'active' (deploy), 'rebuild', 'deleted' (undeploy), None (nothing to do)
    or 'fail' (message says why, and what to do).
    """
    # Only the state says "busy": Ironic keeps the target set in the failure
    # state a transition ended in (deploy failed -> active).
    if provision_state in BUSY:
        return 'fail', 'busy: %s%s; re-run when it has settled' % (
            provision_state, ' -> %s' % target_provision_state if target_provision_state else '')
    if not wanted_active:
        if provision_state in UNDEPLOYABLE:
            return 'deleted', 'undeploy (was %s)' % provision_state
        return None, 'not deployed (%s)' % provision_state
    if provision_state == 'active':
        if same_image:
            return None, 'already active with this image'
        if rebuild:
            return 'rebuild', 'rebuild with a new image'
        return 'fail', 'active with another image or deploy templates; set rebuild: true to re-image it'
    if provision_state in DEPLOYABLE:
        return 'active', 'deploy (was %s)' % provision_state
    return 'fail', ('is %s, not available: provide it first (rackops.baremetal.node with '
                    'provision_state: available)' % provision_state)


def _netmask(network):
    return str(network.netmask)


def network_data(server, pxe_mac):
    """OpenStack network_data.json for the config drive: static addresses or DHCP on the PXE NIC."""
    network = server.get('network')
    if not network:
        return None
    link = {'id': 'port0', 'type': 'phy', 'ethernet_mac_address': pxe_mac}
    networks, services = [], []
    if network.get('dhcp'):
        networks.append({'id': 'net0', 'type': 'ipv4_dhcp', 'link': 'port0', 'network_id': 'net0'})
    for family, default_route in (('ipv4', '0.0.0.0'), ('ipv6', '::')):
        config = network.get(family)
        if not config:
            continue
        iface = ipaddress.ip_interface(config['address'])
        entry = {'id': 'net-%s' % family, 'type': family, 'link': 'port0', 'network_id': 'net-%s' % family,
                 'ip_address': str(iface.ip), 'netmask': _netmask(iface.network), 'routes': []}
        if config.get('gateway'):
            entry['routes'].append({'network': default_route, 'netmask': default_route,
                                    'gateway': config['gateway']})
        networks.append(entry)
        services.extend({'type': 'dns', 'address': dns} for dns in config.get('dns') or [])
    return {'links': [link], 'networks': networks, 'services': services}


def meta_data(server, node_uuid):
    """The config drive's meta_data: identity, host name and SSH keys."""
    data = {'uuid': node_uuid, 'name': server['name'], 'hostname': server.get('hostname') or server['name']}
    keys = server.get('ssh_keys') or []
    if keys:
        data['public_keys'] = {str(i): key for i, key in enumerate(keys)}
    return data


def wants_config_drive(server):
    return bool(server.get('ssh_keys') or server.get('user_data') or server.get('network')
                or server.get('hostname'))


def pxe_mac(server):
    nics = server.get('nics') or []
    for nic in nics:
        if nic.get('pxe'):
            return nic['mac'].lower()
    return nics[0]['mac'].lower() if nics else None
