# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: ironic
short_description: Bare-metal nodes from Ironic as Ansible hosts
version_added: 0.1.0
description:
  - Reads every node Ironic knows (one paginated list call, plus one for the ports) and adds it as a host,
    named after the node (its UUID when it has no name).
  - Groups the hosts by provision state (C(provision_state_active), C(provision_state_clean_failed), ...),
    resource class (C(resource_class_<class>)), conductor group (C(conductor_group_<group>),
    C(conductor_group_default) for the default one) and maintenance (C(maintenance)); every host is also in
    O(group).
  - Each host gets the variable O(var_name) with the node's fields (Ironic's names), its ports' MACs and,
    from C(driver_info), only the BMC address. Secrets never leave the plugin - BMC passwords, other
    C(driver_info) keys, the config drive, anything whose key looks like a secret.
  - The configuration file must end in C(ironic.yml) or C(ironic.yaml).
author:
  - rackops.baremetal developers (@rackops)
extends_documentation_fragment:
  - rackops.baremetal.auth
  - constructed
  - inventory_cache
options:
  plugin:
    description: The name of this plugin; it marks the file as ours.
    type: str
    required: true
    choices: [rackops.baremetal.ironic]
  group:
    description: The group every node is in.
    type: str
    default: ironic
  var_name:
    description: The host variable that holds the node's fields.
    type: str
    default: ironic
  provision_states:
    description: Only nodes in these provision states (for example V(active)); all nodes when empty.
    type: list
    elements: str
    default: []
  group_prefix:
    description: Put before the name of every group this plugin makes (not O(group)), for example V(bm_).
    type: str
    default: ''
'''

EXAMPLES = r'''
# inventory/ironic.yml: every node, with the rackops engine's clouds.yaml entry
plugin: rackops.baremetal.ironic
cloud: rackops
---
# inventory/active.ironic.yml: deployed nodes only, reached at the address the
# enrolling inventory gave them in extra (baremetal: {extra: {ip: 10.30.0.11}}),
# grouped by resource class too; cached for 5 minutes
plugin: rackops.baremetal.ironic
cloud: rackops
provision_states: [active]
compose:
  ansible_host: ironic.extra.ip | default(omit)
