"""The collection as a package: built with ansible-galaxy, installed into a fresh collections path, and
used from there - its playbooks by FQCN against fake nodes of a real Ironic, its documentation with
ansible-doc - with nothing of the checkout on Ansible's paths. Reports land where the run starts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml
from conftest import ROOT, recap, write_inventory

PREFIX = 'pkg-'
COUNT = 2


def installed_env(collections, engine):
    """The environment of an operator who installed the package: no checkout, no project ansible.cfg."""
    config = collections.parent / 'ansible.cfg'
    config.write_text('[defaults]\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith('ANSIBLE_')}
    env.update(engine.env, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_CONFIG=str(config),
               ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0')
    return env


@pytest.fixture(scope='module')
def package(engine, tmp_path_factory):
    work = tmp_path_factory.mktemp('package')
    built = subprocess.run(['ansible-galaxy', 'collection', 'build', '--output-path', str(work), str(ROOT)],
                           capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stdout + built.stderr
    (tarball,) = work.glob('rackops-baremetal-*.tar.gz')
    collections = work / 'collections'
    env = installed_env(collections, engine)
    installed = subprocess.run(['ansible-galaxy', 'collection', 'install', str(tarball), '-p', str(collections)],
                               capture_output=True, text=True, check=False, env=env, cwd=work)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    home = collections / 'ansible_collections/rackops/baremetal'
    operator = work / 'operator'  # where the operator runs ansible-playbook
    operator.mkdir()
    servers = {'%s%d' % (PREFIX, i): {'nics': [{'mac': '52:54:00:24:00:%02x' % i}]} for i in range(COUNT)}
    inventory = write_inventory(operator / 'rack.yml', servers, {
        'bmc': {'driver': 'fake-hardware'}, 'interfaces': {'deploy': 'fake', 'boot': 'fake'},
        'image': {'source': 'http://127.0.0.1:9/disk.img', 'checksum': 'sha256:' + '0' * 64}})
    yield {'tarball': tarball, 'home': home, 'env': env, 'operator': operator, 'inventory': inventory}
    conn = engine.sdk()
    for node in conn.baremetal.nodes(fields=['uuid', 'name']):
        if node.name and node.name.startswith(PREFIX):
            conn.baremetal.set_node_maintenance(node.id)
            conn.baremetal.delete_node(node.id)


def play(package, name, *args):
    proc = subprocess.run(['ansible-playbook', 'rackops.baremetal.' + name, '-i', str(package['inventory']), *args],
                          cwd=package['operator'], env=package['env'], capture_output=True, text=True, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    return output


def test_the_package_holds_what_it_needs_and_nothing_of_the_checkouts(package):
    names = subprocess.run(['tar', 'tzf', str(package['tarball'])], capture_output=True, text=True,
                           check=True).stdout.split()
    assert 'MANIFEST.json' in names and 'playbooks/provision.yml' in names and 'meta/runtime.yml' in names
    leaked = [n for n in names if n.split('/')[0] in ('.venv', '.build', '.hypothesis', '.pytest_cache', '.ci')
              or 'rackops-reports' in n or '__pycache__' in n]
    assert not leaked, leaked
    manifest = json.loads(subprocess.run(['tar', 'xzOf', str(package['tarball']), 'MANIFEST.json'],
                                         capture_output=True, text=True, check=True).stdout)['collection_info']
    for key in ('repository', 'documentation', 'issues', 'homepage'):
        assert manifest[key].startswith('https://'), key
    assert manifest['tags'] and manifest['license']


def test_every_plugin_and_role_is_documented_from_the_package(package):
    home = package['home']
    kinds = {'module': sorted(p.stem for p in (home / 'plugins/modules').glob('*.py')),
             'filter': sorted(p.stem for p in (home / 'plugins/filter').glob('*.py')),
             'inventory': sorted(p.stem for p in (home / 'plugins/inventory').glob('*.py')),
             'role': sorted(p.name for p in (home / 'roles').iterdir())}
    assert {'deploy', 'node'} <= set(kinds['module']) and 'ironic' in kinds['role']
    for kind, names in kinds.items():
        fqcns = ['rackops.baremetal.' + name for name in names]
        proc = subprocess.run(['ansible-doc', '-t', kind, '--json', *fqcns], cwd=package['operator'],
                              env=package['env'], capture_output=True, text=True, check=False)
        assert proc.returncode == 0 and 'WARNING' not in proc.stderr, proc.stderr[-3000:]
        docs = json.loads(proc.stdout)
        assert sorted(docs) == fqcns, (kind, sorted(docs))
        # the docs come from the installed package, not the checkout
        for fqcn, doc in docs.items():
            if kind != 'role':
                assert doc['doc']['filename'].startswith(str(home)), (fqcn, doc['doc']['filename'])


def test_the_playbooks_run_by_fqcn_from_the_package_and_report_where_the_run_started(package):
    before = set(package['home'].rglob('*'))
    output = play(package, 'validate')
    assert 'planned changes' in output
    play(package, 'enroll')
    output = play(package, 'provision')
    reports = package['operator'] / 'rackops-reports'
    report = json.loads((reports / 'provision.json').read_text())
    assert sorted(n['name'] for n in report['nodes']) == ['%s%d' % (PREFIX, i) for i in range(COUNT)]
    assert all(n['provision_state'] == 'active' and not n['failed'] for n in report['nodes']), report['nodes']
    assert str(reports / 'provision.json') in output  # the run says where its reports are
    assert recap(play(package, 'provision'))['changed'] == 0
    play(package, 'undeploy')
    assert {n['provision_state'] for n in json.loads((reports / 'undeploy.json').read_text())['nodes']} == {'available'}
    # nothing was written into the installed collection
    assert set(package['home'].rglob('*')) == before


def test_the_execution_environment_context_brings_the_package_and_its_requirements(package, tmp_path):
    """ansible-builder create, as `make ee` runs it, on the package; then the image build's own steps that need no
    container: its galaxy install from the context and its introspection of what got installed."""
    shutil.copy(ROOT / 'execution-environment.yml', tmp_path)
    (tmp_path / '.build/ee').mkdir(parents=True)
    shutil.copy(package['tarball'], tmp_path / '.build/ee/rackops-baremetal.tar.gz')
    created = subprocess.run(['ansible-builder', 'create', '-f', str(tmp_path / 'execution-environment.yml'),
                              '-c', str(tmp_path / 'context')], capture_output=True, text=True, check=False)
    assert created.returncode == 0, created.stdout + created.stderr
    build = tmp_path / 'context/_build'
    assert yaml.safe_load((build / 'requirements.yml').read_text()) == {
        'collections': [{'name': 'collections/rackops-baremetal.tar.gz', 'type': 'file'}]}
    assert (build / 'collections/rackops-baremetal.tar.gz').read_bytes() == package['tarball'].read_bytes()
    containerfile = (tmp_path / 'context/Dockerfile').read_text()
    assert 'quay.io/centos/centos:stream9' in containerfile and 'ansible-core>=2.19,<2.21' in containerfile

    # the galaxy stage: the collection from the context's requirements.yml, in the build's working directory,
    # into collections of its own (with no other copy of the collection in sight)
    collections = tmp_path / 'ee-collections'
    installed = subprocess.run(['ansible-galaxy', 'collection', 'install', '-r', 'requirements.yml',
                                '--collections-path', str(collections)], cwd=build, capture_output=True, text=True,
                               check=False, env=dict(package['env'], ANSIBLE_COLLECTIONS_PATH=str(collections)))
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert (collections / 'ansible_collections/rackops/baremetal/meta/execution-environment.yml').is_file()
    # the builder stage: what the installed collection declares (meta/execution-environment.yml)
    pip, bindep = tmp_path / 'ee-requirements.txt', tmp_path / 'ee-bindep.txt'
    introspected = subprocess.run(
        [sys.executable, str(build / 'scripts/introspect.py'), 'introspect', '--write-pip', str(pip),
         '--write-bindep', str(bindep), str(collections)], capture_output=True, text=True, check=False)
    assert introspected.returncode == 0, introspected.stdout + introspected.stderr
    declared = [line for line in (ROOT / 'requirements.txt').read_text().splitlines()
                if line and not line.startswith('#') and not line.startswith('ansible-core')]  # the image's own
    assert pip.read_text().splitlines() == ['%s  # from collection rackops.baremetal' % line for line in declared]
    # config drives are packed on the controller: the image's package manager (rpm) gets xorriso
    assert 'xorriso [platform:rpm]  # from collection rackops.baremetal' in bindep.read_text().splitlines()


def test_ansible_runner_runs_provision_the_way_awx_does(package, engine, tmp_path):
    """A private data directory as AWX writes one for a job (project, inventory, extra variables, environment)
    and ansible-runner; the job's status and events are read from its artifacts."""
    private = tmp_path / 'job'
    (private / 'project').mkdir(parents=True)
    (private / 'inventory').mkdir()
    (private / 'env').mkdir()
    # AWX runs playbooks of a project: the project's playbook imports the collection's
    (private / 'project/provision.yml').write_text(
        '---\n- name: Provision the rack\n  ansible.builtin.import_playbook: rackops.baremetal.provision\n')
    shutil.copy(package['inventory'], private / 'inventory/hosts.yml')
    (private / 'env/extravars').write_text(json.dumps({'rackops_cloud': 'rackops', 'rackops_timeout': 300}))
    (private / 'env/envvars').write_text(json.dumps({
        k: package['env'][k] for k in ('ANSIBLE_COLLECTIONS_PATH', 'ANSIBLE_CONFIG', 'OS_CLIENT_CONFIG_FILE')}))
    env = {k: v for k, v in package['env'].items() if k not in ('ANSIBLE_COLLECTIONS_PATH', 'ANSIBLE_CONFIG')}
    proc = subprocess.run(['ansible-runner', 'run', str(private), '-p', 'provision.yml', '--ident', 'job1'],
                          capture_output=True, text=True, check=False, env=env, cwd=tmp_path)
    artifacts = private / 'artifacts/job1'
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert (artifacts / 'status').read_text() == 'successful'
    assert (artifacts / 'rc').read_text() == '0'
    events = [json.loads(path.read_text()) for path in sorted((artifacts / 'job_events').glob('*.json'))]
    kinds = {event['event'] for event in events}
    assert {'playbook_on_start', 'runner_on_ok', 'playbook_on_stats'} <= kinds
    (stats,) = [e['event_data'] for e in events if e['event'] == 'playbook_on_stats']
    assert stats['ok'] and not stats['failures'] and not stats['dark'], stats
    # the per-node table, as AWX shows the job's output: event by event
    table = [e['stdout'] for e in events if e['event'] == 'runner_on_ok' and '%s0' % PREFIX in e.get('stdout', '')
             and 'active' in e.get('stdout', '')]
    assert table, [e.get('stdout', '')[-300:] for e in events[-8:]]
    # the reports are the job's: in the project directory the job ran in, as AWX keeps them per job
    report = json.loads((private / 'project/rackops-reports/provision.json').read_text())
    assert sorted(n['name'] for n in report['nodes']) == ['%s%d' % (PREFIX, i) for i in range(COUNT)]
