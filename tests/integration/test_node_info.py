"""rackops.baremetal.node_info against a real Ironic, with nodes made by openstacksdk."""

from __future__ import annotations

import re

import pytest
from conftest import ROOT, recap, run_playbook

PLAYBOOK = ROOT / 'tests/integration/playbooks/node_info.yml'


@pytest.fixture(scope='module')
def fleet(engine):
    conn = engine.sdk()
    made = []
    for index, rclass in enumerate(['gold', 'gold', 'silver']):
        made.append(conn.baremetal.create_node(
            name='info-%d' % index, driver='fake-hardware', resource_class=rclass,
            driver_info={'ipmi_password': 'hunter2-secret'}))
    conn.baremetal.set_node_power_state(made[1], 'power on', wait=True)
    conn.baremetal.set_node_maintenance(made[2], reason='it test')
    yield made
    for node in made:
        conn.baremetal.delete_node(node.id, ignore_missing=True)


def test_node_info_reads_what_openstacksdk_made(engine, fleet):
    uuids = {n.name: n.id for n in fleet}
    output = run_playbook(PLAYBOOK, {'uuids': uuids}, env=engine.env)[1]
    assert recap(output)['failed'] == 0
    assert 'hunter2-secret' not in output


def test_node_info_in_check_mode(engine, fleet):
    uuids = {n.name: n.id for n in fleet}
    output = run_playbook(PLAYBOOK, {'uuids': uuids}, '--check', env=engine.env)[1]
    assert recap(output)['failed'] == 0


def test_node_info_with_explicit_http_basic_auth(engine, fleet):
    output = run_playbook(
        ROOT / 'tests/integration/playbooks/node_info_auth.yml',
        {'endpoint': engine.endpoint, 'password': engine.password, 'expected': len(fleet)})[1]
    assert recap(output)['failed'] == 0
    assert engine.password not in output


def test_node_info_names_a_bad_password(engine):
    code, output = run_playbook(
        ROOT / 'tests/integration/playbooks/node_info_auth.yml',
        {'endpoint': engine.endpoint, 'password': 'not-the-password', 'expected': 0}, expect_ok=False)
    assert code != 0
    assert 'Failed to list nodes (HTTP 401)' in output
    assert 'not-the-password' not in output


def test_node_info_reports_unreachable_ironic(engine):
    code, output = run_playbook(
        ROOT / 'tests/integration/playbooks/node_info_auth.yml',
        {'endpoint': 'http://127.0.0.1:9', 'password': 'x', 'expected': 0}, expect_ok=False)
    assert code != 0
    assert 'Failed to reach Ironic' in output
    # waited for api_outage_timeout (3 s), as for an API that restarts, then failed saying so
    assert re.search(r'the API did not answer for [34] s', output), output[-2000:]
    assert 'Traceback' not in output