keyed_groups:
  - key: ironic.resource_class | default('none')
    prefix: class
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/rackops-inventory
cache_timeout: 300
'''

import os
import re

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.rackops.baremetal.plugins.module_utils._connection import (
    AUTH_ARGUMENT_SPEC, ConnectionParamsError, connect_kwargs)
from ansible_collections.rackops.baremetal.plugins.module_utils._redact import redact

try:
    import openstack
except ImportError:
    openstack = None

# What a host variable may say of a node: everything an operator looks at,
# never driver_info's credentials nor instance_info's config drive.
NODE_FIELDS = ('uuid', 'name', 'driver', 'provision_state', 'target_provision_state', 'power_state',
               'target_power_state', 'maintenance', 'maintenance_reason', 'fault', 'last_error', 'reservation',
               'resource_class', 'conductor_group', 'conductor', 'owner', 'lessee', 'description',
               'properties', 'extra', 'traits', 'instance_uuid', 'instance_info', 'driver_info',
               'automated_clean', 'protected', 'retired', 'retired_reason', 'inspection_finished_at',
               'provision_updated_at', 'created_at', 'updated_at',
               'boot_interface', 'deploy_interface', 'inspect_interface', 'management_interface',
               'power_interface', 'raid_interface', 'bios_interface', 'firmware_interface')
# instance_info keys worth showing (the image, not the config drive or anything else)
INSTANCE_KEYS = ('image_source', 'image_checksum', 'image_os_hash_algo', 'image_os_hash_value', 'root_gb',
                 'kernel', 'ramdisk', 'image_type', 'deploy_boot_mode')
# driver_info keys that say where the BMC is
_BMC_ADDRESS = re.compile(r'^[a-z]+_(address|port|system_id)$')


def node_vars(node, ports):
    """One node's host variable: its safe fields, the BMC's address and its ports."""
    data = {k: node.get(k) for k in NODE_FIELDS if k in node}
    data['driver_info'] = {k: v for k, v in (node.get('driver_info') or {}).items() if _BMC_ADDRESS.match(k)}
    data['instance_info'] = {k: v for k, v in (node.get('instance_info') or {}).items() if k in INSTANCE_KEYS}
    data['traits'] = sorted(node.get('traits') or [])
    data['ports'] = sorted(({'mac': p.get('address'), 'pxe_enabled': p.get('pxe_enabled')} for p in ports),
                           key=lambda p: p['mac'] or '')
    return redact(data)


def node_groups(node, prefix=''):
    """The groups a node belongs to (besides the plugin's main group)."""
    groups = ['provision_state_%s' % (node.get('provision_state') or 'unknown')]
    if node.get('resource_class'):
        groups.append('resource_class_%s' % node['resource_class'])
    groups.append('conductor_group_%s' % (node.get('conductor_group') or 'default'))
    if node.get('maintenance'):
        groups.append('maintenance')
    # one spelling for any Ironic value: 'clean failed' -> clean_failed, 'CUSTOM-GOLD' -> CUSTOM_GOLD
    return [re.sub(r'[^A-Za-z0-9_]', '_', prefix + g) for g in groups]


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):

    NAME = 'rackops.baremetal.ironic'

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(('ironic.yml', 'ironic.yaml'))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache=cache)
        self._read_config_data(path)
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option('cache') and cache
        nodes = None
        if use_cache:
            try:
                nodes = self._cache[cache_key]
            except KeyError:
                nodes = None  # expired or never written
        if nodes is None:
            nodes = self._read_nodes()
            if self.get_option('cache'):
                self._cache[cache_key] = nodes
        self._populate(nodes)

    def _connection_params(self):
        params = {key: self.get_option(key) for key in AUTH_ARGUMENT_SPEC}
        params['cloud'] = params['cloud'] or os.environ.get('OS_CLOUD')
        return params

    def _read_nodes(self):
        """[(node dict, ports)] from Ironic: the host variables, already free of secrets."""
        if openstack is None:
            raise AnsibleError('the rackops.baremetal.ironic inventory needs openstacksdk on the controller')
        try:
            conn = openstack.connect(**connect_kwargs(self._connection_params()))
            baremetal = conn.baremetal
            states = self.get_option('provision_states')
            nodes = [n.to_dict(computed=False, original_names=True) for n in baremetal.nodes(details=True)]
            ports = {}
            for port in baremetal.ports(details=True):
                port = port.to_dict(computed=False, original_names=True)
                ports.setdefault(port.get('node_uuid'), []).append(port)
        except ConnectionParamsError as exc:
            raise AnsibleParserError('rackops.baremetal.ironic: %s' % exc) from None
        except Exception as exc:  # pylint: disable=broad-except
            # the SDK's errors carry URLs, never credentials
            raise AnsibleError('rackops.baremetal.ironic: failed to read the nodes from Ironic: %s' % exc) from None
        return [node_vars(n, ports.get(n.get('uuid'), [])) for n in nodes
                if not states or n.get('provision_state') in states]

    def _populate(self, nodes):
        strict = self.get_option('strict')
        main = self.inventory.add_group(self.get_option('group'))
        var_name = self.get_option('var_name')
        for node in sorted(nodes, key=lambda n: (n.get('name') or '', n.get('uuid') or '')):
            host = self.inventory.add_host(node.get('name') or node['uuid'], group=main)
            self.inventory.set_variable(host, var_name, node)
            for group in node_groups(node, self.get_option('group_prefix')):
                group = self.inventory.add_group(group)
                self.inventory.add_child(group, host)
            hostvars = {var_name: node}
            self._set_composite_vars(self.get_option('compose'), hostvars, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option('groups'), hostvars, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option('keyed_groups'), hostvars, host, strict=strict)
