# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: engine_topology
short_description: The engine's hosts of a multi-host site, from the inventory's groups
version_added: 0.1.0
author:
  - rackops.baremetal developers (@rackops)
description:
  - Reads groups C(ironic_database) (one host, PostgreSQL or MariaDB), C(ironic_api) (one or more hosts running C(ironic-api))
    and C(ironic_conductor) (one or more hosts running C(ironic-conductor)) and says, per host, what the
    rackops.baremetal.ironic role runs there and where the other hosts reach it.
  - A host in both C(ironic_api) and C(ironic_conductor) runs both (layout C(split)).
  - Each engine host is reached by the others at C(rackops_engine_address) (default its C(ansible_host), else its
    name); each conductor may set C(ironic_conductor_group) and C(ironic_conductor_count), and all share
    C(ironic_json_rpc_port).
  - An empty result (C(hosts) empty) means none of the groups is in the inventory - the all-in-one site of group
    C(provisioner).
  - Every problem is reported at once, naming the group, host and variable; nothing has been installed then.
options:
  _input:
    description: The inventory's C(groups).
    type: dict
    required: true
  hostvars:
    description: The inventory's C(hostvars).
    type: dict
    required: true
'''

EXAMPLES = r'''
- name: Read the engine's hosts from the inventory
  ansible.builtin.set_fact:
    engine: "{{ groups | rackops.baremetal.engine_topology(hostvars) }}"
'''

RETURN = r'''
_value:
  description: The topology.
  type: dict
  contains:
    hosts:
      description: Per engine host (not the database host), C(layout), C(address), C(json_rpc_host), C(conductor_group),
        C(conductors) (the names its conductors register under) and C(schema) (true on the one host that creates
        and upgrades the database schema).
      type: dict
    database:
      description: The database host, its C(address) and C(clients) (the engine hosts' addresses).
      type: dict
    conductors:
      description: Every conductor's name, as the API hosts wait for them to register.
      type: list
      elements: str
    api_addresses:
      description: The API hosts' addresses.
      type: list
      elements: str
    errors:
      description: What is wrong with the inventory; empty when nothing is.
      type: list
      elements: str
'''

import ipaddress
import re

GROUPS = ('ironic_database', 'ironic_api', 'ironic_conductor')
# Ironic names a conductor after [DEFAULT]host, plus ":<port>" when its json-rpc port is not this
DEFAULT_JSON_RPC_PORT = 8089
GROUP_NAME = re.compile(r'^[a-zA-Z0-9_.-]*$')


def _address(name, host_vars):
    return str(host_vars.get('rackops_engine_address') or host_vars.get('ansible_host') or name)


def _int(host_vars, key, default, errors, name):
    value = host_vars.get(key, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or isinstance(value, bool) or number < 1:
        errors.append('%s: %s must be a whole number of 1 or more' % (name, key))
        return default
    return number


def engine_topology(groups, hostvars):
    groups = groups or {}
    members = {group: list(groups.get(group) or []) for group in GROUPS}
    topology = {'hosts': {}, 'database': {}, 'conductors': [], 'api_addresses': [], 'json_rpc_addresses': {},
                'errors': []}
    if not any(members.values()):
        return topology
    errors = topology['errors']
    if len(members['ironic_database']) != 1:
        errors.append('group ironic_database: a multi-host engine needs exactly one database host (has %d)'
                      % len(members['ironic_database']))
    for group in ('ironic_api', 'ironic_conductor'):
        if not members[group]:
            errors.append('group %s: a multi-host engine needs at least one host in it' % group)
    if groups.get('provisioner'):
        errors.append('group provisioner: the boot services (DHCP, TFTP, HTTP) are not yet installed on a multi-host '
                      'engine; run site.yml for the engine and bring the boot services by other means (docs/engine.md)')
    engine_hosts = members['ironic_api'] + [
        name for name in members['ironic_conductor'] if name not in members['ironic_api']]
    addresses = {}
    for name in engine_hosts + members['ironic_database']:
        own = hostvars.get(name) or {}
        address = _address(name, own)
        try:
            address = str(ipaddress.ip_address(address))
        except ValueError:
            errors.append('%s: rackops_engine_address (or ansible_host) must be an IP address the other engine hosts '
                          'reach it at, not %r' % (name, address) if ' ' not in address and len(address) < 64
                          else '%s: rackops_engine_address (or ansible_host) must be an IP address' % name)
        addresses[name] = address
    for name, address in addresses.items():
        if name in members['ironic_database'] and name in engine_hosts:
            errors.append('%s: the database host runs no Ironic process; put the API and conductors on other hosts'
                          % name)
    first_conductor = members['ironic_conductor'][0] if members['ironic_conductor'] else None
    for name in engine_hosts:
        own = hostvars.get(name) or {}
        api, conductor = name in members['ironic_api'], name in members['ironic_conductor']
        layout = 'split' if api and conductor else 'api' if api else 'conductor'
        entry = {'layout': layout, 'address': addresses[name], 'json_rpc_host': addresses[name],
                 'conductor_group': '', 'conductors': [], 'schema': name == first_conductor}
        if conductor:
            group = own.get('ironic_conductor_group', '')
            if not isinstance(group, str) or not GROUP_NAME.match(group) or len(group) > 255:
                errors.append('%s: ironic_conductor_group must be letters, digits, "_", "." or "-"' % name)
                group = ''
            entry['conductor_group'] = group
            count = _int(own, 'ironic_conductor_count', 1, errors, name)
            port = _int(own, 'ironic_json_rpc_port', DEFAULT_JSON_RPC_PORT, errors, name)
            address = addresses[name]
            host = '[%s]' % address if ':' in address else address
            entry['conductors'] = [host if each == DEFAULT_JSON_RPC_PORT else '%s:%d' % (host, each)
                                   for each in range(port, port + count)]
            topology['conductors'].extend(entry['conductors'])
        else:
            entry['schema'] = False
        if api:
            topology['api_addresses'].append(addresses[name])
        topology['hosts'][name] = entry
        topology['json_rpc_addresses'][name] = entry['json_rpc_host']
    if members['ironic_database']:
        name = members['ironic_database'][0]
        topology['database'] = {'host': name, 'address': addresses[name],
                                'clients': sorted({addresses[each] for each in engine_hosts})}
    return topology


class FilterModule:

    def filters(self):
        return {'engine_topology': engine_topology}
