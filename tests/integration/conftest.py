"""A real Ironic, installed by the collection's own `ironic` role, per test run.

Everything lives in a temporary directory on loopback: its own config, state,
logs, clouds.yaml and a free port. Only the virtual environment is shared
(RACKOPS_TEST_VENV) so a second run does not reinstall Ironic.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from base64 import b64encode
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
VENV = os.environ.get('RACKOPS_TEST_VENV', '/var/tmp/rackops-test/ironic-venv')
# Built images survive the test run: an unchanged rebuild is skipped (the images role's cache).
IMAGES = Path(os.environ.get('RACKOPS_TEST_IMAGES', '/var/tmp/rackops-test/images'))


def install_database_driver(backend: str):
    """Into the Ironic virtual environment the site tests copy into their hosts, the database driver the ironic
    role asks for (the hosts have no way to PyPI, so it must be there already)."""
    drivers = yaml.safe_load((ROOT / 'roles/ironic/vars/main.yml').read_text())['_ironic_database_drivers']
    subprocess.run([VENV + '/bin/pip', 'install', '-q', *drivers[backend]], check=True, capture_output=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def recap_by_host(output: str) -> dict:
    """The PLAY RECAP counters of each host: {host: {counter: value}}."""
    assert 'PLAY RECAP' in output, 'no PLAY RECAP in:\n' + output[-3000:]
    hosts: dict = {}
    for line in output.split('PLAY RECAP', 1)[1].splitlines():
        match = re.match(r'^(\S+)\s+:\s+ok=', line)
        if match:
            hosts[match.group(1)] = {key: int(value) for key, value in re.findall(r'(\w+)=(\d+)', line)}
    return hosts


def recap(output: str) -> dict:
    """The PLAY RECAP counters, summed over all hosts."""
    totals: dict = {}
    for counts in recap_by_host(output).values():
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
    return totals


def run_playbook(playbook, extra_vars=None, *args, env=None, expect_ok=True):
    cmd = ['ansible-playbook', str(playbook)]
    if extra_vars:
        cmd += ['-e', json.dumps(extra_vars)]
    cmd += list(args)
    full_env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0', **(env or {}))
    proc = subprocess.run(cmd, cwd=ROOT, env=full_env, capture_output=True, text=True, check=False)
    output = proc.stdout + proc.stderr
    if expect_ok:
        assert proc.returncode == 0, output[-6000:]
    return proc.returncode, output


@dataclass
class Engine:
    base: Path
    port: int
    vars: dict

    @property
    def endpoint(self) -> str:
        return 'http://127.0.0.1:%d' % self.port

    @property
    def clouds_yaml(self) -> Path:
        return Path(self.vars['ironic_clouds_yaml_path'])

    @property
    def ctl(self) -> str:
        return self.vars['ironic_install_dir'] + '/bin/rackops-ironicctl'

    @property
    def password(self) -> str:
        return (Path(self.vars['ironic_config_dir']) / 'api-password').read_text().strip()

    @property
    def env(self) -> dict:
        return {'OS_CLIENT_CONFIG_FILE': str(self.clouds_yaml)}

    def install(self, *args, **overrides):
        """Run playbooks/install.yml with this engine's variables; its output."""
        return run_playbook(ROOT / 'playbooks/install.yml', dict(self.vars, **overrides), *args)[1]

    def request(self, path, password=None, user='admin', headers=None):
        """(status, body) of a GET; password=None sends no credentials."""
        req = urllib.request.Request(self.endpoint + path, headers=headers or {})
        if password is not None:
            token = b64encode(('%s:%s' % (user, password)).encode()).decode()
            req.add_header('Authorization', 'Basic ' + token)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def wait_api(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.request('/v1/nodes', self.password)[0] == 200:
                    return time.monotonic()
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError('Ironic API did not answer within %s s' % timeout)

    def remove(self):
        """Stop and remove this engine (its processes, files and data), whatever state it is in."""
        run_playbook(ROOT / 'playbooks/install.yml',
                     dict(self.vars, ironic_state='absent', ironic_purge_data=True), expect_ok=False)

    def ctl_run(self, *args):
        return subprocess.run([self.ctl, *args], capture_output=True, text=True, check=False)

    def sdk(self):
        import openstack  # the controller's openstacksdk, as the modules use it
        os.environ['OS_CLIENT_CONFIG_FILE'] = str(self.clouds_yaml)
        return openstack.connect(cloud=self.vars['ironic_cloud_name'])


# The session engine's HTTP boot server, as a rack's machines would reach it (no test boots a machine
# from the session engine: test_e2e's machines boot from the engine of its own systemd host).
RACK_ADDRESS = '10.96.0.1'
BOOT_HTTP_PORT = 18950 + os.getpid() % 40


def engine_vars(base: Path, port: int) -> dict:
    return {
        'ironic_install_dir': str(base / 'opt'),
        'ironic_venv_dir': VENV,
        'ironic_config_dir': str(base / 'etc'),
        'ironic_state_dir': str(base / 'state'),
        'ironic_http_root': str(base / 'httpboot'),
        'ironic_image_cache_dir': str(base / 'image-cache'),
        'ironic_tftp_root': str(base / 'tftpboot'),
        'ironic_log_dir': str(base / 'log'),
        'ironic_http_url': 'http://%s:%d' % (RACK_ADDRESS, BOOT_HTTP_PORT),
        'ironic_api_port': port,
        'ironic_cli_link_dir': '',
        'ironic_clouds_yaml_path': str(base / 'clouds.yaml'),
        'ironic_cloud_name': 'rackops',
        # cost 4 keeps the first authenticated request fast in tests
        'ironic_htpasswd_bcrypt_rounds': 4,
        # machines no node knows enroll themselves (test_inspect plays their agent); they would boot this
        'ironic_discovery': True,
        'ironic_discovery_kernel': 'http://%s:%d/images/ipa.kernel' % (RACK_ADDRESS, BOOT_HTTP_PORT),
        'ironic_discovery_ramdisk': 'http://%s:%d/images/ipa.initramfs' % (RACK_ADDRESS, BOOT_HTTP_PORT),
        'ironic_config_overrides': {
            # fake power actions hold the node's lock for a moment: lets tests meet HTTP 409
            'fake': {'power_delay': 2},
            # an unreachable BMC fails in seconds, not a minute
            'ipmi': {'command_retry_timeout': 6, 'min_command_interval': 1},
            # a deploy whose agent never calls back fails in seconds, with Ironic's own last_error
            'conductor': {'deploy_callback_timeout': 10, 'check_provision_state_interval': 2},
            # agent inspection with fake boot: the test plays the agent (POST /v1/continue_inspection)
            'inspector': {'require_managed_boot': False},
        },
    }


class WebConsole:
    """A browser's side of one shellinabox terminal session, as its page's script speaks to shellinaboxd: a POST
    opens the session (for the page's own URL), each further POST answers with the terminal's output since the
    one before (it waits for some), and keys go as hex."""

    def __init__(self, page_url: str, timeout: float = 30):
        self.base = page_url.split('?', 1)[0]
        self.timeout = timeout
        reply = self._post(self.base, {'width': 80, 'height': 24, 'rooturl': page_url})
        self.session = reply['session']
        self.seen = reply.get('data', '')

    def _post(self, url: str, fields: dict) -> dict:
        request = urllib.request.Request(url, data=urllib.parse.urlencode(fields).encode(), headers={
            'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8'})
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            body = response.read().decode('utf-8', 'replace')
        # (a POST of keys is answered with a page of no interest)
        return json.loads(body) if body.lstrip().startswith('{') else {}

    def send(self, text: str):
        self._post(self.base + '?', {'width': 80, 'height': 24, 'session': self.session,
                                     'keys': ''.join('%02X' % ord(char) for char in text)})

    def read_until(self, wanted: str, seconds: float = 60, poke: str | None = None, since: int = 0) -> str:
        """Everything the terminal showed, once it shows wanted (after its first ``since`` characters) or after
        seconds; poke is typed on each poll."""
        deadline = time.monotonic() + seconds
        while wanted not in self.seen[since:] and time.monotonic() < deadline:
            if poke:
                self.send(poke)
            try:
                self.seen += self._post(self.base, {'width': 80, 'height': 24, 'session': self.session}).get('data', '')
            except urllib.error.HTTPError as error:
                if error.code == 400:  # the session ended (its command exited): nothing more to read
                    break
                raise
        return self.seen


def remove_nodes(conn, chosen):
    """Remove the nodes a test made (chosen(name) says which), whatever state they are in: maintenance
    first (Ironic deletes a deployed or failed node only in maintenance)."""
    for node in conn.baremetal.nodes(fields=['uuid', 'name']):
        if node.name and chosen(node.name):
            conn.baremetal.set_node_maintenance(node.id)
            conn.baremetal.delete_node(node.id)


def make_base(prefix: str) -> Path:
    base = Path(tempfile.mkdtemp(prefix=prefix))
    base.chmod(0o755)  # the `ironic` account must reach its directories
    return base


class Prebuild:
    """What the end-to-end run needs and a fresh machine takes minutes to build - the systemd
    machines' root file system (debootstrap) and the images (diskimage-builder: the deploy ramdisk,
    the Debian disk) - built in a thread from the session's start, at low priority, while the tests
    before it run (all the others: see pytest_collection_modifyitems). Both land in their caches; the
    end-to-end run finds them there. On a machine where they are cached it takes seconds."""

    def __init__(self):
        self.error = None
        self.seconds = None
        self.output = ''
        self.thread = threading.Thread(target=self._run, name='e2e-prebuild', daemon=True)

    def _run(self):
        started = time.monotonic()
        staging = make_base('rackops-prebuild-')
        try:
            from machines import root_filesystem  # pylint: disable=import-outside-toplevel
            root_filesystem(nice=True)
            proc = subprocess.run(
                ['nice', '-n', '10', 'ansible-playbook', str(ROOT / 'tests/integration/playbooks/publish_images.yml'),
                 '-e', json.dumps({'images_publish_dir': str(staging / 'images'),
                                   'images_publish_url': 'http://127.0.0.1/images',
                                   'images_install_dir': str(IMAGES / 'builder'), 'images_work_dir': str(IMAGES / 'work')})],
                cwd=ROOT, env=dict(os.environ, ANSIBLE_NOCOLOR='1'), capture_output=True, text=True, check=False)
            self.output = proc.stdout + proc.stderr
            if proc.returncode != 0:
                raise RuntimeError('building the images failed:\n' + self.output[-6000:])
        except Exception as exc:  # pylint: disable=broad-except  # the end-to-end run reports it
            self.error = exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            self.seconds = time.monotonic() - started

    def wait(self):
        """Until both are built; the build's failure, if any, is the caller's."""
        self.thread.join()
        if self.error:
            raise self.error
        return self.seconds


def pytest_collection_modifyitems(items):
    """The end-to-end tests last: their images and root file system (Prebuild) are built beside every
    other test, so a cold build (minutes more on a slow machine or mirror) never leaves them waiting."""
    items.sort(key=lambda item: item.path.name == 'test_e2e.py')  # (a stable sort: the rest keep their order)


@pytest.fixture(scope='session', autouse=True)
def e2e_prebuild(request):
    """Started with the session when the end-to-end tests are among those collected."""
    if not any(item.path.name == 'test_e2e.py' for item in request.session.items):
        yield None
        return
    prebuild = Prebuild()
    prebuild.thread.start()
    yield prebuild
    prebuild.thread.join()


@pytest.fixture(scope='session')
def engine():
    base = make_base('rackops-it-')
    port = free_port()
    eng = Engine(base=base, port=port, vars=engine_vars(base, port))
    try:
        eng.first_install_output = eng.install()
        yield eng
    finally:
        eng.remove()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def scratch_base():
    """A throw-away directory tree for installs that are expected to fail."""
    base = make_base('rackops-bad-')
    yield base
    ctl = base / 'opt/bin/rackops-ironicctl'
    if ctl.exists():  # a test that failed to fail: do not leave anything running
        subprocess.run([str(ctl), 'shutdown'], check=False, capture_output=True)
    shutil.rmtree(base, ignore_errors=True)


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text())


