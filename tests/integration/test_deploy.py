"""The whole run on 30 fake-hardware nodes: provision.yml, its reports, a failing node, undeploy.yml.

Real Ironic (the session's engine). The failing node uses the `direct` deploy
interface: with no agent to call back, Ironic itself fails the deploy after
[conductor]deploy_callback_timeout (10 s in tests) and records last_error.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path
from xml.etree import ElementTree

import pytest
from conftest import ROOT, free_port, load_yaml, recap, remove_nodes, run_playbook, write_inventory
from machines import tcp_open

PLAYBOOKS = ROOT / 'playbooks'
COUNT = 30
BAD = 'dep-07'
PREFIX = 'dep-'


@pytest.fixture(scope='module')
def image_server(tmp_path_factory):
    """An HTTP server on loopback with a small disk image (the `direct` deploy checks the URL)."""
    root = tmp_path_factory.mktemp('images')
    data = b'\0' * (1 << 20)
    (root / 'disk.img').write_bytes(data)
    (root / 'disk2.img').write_bytes(data + b'2')
    port = free_port()
    proc = subprocess.Popen(  # pylint: disable=consider-using-with
        [sys.executable, '-m', 'http.server', '--bind', '127.0.0.1', str(port)], cwd=root,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    base = 'http://127.0.0.1:%d' % port
    yield {'url': base + '/disk.img', 'checksum': 'sha256:' + hashlib.sha256(data).hexdigest(),
           'url2': base + '/disk2.img', 'checksum2': 'sha256:' + hashlib.sha256(data + b'2').hexdigest()}
    proc.terminate()
    proc.wait(timeout=10)


def servers(bad_deploy='direct'):
    out = {}
    for i in range(COUNT):
        name = '%s%02d' % (PREFIX, i)
        desc = {'nics': [{'mac': '52:54:00:d0:00:%02x' % i}]}
        if i % 10 == 1:  # some get a config drive: SSH key, static address, user data
            desc.update(ssh_keys=['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF%02d ops@example' % i],
                        network={'ipv4': {'address': '192.0.2.%d/24' % (10 + i), 'gateway': '192.0.2.1',
                                          'dns': ['192.0.2.1']}},
                        user_data='#cloud-config\nhostname: %s\n' % name)
        if name == BAD:
            # no cleaning (which would wait for the agent too): it fails in the deploy
            desc.update(interfaces={'deploy': bad_deploy, 'boot': 'fake'}, automated_clean=False)
        out[name] = desc
    return out


@pytest.fixture(scope='module')
def fleet(engine, image_server, tmp_path_factory):
    work = tmp_path_factory.mktemp('deploy')
    defaults = {'bmc': {'driver': 'fake-hardware'}, 'interfaces': {'deploy': 'fake', 'boot': 'fake'},
                'image': {'source': image_server['url'], 'checksum': image_server['checksum']}}
    inventory = write_inventory(work / 'inventory.yml', servers(), defaults)
    yield {'work': work, 'inventory': inventory, 'defaults': defaults}
    remove_nodes(engine.sdk(), lambda name: name.startswith(PREFIX))


def play(engine, fleet, name, *args, expect_ok=True, **extra):
    extra = dict({'rackops_report_dir': str(fleet['work'] / 'reports'), 'rackops_progress_interval': 2}, **extra)
    # the deploy's progress file goes to TMPDIR: the tests look there for leftovers
    (fleet['work'] / 'tmp').mkdir(exist_ok=True)
    env = dict(engine.env, ANSIBLE_ASYNC_DIR=str(fleet['work'] / 'async'), TMPDIR=str(fleet['work'] / 'tmp'))
    return run_playbook(PLAYBOOKS / name, extra, '-i', str(fleet['inventory']), *args, env=env,
                        expect_ok=expect_ok)


def states(engine):
    conn = engine.sdk()
    return {n.name: n for n in conn.baremetal.nodes(fields=['uuid', 'name', 'provision_state', 'last_error',
                                                            'instance_info', 'deploy_interface'])
            if n.name and n.name.startswith(PREFIX)}


def deploy_task(engine, tmp_path, node, *args, **params):
    """Runs rackops.baremetal.deploy once in a playbook; (its result, the playbook's output)."""
    playbook, saved = tmp_path / 'deploy.yml', tmp_path / 'out.json'
    task = {'rackops.baremetal.deploy': dict({'cloud': 'rackops', 'node': node}, **params),
            'register': 'out', 'ignore_errors': True}
    save = {'ansible.builtin.copy': {'content': '{{ out | to_json }}', 'dest': str(saved), 'mode': '0600'},
            'changed_when': False, 'check_mode': False}
    playbook.write_text(json.dumps([{'hosts': 'localhost', 'gather_facts': False, 'tasks': [task, save]}]))
    output = run_playbook(playbook, None, *args, env=engine.env)[1]
    return json.loads(saved.read_text()), output


def test_a_check_run_writes_nothing(engine, fleet):
    output = play(engine, fleet, 'provision.yml', '--check')[1]
    assert states(engine) == {}
    assert recap(output)['failed'] == 0
    assert 'deploy (once enrolled and available)' in output
    assert not list((fleet['work'] / 'tmp').glob('*rackops-progress*'))


def test_provision_one_node_fails_the_others_go_active(engine, fleet):
    rc, output = play(engine, fleet, 'provision.yml', expect_ok=False)
    assert rc != 0 and '1 node(s) failed: %s' % BAD in output, output[-4000:]
    nodes = states(engine)
    assert len(nodes) == COUNT
    assert [n for n, node in nodes.items() if node.provision_state != 'active'] == [BAD]
    assert nodes[BAD].provision_state == 'deploy failed' and 'callback' in nodes[BAD].last_error.lower()
    assert all(node.instance_info.get('image_source') for node in nodes.values())
    assert 'configdrive' in nodes['dep-01'].instance_info and 'configdrive' not in nodes['dep-02'].instance_info
    # progress while waiting (from the deploy's progress file, which it removed at its end),
    # then the summary table with Ironic's last_error
    cycles = [dict((state, int(count)) for state, count in re.findall(r'([a-z][a-z -]*) (\d+)', line))
              for line in re.findall(r'\d\d:\d\d:\d\d 30 nodes: ((?:[a-z -]+ \d+(?:, )?)+)[\'"]?$', output, re.M)]
    assert cycles and all(sum(c.values()) == 30 for c in cycles), output[-3000:]
    # the last cycle: the bad node still waits for its agent, or already failed (a cycle can see either)
    assert cycles[-1].get('wait call-back', 0) + cycles[-1].get('deploy failed', 0) == 1, cycles
    assert not list((fleet['work'] / 'tmp').glob('*rackops-progress*')), output[-3000:]
    line = [ln for ln in output.splitlines() if ln.strip().startswith(BAD + ' ') and ': ok=' not in ln][-1]
    assert 'FAILED' in line and 'deploy failed' in line and 'callback' in line.lower()
    report = json.loads((fleet['work'] / 'reports/provision.json').read_text())
    assert report['summary']['total'] == COUNT and report['summary']['failed'] == 1
    by_name = {n['name']: n for n in report['nodes']}
    assert by_name[BAD]['failed_phase'] == 'deploy' and by_name['dep-00']['provision_state'] == 'active'
    assert set(by_name['dep-00']['phases']) == {'enroll', 'deploy'}
    suite = ElementTree.parse(fleet['work'] / 'reports/provision.xml').getroot().find('testsuite')
    assert suite.get('tests') == str(COUNT) and suite.get('failures') == '1'
    failure = [c for c in suite.findall('testcase') if c.get('name') == BAD][0].find('failure')
    assert 'callback' in failure.text.lower()
    # the async deploy job's results file was read, then removed
    assert (fleet['work'] / 'async').is_dir() and not list((fleet['work'] / 'async').iterdir())


def test_fixing_the_input_converges_and_a_rerun_changes_nothing(engine, fleet):
    write_inventory(fleet['inventory'], servers(bad_deploy='fake'), fleet['defaults'])
    rc, output = play(engine, fleet, 'provision.yml', expect_ok=False)
    assert rc == 0, [ln for ln in output.splitlines() if BAD in ln and ': ok=' not in ln]
    nodes = states(engine)
    assert all(node.provision_state == 'active' for node in nodes.values())
    assert nodes[BAD].deploy_interface == 'fake' and not engine.sdk().baremetal.get_node(BAD).is_maintenance
    assert recap(output)['changed'] >= 1
    output = play(engine, fleet, 'provision.yml')[1]
    assert recap(output)['changed'] == 0, [ln for ln in output.splitlines() if 'changed' in ln and 'changed=0' not in ln]
    report = json.loads((fleet['work'] / 'reports/provision.json').read_text())
    assert report['summary'] == {'ok': COUNT, 'changed': 0, 'failed': 0, 'total': COUNT}


def test_deploy_module_sequence_and_rebuild(engine, fleet, image_server, tmp_path):
    node = dict(load_yaml(fleet['inventory'])['all']['children']['baremetal']['hosts']['dep-03']['baremetal'],
                name='dep-03', image={'source': image_server['url2'], 'checksum': image_server['checksum2']})

    def run(*args, **params):
        return deploy_task(engine, tmp_path, node, *args, **params)

    result = run()[0]
    assert result['failed'] and 'another image or deploy templates; set rebuild: true' in result['nodes'][0]['msg']
    result = run('--check', rebuild=True)[0]
    assert result['changed'], result['nodes'][0]['msg']
    assert states(engine)['dep-03'].instance_info['image_source'] == image_server['url']
    result, output = run('--check', '--diff', rebuild=True)
    assert re.search(r'^\+\s*image: %s$' % re.escape(image_server['url2']), output.replace("'", ''), re.M), output
    result = run(rebuild=True)[0]
    assert result['changed'] and result['nodes'][0]['actions'] == ['rebuild with a new image']
    assert states(engine)['dep-03'].provision_state == 'active'
    assert states(engine)['dep-03'].instance_info['image_source'] == image_server['url2']
    result = run('--check', rebuild=True)[0]
    assert not result['changed']
    result = run(rebuild=True)[0]
    assert not result['changed'] and result['nodes'][0]['msg'] == 'already active with this image'


@pytest.fixture
def bad_template(engine):
    """An Ironic deploy template that Ironic refuses when a deploy asks for it, naming its step.

    fake-hardware has no deploy step a template could run: its one deploy step is the
    core deploy.deploy, which templates may not override, and Ironic skips steps a
    driver lacks until the deploy agent reports its own. The refusal shows the
    template was applied: Ironic only looks at the templates the instance traits name.
    """
    conn = engine.sdk()
    template = conn.baremetal.create_deploy_template(
        name='CUSTOM_RACKOPS_BAD', steps=[{'interface': 'deploy', 'step': 'deploy', 'args': {}, 'priority': 100}])
    yield template.name
    conn.baremetal.delete_deploy_template(template.id)


def test_deploy_templates_reach_ironic_and_an_unknown_one_is_named(engine, fleet, image_server, tmp_path,
                                                                   bad_template):
    hosts = load_yaml(fleet['inventory'])['all']['children']['baremetal']['hosts']
    server = dict(hosts['dep-04']['baremetal'], name='dep-04', deploy_templates=['CUSTOM_RACKOPS_NONE'],
                  image={'source': image_server['url'], 'checksum': image_server['checksum']})
    before = engine.sdk().baremetal.get_node('dep-04')
    result = deploy_task(engine, tmp_path, server, rebuild=True)[0]
    assert result['failed'] and not result['changed']
    assert result['nodes'][0]['msg'] == 'deploy_templates: no such Ironic deploy template: CUSTOM_RACKOPS_NONE'

    server['deploy_templates'] = [bad_template]
    result = deploy_task(engine, tmp_path, server)[0]
    assert result['failed'] and 'another image or deploy templates; set rebuild: true' in result['nodes'][0]['msg']
    result, output = deploy_task(engine, tmp_path, server, '--check', '--diff', rebuild=True)
    assert result['changed'] and result['nodes'][0]['actions'] == ['rebuild with a new image',
                                                                   'add trait %s' % bad_template]
    assert re.search(r'^\+\s*deploy_templates:', output, re.M) and bad_template in output, output[-3000:]
    node = engine.sdk().baremetal.get_node('dep-04')
    assert (node.traits, node.instance_info) == (before.traits, before.instance_info)  # check mode wrote nothing

    # Ironic took the trait and the instance traits, applied the template, and refused
    # its step by name; the node still runs its image, and a re-run does not take it as rebuilt
    for attempt in range(2):
        result = deploy_task(engine, tmp_path, server, rebuild=True)[0]
        assert result['failed'] and 'deploy is a core step' in result['nodes'][0]['msg'], result['nodes'][0]['msg']
        node = engine.sdk().baremetal.get_node('dep-04')
        assert node.provision_state == 'active' and bad_template in node.traits
        assert node.instance_info['traits'] == [bad_template]


def test_undeploy_check_apply_and_clean_rerun(engine, fleet):
    output = play(engine, fleet, 'undeploy.yml', '--check')[1]
    assert all(node.provision_state == 'active' for node in states(engine).values())
    output = play(engine, fleet, 'undeploy.yml')[1]
    nodes = states(engine)
    assert all(node.provision_state == 'available' for node in nodes.values()), {
        n: node.provision_state for n, node in nodes.items()}
    assert recap(output)['failed'] == 0
    output = play(engine, fleet, 'undeploy.yml')[1]
    assert recap(output)['changed'] == 0 and recap(output)['failed'] == 0
    assert 'not deployed (available)' in output


def test_a_server_marked_absent_is_removed_and_left_out_of_the_later_phases(engine, fleet):
    desc = servers(bad_deploy='fake')
    desc['dep-05']['state'] = 'absent'
    write_inventory(fleet['inventory'], desc, fleet['defaults'])
    rc, output = play(engine, fleet, 'provision.yml', '--limit', 'dep-04,dep-05', expect_ok=False)
    assert rc == 0, output[-3000:]
    nodes = states(engine)
    assert 'dep-05' not in nodes and nodes['dep-04'].provision_state == 'active'
    # the phase playbooks leave it out too: nothing to undeploy, nothing failed
    rc, output = play(engine, fleet, 'undeploy.yml', '--limit', 'dep-04,dep-05', expect_ok=False)
    assert rc == 0 and recap(output)['failed'] == 0, output[-3000:]
    assert 'dep-05' not in states(engine) and states(engine)['dep-04'].provision_state == 'available'


def test_a_run_rides_out_an_engine_killed_while_it_waits(engine, fleet, image_server, tmp_path):
    # Two servers whose deploy waits for an agent that never comes: Ironic fails them on its own, with
    # its call-back timeout. While provision.yml waits for them, the engine is killed (SIGKILL, the
    # whole process group) and its supervisor brings it back: the run goes on through the outage and
    # reports Ironic's own verdict, not a lost connection.
    names = ['restart-0', 'restart-1']
    inventory = write_inventory(tmp_path / 'inventory.yml', {
        name: {'nics': [{'mac': '52:54:00:d1:00:%02x' % i}]} for i, name in enumerate(names)}, dict(
            fleet['defaults'], interfaces={'deploy': 'direct', 'boot': 'fake'}, automated_clean=False))
    outcome = {}
    env = dict(engine.env, ANSIBLE_ASYNC_DIR=str(tmp_path / 'async'))
    run = threading.Thread(target=lambda: outcome.update(zip(('rc', 'output'), run_playbook(
        PLAYBOOKS / 'provision.yml', {'rackops_report_dir': str(tmp_path / 'reports'), 'rackops_progress_interval': 2},
        '-i', str(inventory), env=env, expect_ok=False))))
    run.start()
    conn = engine.sdk()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        waiting = [n for n in conn.baremetal.nodes(fields=['name', 'provision_state'])
                   if n.name in names and n.provision_state == 'wait call-back']
        if len(waiting) == len(names):
            break
        time.sleep(0.5)
    assert len(waiting) == len(names), 'the deploys never reached wait call-back'
    pid = int(engine.ctl_run('pid').stdout.strip())
    assert os.getpgid(pid) == pid  # the supervisor gives each program a process group of its own
    supervisor = int(Path('/proc/%d/stat' % pid).read_text().rsplit(')', 1)[1].split()[1])
    # the supervisor held for a few seconds, so that the outage outlasts several of the run's wait
    # cycles (1 s) whatever this machine's speed; then it sees its program killed and restarts it
    os.kill(supervisor, signal.SIGSTOP)
    try:
        os.killpg(pid, signal.SIGKILL)
        api = urllib.parse.urlsplit(engine.endpoint)
        time.sleep(5)
        assert not tcp_open(api.hostname, api.port, timeout=1)
    finally:
        os.kill(supervisor, signal.SIGCONT)
    run.join(timeout=600)
    assert not run.is_alive()
    output = outcome['output']
    assert outcome['rc'] != 0 and '2 node(s) failed' in output, output[-4000:]
    assert 'lost the Ironic API' not in output and 'Traceback' not in output, output[-4000:]
    report = json.loads((tmp_path / 'reports/provision.json').read_text())
    for node in report['nodes']:
        assert node['provision_state'] == 'deploy failed' and 'callback' in (node['last_error'] or '').lower(), node
    # the engine is back, a new process: what killed it did not stop it for good
    assert int(engine.ctl_run('pid').stdout.strip()) != pid
    remove_nodes(conn, lambda name: name in names)
