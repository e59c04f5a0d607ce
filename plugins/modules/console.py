#!/usr/bin/python
# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: console
short_description: Serial consoles of bare-metal nodes, through Ironic
version_added: 0.1.0
description:
  - Turns the serial consoles of nodes on or off through Ironic's console interface and returns, for each node,
    where its console answers (C(console_info)), e.g. V(tcp://10.20.0.1:10000) for the C(ipmitool-socat) console,
    where a TCP connection is the node's serial port, over the BMC's Serial-over-LAN.
  - Idempotent - a node whose console is already in the wanted state is left alone.
  - Waits until Ironic reports each console in the wanted state (one list call per cycle for the whole fleet).
    A console Ironic could not start fails that node with Ironic's C(last_error), not the others.
  - A node's console kind is its C(console_interface) - C(ipmitool-socat) is the default for C(ipmi) nodes;
    set another one with the inventory's C(interfaces.console) (enrollment) while the console is off.
author:
  - rackops.baremetal developers (@rackops)
extends_documentation_fragment:
  - rackops.baremetal.auth
  - rackops.baremetal.fleet
  - rackops.baremetal._attributes
  - rackops.baremetal._attributes.ACTIONGROUP_IRONIC
attributes:
  check_mode:
    support: full
    details: Check mode sends no write to Ironic.
  diff_mode:
    support: full
options:
  node:
    description: Name or UUID of one node. Mutually exclusive with O(nodes).
    type: str
  nodes:
    description: Names or UUIDs of several nodes.
    type: list
    elements: str
  state:
    description: V(enabled) starts each node's console; V(disabled) stops it and frees its port.
    type: str
    choices: [enabled, disabled]
    default: enabled
  web_console_port:
    description:
      - Where the site serves the consoles to browsers (the C(pxe) role's
        O(rackops.baremetal.pxe#role:main:pxe_web_console_port), on the host of the socat consoles). Each enabled
        C(ipmitool-socat) console's result then has C(web_url), V(http://<its address>:<this port>/?<its port>).
      - V(0) (the default), none.
    type: int
    default: 0
notes:
  - The C(ipmitool-socat) console listens on the conductor's C([console]socat_address), one port per console from
    C([console]port_range) (the C(ironic) role's O(rackops.baremetal.ironic#role:main:ironic_console_address) and
    O(rackops.baremetal.ironic#role:main:ironic_console_port_range)). Anyone who reaches that port reaches the
    node's console, without a password; keep the address on a management network and turn consoles off after use.
'''

EXAMPLES = r'''
- name: Open the consoles of two nodes
  rackops.baremetal.console:
    cloud: rackops
    nodes: [rack1-u07, rack1-u12]
  register: consoles

- name: Where to connect (e.g. socat -,raw,echo=0 TCP:10.20.0.1:10000)
  ansible.builtin.debug:
    msg: "{{ consoles.nodes | items2dict(key_name='name', value_name='console_info') }}"

- name: Close them again
  rackops.baremetal.console:
    cloud: rackops
    nodes: [rack1-u07, rack1-u12]
    state: disabled
'''

RETURN = r'''
nodes:
  description: One entry per node, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: "Node name or UUID as given.", type: str}
    uuid: {description: "Node UUID.", type: str}
    changed: {description: "Whether this node changed (or would, in check mode).", type: bool}
    failed: {description: "Whether this node failed.", type: bool}
    msg: {description: "What was done, or why it failed.", type: str}
    actions: {description: "The changes made, in order.", type: list, elements: str}
    last_error: {description: "Ironic's last_error for the node.", type: str}
    provision_state: {description: "Provision state.", type: str}
    power_state: {description: "Power state.", type: str}
    console_enabled: {description: "Whether the console is on, at the end.", type: bool}
    console_info:
      description:
        - Where the console answers, as Ironic reports it (C(type), e.g. V(socat), and C(url)); null while it is
          off.
      type: dict
      sample: {type: socat, url: "tcp://10.20.0.1:10000"}
    web_url:
      description: The console's page for browsers (with O(web_console_port), for a C(socat) console that is on).
      type: str
      returned: when O(web_console_port) is set and the console is a socat one that is on
      sample: "http://10.20.0.1:4200/?10000"
    elapsed: {description: "Seconds spent on this node.", type: float}
retries:
  description: Calls Ironic answered with HTTP 409 or 503 and that were retried.
  returned: always
  type: list
  elements: dict
'''

import re

from ansible_collections.rackops.baremetal.plugins.module_utils._fleet import WAIT_FIELDS, field_getter, run_phase, wait_for
from ansible_collections.rackops.baremetal.plugins.module_utils._fleet_options import (
    FLEET_ARGUMENT_SPEC, FleetTask)
from ansible_collections.rackops.baremetal.plugins.module_utils._module import IronicModule

CONSOLE_FIELDS = WAIT_FIELDS + ['console_enabled']


def console_enabled(record):
    """Whether a node record says its console is on (a dict has Ironic's name, an SDK node its own)."""
    get = field_getter(record)
    return bool(get('console_enabled') if get('console_enabled') is not None else get('is_console_enabled'))


def web_console_url(console_info, web_port):
    """The browsers' page of a socat console (the pxe role's shellinabox, on the console's own address), or None.

    tcp://10.20.0.1:10000 -> http://10.20.0.1:4200/?10000; the page connects to that port of that address."""
    if not web_port or not console_info or console_info.get('type') != 'socat':
        return None
    match = re.match(r'^tcp://(\[[0-9a-fA-F:.]+\]|[^:/\[\]]+):(\d+)$', console_info.get('url') or '')
    if not match:
        return None
    return 'http://%s:%d/?%s' % (match.group(1), web_port, match.group(2))


def console_verdict(want, record):
    """'done' once the record's console is as wanted (and the node unlocked), 'wait', or why it failed.

    Ironic holds the node's lock from the request until the console has started (or failed to): the
    request returns only once the conductor has taken it. Unlocked and not as wanted is a failure,
    and Ironic's last_error says why."""
    get = field_getter(record)
    if get('reservation'):
        return 'wait'
    if console_enabled(record) == want:
        return 'done'
    return 'the console was not turned %s: %s' % ('on' if want else 'off', get('last_error') or 'no reason given')


class ConsoleManager(FleetTask):
    """Starts or stops each node's console, waits for Ironic to report it, then reads where it answers."""

    def __init__(self, module, names):
        super().__init__(module, names)
        self.want = module.params['state'] == 'enabled'

    def list_nodes(self):
        """The wait's one list call per cycle: the fleet's wait fields and whether each console is on."""
        return self.module.client.list_nodes(CONSOLE_FIELDS)

    def request(self, result):
        record = self.records[result.name]
        have = console_enabled(record)
        result.extra['console_enabled'] = have
        if have == self.want:
            return False
        result.did('console %s' % ('enabled' if self.want else 'disabled'))
        self.diffs.append({'before_header': result.name, 'after_header': result.name,
                           'before': {'console_enabled': have}, 'after': {'console_enabled': self.want}})
        result.extra['console_enabled'] = self.want
        if self.check:
            return False
        # Ironic answers 202 and the conductor starts (or stops) socat: the wait sees it done
        self.put_node(result, 'turn the console %s of' % ('on' if self.want else 'off'), 'states/console',
                      {'enabled': self.want}, '1.1')
        return True

    def settled(self, _result, node):
        return console_verdict(self.want, node)

    def read_info(self, result):
        if not self.want or (self.check and result.changed):
            # off: nothing answers; check mode: a console not started yet has no address
            result.extra['console_info'] = None
            return
        console = self.module.client.get_json('read the console of', '/nodes/%s/states/console' % result.uuid,
                                              microversion='1.1', node=result.name)
        result.extra['console_enabled'] = bool(console.get('console_enabled'))
        result.extra['console_info'] = console.get('console_info')
        url = (console.get('console_info') or {}).get('url')
        web_url = web_console_url(console.get('console_info'), self.params['web_console_port'])
        if web_url:
            result.extra['web_url'] = web_url
        if url:
            # the address in the message too: the playbooks' per-node table shows it
            result.msg = '; '.join(result.actions + ['console at %s' % url]
                                   + (['in a browser at %s' % web_url] if web_url else []))

    def run(self):
        records = self.module.call('list nodes', lambda: list(self.baremetal.nodes(fields=CONSOLE_FIELDS)))
        self.records = self.match(records)
        requested = []

        def request(result):
            if self.request(result):
                requested.append(result)
        run_phase(self.results, request, self.concurrency)
        if requested:
            wait_for(self.list_nodes, requested, self.settled, self.params['timeout'], self.params['wait_interval'])
        run_phase(self.results, self.read_info, self.concurrency)


def main():
    argument_spec = dict(
        node=dict(type='str'),
        nodes=dict(type='list', elements='str'),
        state=dict(type='str', choices=['enabled', 'disabled'], default='enabled'),
        web_console_port=dict(type='int', default=0),
    )
    argument_spec.update(FLEET_ARGUMENT_SPEC)
    module = IronicModule(argument_spec, supports_check_mode=True, mutually_exclusive=[('node', 'nodes')],
                          required_one_of=[('node', 'nodes')])
    names = module.params['nodes'] if module.params['nodes'] is not None else [module.params['node']]
    manager = ConsoleManager(module, names)
    manager.run()
    module.exit_fleet(manager.results, manager.diffs)


if __name__ == '__main__':
    main()
