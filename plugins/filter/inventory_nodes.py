# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: inventory_nodes
short_description: Server descriptions of inventory hosts, ready for the node modules
version_added: 0.1.0
author:
  - rackops.baremetal developers (@rackops)
description:
  - For each host, deep-merges its C(baremetal) variable over C(baremetal_defaults) (usually group
    variables) and sets C(name) to the inventory host name unless the host gives one.
  - Hosts without either variable are skipped. Nothing is validated here; the modules validate the
    whole fleet before writing anything.
  - An image given by C(image.name) (and no C(source)) is one the site publishes (C(playbooks/site.yml),
    the images role's C(images_disk_name)). Its C(source) becomes C(<images URL>/<name>.qcow2) and its
    C(checksum), unless given, the C(.sha256) file published beside it. The images URL is the host's
    C(rackops_images_url), or else follows from C(rackops_provisioning_address) and
    C(rackops_provisioning_http_port) (default 8080) as C(site.yml) publishes there. A host's own
    C(image.name) or C(image.source) replaces the other one given in C(baremetal_defaults).
  - A named image of C(type=partition) is the partition image the images role publishes beside it
    (C(images_partition)) - C(<name>-partition.qcow2), with its C(kernel) and C(ramdisk)
    (C(<name>-partition.vmlinuz), C(<name>-partition.initrd)) unless given.
positional: hostvars
options:
  _input:
    description: Inventory host names, for example C(groups['baremetal']).
    type: list
    elements: str
    required: true
  hostvars:
    description: The C(hostvars) magic variable.
    type: dict
    required: true
  state:
    description:
      - V(present) - only the servers not marked C(state=absent), for the phases after enrollment (inspect, clean,
        deploy, power); V(absent) - only the servers marked C(state=absent), which are to be removed.
      - Empty, the default, returns every server (the node module removes those marked absent itself).
    type: str
    choices: ['', present, absent]
    default: ''
'''

EXAMPLES = r'''
- name: Enroll every server of the group
  rackops.baremetal.node:
    cloud: rackops
    nodes: "{{ groups['baremetal'] | rackops.baremetal.inventory_nodes(hostvars) }}"
  run_once: true
  delegate_to: localhost

# group_vars/all.yml:   rackops_provisioning_address: 10.20.0.2/24   (site.yml's provisioning network)
# group_vars/baremetal.yml:   baremetal_defaults: {image: {name: debian-bookworm}}
# -> image.source http://10.20.0.2:8080/images/debian-bookworm.qcow2 with its published .sha256
- name: Deploy the servers that are not being retired
  rackops.baremetal.deploy:
    cloud: rackops
    nodes: "{{ groups['baremetal'] | rackops.baremetal.inventory_nodes(hostvars, state='present') }}"
  run_once: true
  delegate_to: localhost
'''

RETURN = r'''
_value:
  description: One server description per host, in host order.
  type: list
  elements: dict
'''

import ipaddress
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.collections import is_sequence

from ansible_collections.rackops.baremetal.plugins.module_utils._inventory import INVENTORY_HOST_KEY, deep_merge


def plain(value):
    """Plain dicts and lists of ``value``, read once.

    Variables reach a filter as Ansible's lazy containers; copying one copies
    its templating context too (200 hosts: 13 s in deepcopy). Reading them
    into plain containers first makes the merge below cost nothing.
    """
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if is_sequence(value):
        return [plain(item) for item in value]
    return value


def images_url(host, host_vars):
    """Where the site publishes its images, as this host's variables say; '' when they do not."""
    url = host_vars.get('rackops_images_url')
    if url:
        return str(url).rstrip('/')
    address = host_vars.get('rackops_provisioning_address')
    if not address:
        return ''
    try:
        ip = ipaddress.ip_interface(str(address)).ip
    except ValueError as exc:
        raise AnsibleFilterError('%s: rackops_provisioning_address: %s' % (host, exc)) from None
    return 'http://%s:%s/images' % ('[%s]' % ip if ip.version == 6 else ip, host_vars.get('rackops_provisioning_http_port') or 8080)


def resolve_image(host, server, own, host_vars):
    """An image named after the site's published ones gets its URL and checksum (see the documentation)."""
    image = server.get('image')
    if not isinstance(image, dict):
        return
    own_image = own.get('image') if isinstance(own.get('image'), dict) else {}
    # the host's own choice of name or source wins over the group's other one
    if 'name' in own_image and 'source' not in own_image:
        image.pop('source', None)
        for key in ('checksum', 'kernel', 'ramdisk'):
            if key not in own_image:
                image.pop(key, None)
    elif 'source' in own_image and 'name' not in own_image:
        image.pop('name', None)
    if not image.get('name') or image.get('source'):
        return
    base = images_url(host, host_vars)
    if not base:
        raise AnsibleFilterError('%s: image.name: %r names an image the site publishes, but nothing says where: set '
                                 'rackops_provisioning_address (as for site.yml) or rackops_images_url, or give '
                                 'image.source' % (host, image['name']))
    if image.get('type') == 'partition':
        stem = '%s/%s-partition' % (base, image['name'])
        image['source'] = stem + '.qcow2'
        image.setdefault('kernel', stem + '.vmlinuz')
        image.setdefault('ramdisk', stem + '.initrd')
    else:
        image['source'] = '%s/%s.qcow2' % (base, image['name'])
    image.setdefault('checksum', image['source'] + '.sha256')


def inventory_nodes(hosts, hostvars, state=''):
    if state not in ('', 'present', 'absent'):
        raise AnsibleFilterError("inventory_nodes: state must be '', 'present' or 'absent', got %r" % (state,))
    if not is_sequence(hosts):
        raise AnsibleFilterError('inventory_nodes expects a list of host names, got %s' % type(hosts).__name__)
    servers = []
    for host in hosts:
        host_vars = hostvars[host]
        defaults = plain(host_vars.get('baremetal_defaults') or {})
        own = plain(host_vars.get('baremetal') or {})
        if not defaults and not own:
            continue
        server = deep_merge(dict(defaults), dict(own))
        server.setdefault('name', host)
        if server['name'] != host:
            # which inventory host it came from, for messages that name the node (two hosts, one name)
            server[INVENTORY_HOST_KEY] = host
        resolve_image(host, server, own, host_vars)
        if state and (server.get('state', 'present') == 'absent') != (state == 'absent'):
            continue
        servers.append(server)
    return servers


class FilterModule:

    def filters(self):
        return {'inventory_nodes': inventory_nodes}