def run_task(env, workdir: Path, module: str, params: dict, *args):
    """Run one module task on localhost; (its registered result, the run's output).

    The task may fail (its result says how); check mode never skips saving it.
    """
    out = workdir / 'task-result.json'
    playbook = workdir / 'task.yml'
    playbook.write_text(json.dumps([{'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        {module: params, 'register': 'out', 'ignore_errors': True},
        {'ansible.builtin.copy': {'content': '{{ out | to_json }}', 'dest': str(out), 'mode': '0600'},
         'changed_when': False, 'check_mode': False}]}]))
    output = run_playbook(playbook, None, *args, env=env)[1]
    return json.loads(out.read_text()), output


def write_inventory(path: Path, servers: dict, defaults: dict | None = None) -> Path:
    """An inventory with group `baremetal`: {host: its `baremetal` variable}."""
    group = {'hosts': {host: ({'baremetal': desc} if desc is not None else {}) for host, desc in servers.items()}}
    if defaults:
        group['vars'] = {'baremetal_defaults': defaults}
    path.write_text(yaml.safe_dump({'all': {'children': {'baremetal': group}}}, sort_keys=False))
    return path


def documented_examples(plugin: str) -> str:
    """A plugin's EXAMPLES text (what ansible-doc prints), read from its source; plugin: e.g. 'modules/node'."""
    tree = ast.parse((ROOT / 'plugins' / (plugin + '.py')).read_text())
    (text,) = [node.value.value for node in tree.body
               if isinstance(node, ast.Assign) and getattr(node.targets[0], 'id', '') == 'EXAMPLES']
    return text
