# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: junit_xml
short_description: A run report as JUnit XML, one test case per node
version_added: 0.1.0
author:
  - rackops.baremetal developers (@rackops)
description:
  - Turns a report from P(rackops.baremetal.fleet_report#filter) into JUnit XML - one test suite named after the run,
    one test case per node (class name C(rackops.<run>)), a failure element with the node's message when it failed.
  - CI systems (Jenkins, GitLab, Zuul) show it as a test result.
options:
  _input:
    description: The report.
    type: dict
    required: true
'''

EXAMPLES = r'''
- name: Write the JUnit report
  ansible.builtin.copy:
    content: "{{ result.bmcs | rackops.baremetal.fleet_report('preflight') | rackops.baremetal.junit_xml }}"
    dest: reports/preflight.xml
    mode: '0644'
  delegate_to: localhost
  run_once: true
'''

RETURN = r'''
_value:
  description: The XML document.
  type: str
'''

from xml.etree import ElementTree

from ansible.errors import AnsibleFilterError


def junit_xml(report):
    if not isinstance(report, dict) or 'nodes' not in report or 'run' not in report:
        raise AnsibleFilterError('junit_xml expects a report from rackops.baremetal.fleet_report')
    nodes = report['nodes']
    failed = [n for n in nodes if n.get('result') == 'failed']
    suites = ElementTree.Element('testsuites', name='rackops', tests=str(len(nodes)), failures=str(len(failed)))
    suite = ElementTree.SubElement(suites, 'testsuite', name=str(report['run']), tests=str(len(nodes)),
                                   failures=str(len(failed)), errors='0', skipped='0',
                                   time='%.2f' % sum(float(n.get('elapsed') or 0) for n in nodes))
    for node in nodes:
        case = ElementTree.SubElement(suite, 'testcase', classname='rackops.%s' % report['run'],
                                      name=str(node.get('name')), time='%.2f' % float(node.get('elapsed') or 0))
        if node.get('result') == 'failed':
            failure = ElementTree.SubElement(case, 'failure', message=str(node.get('msg') or 'failed'),
                                             type=str(node.get('problem') or 'failed'))
            failure.text = str(node.get('last_error') or node.get('msg') or '')
        else:
            ElementTree.SubElement(case, 'system-out').text = '%s: %s' % (node.get('result'), node.get('msg') or '')
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(suites, encoding='unicode') + '\n'


class FilterModule:

    def filters(self):
        return {'junit_xml': junit_xml}
