"""Report filters: BMC targets from the inventory, preflight rows, the JSON report and JUnit."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.rackops.baremetal.plugins.filter.bmc_targets import bmc_targets
from ansible_collections.rackops.baremetal.plugins.filter.fleet_report import fleet_report
from ansible_collections.rackops.baremetal.plugins.filter.junit_xml import junit_xml
from ansible_collections.rackops.baremetal.plugins.filter.next_steps import next_steps
from ansible_collections.rackops.baremetal.plugins.filter.preflight_row import preflight_row
from ansible_collections.rackops.baremetal.plugins.filter.preflight_rows import preflight_rows
from ansible_collections.rackops.baremetal.plugins.filter.report_path import report_path


def test_bmc_targets_keep_bmcs_with_a_protocol_only():
    servers = [
        {'name': 'a', 'bmc': {'driver': 'ipmi', 'address': '10.0.0.1', 'username': 'u', 'password': 'p',
                              'cipher_suite': 17, 'priv_level': 'OPERATOR'}, 'nics': []},
        {'name': 'b', 'bmc': {'driver': 'fake-hardware'}},
        {'name': 'c', 'bmc': {'driver': 'redfish', 'address': 'https://10.0.0.3', 'system_id': '1',
                              'verify_ca': False, 'username': 'u', 'password': 'p'}},
    ]
    assert bmc_targets(servers) == [
        {'name': 'a', 'driver': 'ipmi', 'address': '10.0.0.1', 'username': 'u', 'password': 'p',
         'priv_level': 'operator'},
        {'name': 'c', 'driver': 'redfish', 'address': 'https://10.0.0.3', 'username': 'u', 'password': 'p',
         'system_id': '1', 'verify_ca': False},
    ]
    with pytest.raises(AnsibleFilterError):
        bmc_targets([{'bmc': {}}])


CHECK = [
    {'name': 'a', 'address': '10.0.0.1', 'reachable': True, 'authenticated': True, 'power_state': 'off',
     'failed': False, 'problem': None, 'msg': 'ok', 'elapsed': 0.2, 'boot_device_support': True},
    {'name': 'b', 'address': '10.0.0.2', 'reachable': True, 'authenticated': False, 'failed': True,
     'problem': 'auth', 'msg': 'BMC refused the credentials', 'elapsed': 0.1},
    {'name': 'c', 'address': '10.0.0.3', 'reachable': True, 'authenticated': True, 'failed': False,
     'problem': None, 'msg': 'ok', 'elapsed': 0.1},
]
FACTS = [
    {'name': 'a', 'vendor': 'Acme', 'model': 'X1', 'serial': 'S1', 'firmware': '1.05', 'health': 'warning',
     'failed': False, 'elapsed': 0.3},
    {'name': 'c', 'failed': True, 'problem': 'timeout', 'msg': 'timed out after 5 s', 'elapsed': 5},
]


def test_preflight_rows_merge_check_and_facts():
    rows = {r['name']: r for r in preflight_rows(CHECK, FACTS)}
    assert rows['a']['vendor'] == 'Acme' and rows['a']['elapsed'] == 0.5 and rows['a']['msg'] == 'sensor health warning'
    assert rows['b']['failed'] and rows['b']['vendor'] is None
    assert rows['c']['failed'] and rows['c']['problem'] == 'timeout' and rows['c']['msg'].startswith('facts: ')
    line = preflight_row(rows['a'])
    assert line.split()[:5] == ['a', '10.0.0.1', 'yes', 'yes', 'off'] and 'Acme/X1/S1' in line
    assert 'auth: BMC refused' in preflight_row(rows['b'])


def test_report_and_junit():
    report = fleet_report(preflight_rows(CHECK, FACTS), 'preflight')
    assert report['format'] == 'rackops.report/1'
    assert report['summary'] == {'ok': 1, 'changed': 0, 'failed': 2, 'total': 3}
    assert [n['result'] for n in report['nodes']] == ['ok', 'failed', 'failed']
    root = ElementTree.fromstring(junit_xml(report).split('\n', 1)[1])
    suite = root.find('testsuite')
    assert suite.get('name') == 'preflight' and suite.get('tests') == '3' and suite.get('failures') == '2'
    cases = {c.get('name'): c for c in suite.findall('testcase')}
    assert cases['a'].find('failure') is None
    assert cases['b'].find('failure').get('type') == 'auth'
    assert cases['c'].find('failure').get('message') == 'facts: timed out after 5 s'
    with pytest.raises(AnsibleFilterError):
        junit_xml({'nodes': []})
    with pytest.raises(AnsibleFilterError):
        fleet_report([{'failed': True}], 'x')


def test_phase_rows_merge_the_phases_of_a_run():
    from ansible_collections.rackops.baremetal.plugins.filter.phase_rows import phase_rows
    enroll = [{'name': 'a', 'changed': True, 'failed': False, 'actions': ['create'], 'elapsed': 2.0,
               'provision_state': 'available', 'power_state': 'power off'},
              {'name': 'b', 'changed': False, 'failed': True, 'msg': 'BMC said no', 'last_error': 'auth',
               'elapsed': 1.0, 'provision_state': 'enroll'}]
    deploy = [{'name': 'a', 'changed': True, 'failed': False, 'actions': ['deploy (was available)'], 'elapsed': 5.5,
               'provision_state': 'active', 'power_state': 'power on', 'image': 'http://i/x.img'}]
    rows = {r['name']: r for r in phase_rows([['enroll', enroll], ['deploy', deploy]])}
    assert rows['a']['provision_state'] == 'active' and rows['a']['elapsed'] == 7.5
    assert rows['a']['phases'] == {'enroll': 2.0, 'deploy': 5.5} and rows['a']['changed']
    assert rows['a']['msg'] == 'enroll: create; deploy: deploy (was available)'
    assert rows['a']['note'] == 'enroll 2.0s, deploy 5.5s, image http://i/x.img'
    assert rows['b']['failed'] and rows['b']['msg'] == 'enroll: BMC said no' and rows['b']['failed_phase'] == 'enroll'
    assert rows['b']['last_error'] == 'auth' and rows['b']['provision_state'] == 'enroll'
    assert phase_rows([['enroll', enroll], ['deploy', None]])[0]['phases'] == {'enroll': 2.0}
    with pytest.raises(AnsibleFilterError):
        phase_rows([['only-a-name']])


def test_next_steps_name_the_logs_of_failed_nodes_only():
    nodes = [{'name': 'a', 'failed': False},
             {'name': 'b', 'failed': True, 'msg': 'timed out after 5 s waiting (provision state wait call-back)'},
             {'name': 'c', 'failed': True, 'msg': 'ended in deploy failed', 'last_error': 'HTTP 404'},
             {'name': 'd', 'failed': True, 'msg': 'x'}]
    hostvars = {'a': {'rackops_console_log': '/a.log'},
                'b': {'rackops_console_log': '/b.log', 'rackops_boot_log': '/dnsmasq.log'},
                'c': {}, 'd': {}}
    assert next_steps(nodes, hostvars) == [
        'b: its console: /b.log; the DHCP/TFTP log: /dnsmasq.log',
        'c: fix what last_error says, then run again']


def test_reports_go_where_the_run_started_not_into_the_playbooks_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert report_path('rackops-reports') == str(tmp_path / 'rackops-reports')
    assert report_path('out/../reports', start='/srv/runs') == '/srv/runs/reports'
    assert report_path('/var/log/rackops') == '/var/log/rackops'
    monkeypatch.setenv('HOME', '/home/ops')
    assert report_path('~/reports') == '/home/ops/reports'
