"""rackops.baremetal.console against a real Ironic: fleet behaviour on fake-hardware nodes.

A real console (ipmitool-socat over the BMC's Serial-over-LAN, to a QEMU
machine's login prompt) is proven in test_e2e; here what does not need a
machine: idempotence, check and diff mode, one node's failure beside the
others, and turning consoles off.
"""

from __future__ import annotations

import pytest
from conftest import run_task

NAMES = ['cons-0', 'cons-1']
NO_CONSOLE = 'cons-none'


@pytest.fixture(scope='module')
def fleet(engine):
    conn = engine.sdk()
    made = [conn.baremetal.create_node(name=name, driver='fake-hardware', console_interface='fake')
            for name in NAMES]
    made.append(conn.baremetal.create_node(name=NO_CONSOLE, driver='fake-hardware', console_interface='no-console'))
    yield made
    for node in made:
        conn.baremetal.delete_node(node.id, ignore_missing=True)


def consoles(engine):
    return {n.name: n.is_console_enabled for n in engine.sdk().baremetal.nodes(fields=['name', 'console_enabled'])
            if n.name in NAMES + [NO_CONSOLE]}


def run_console(engine, tmp_path, nodes, *args, **params):
    return run_task(engine.env, tmp_path, 'rackops.baremetal.console',
                    dict({'cloud': 'rackops', 'nodes': nodes}, **params), *args)


def test_check_mode_writes_nothing_and_shows_the_diff(engine, fleet, tmp_path):
    result, output = run_console(engine, tmp_path, NAMES, '--check', '--diff')
    assert result['changed'] and not result.get('failed'), result
    assert [n['console_enabled'] for n in result['nodes']] == [True, True]
    assert all(n['console_info'] is None for n in result['nodes'])
    assert output.count('+    console_enabled: true') == 2 and '--- before: cons-1' in output, output
    assert consoles(engine) == {name: False for name in NAMES + [NO_CONSOLE]}


def test_consoles_on_then_nothing_to_do_then_off(engine, fleet, tmp_path):
    result = run_console(engine, tmp_path, NAMES)[0]
    assert result['changed'] and not result.get('failed'), result
    assert [(n['name'], n['console_enabled'], n['actions']) for n in result['nodes']] == [
        (name, True, ['console enabled']) for name in NAMES]
    assert all(isinstance(n['console_info'], dict) for n in result['nodes']), result
    assert consoles(engine) == {'cons-0': True, 'cons-1': True, NO_CONSOLE: False}

    again = run_console(engine, tmp_path, NAMES)[0]
    assert not again['changed'] and [n['console_enabled'] for n in again['nodes']] == [True, True]

    off = run_console(engine, tmp_path, NAMES[:1], state='disabled')[0]
    assert off['changed'] and off['nodes'][0]['console_enabled'] is False and off['nodes'][0]['console_info'] is None
    assert consoles(engine) == {'cons-0': False, 'cons-1': True, NO_CONSOLE: False}
    assert not run_console(engine, tmp_path, NAMES[:1], state='disabled')[0]['changed']


def test_a_node_without_a_console_fails_alone(engine, fleet, tmp_path):
    run_console(engine, tmp_path, NAMES, state='disabled')
    result = run_console(engine, tmp_path, [NO_CONSOLE, 'cons-0', 'cons-nowhere'])[0]
    assert result['failed'], result
    by_name = {n['name']: n for n in result['nodes']}
    assert by_name[NO_CONSOLE]['failed'] and 'console' in by_name[NO_CONSOLE]['msg'].lower(), by_name[NO_CONSOLE]
    assert by_name['cons-nowhere']['failed'] and 'no such node' in by_name['cons-nowhere']['msg']
    assert not by_name['cons-0']['failed'] and by_name['cons-0']['console_enabled'] is True
    assert consoles(engine) == {'cons-0': True, 'cons-1': False, NO_CONSOLE: False}
