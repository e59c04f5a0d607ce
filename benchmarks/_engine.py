"""A private engine for a benchmark run: role defaults, its own paths and port.

  --engine demo    the engine `make demo` installed (clouds.yaml entry --cloud, `rackops`)
  --engine sqlite  a fresh all-in-one Ironic on SQLite (what `make demo` installs)
  --engine split   a fresh ironic-api + N ironic-conductor (json-rpc) on a private
                   PostgreSQL server (scripts/scratch-postgresql.sh)

The private ones live under /var/tmp/rackops-bench-engine and are removed afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

from _common import ANSIBLE_PLAYBOOK, REPO, ansible_env

BASE = Path('/var/tmp/rackops-bench-engine')
CLOUD = 'rackops-bench-engine'
API_PORT = 6397
PG_PORT = 15439
# Ironic's venv is the tests' one (same pinned packages): no second install
VENV = os.environ.get('RACKOPS_TEST_VENV', '/var/tmp/rackops-test/ironic-venv')


def add_arguments(parser):
    parser.add_argument('--engine', choices=['demo', 'sqlite', 'split'], default='demo',
                        help='which Ironic to measure (default: the one `make demo` installed)')
    parser.add_argument('--conductors', type=int, default=1, help='conductors of --engine split')


def _install(variables):
    proc = subprocess.run([ANSIBLE_PLAYBOOK, str(REPO / 'playbooks/install.yml'), '-e', json.dumps(variables)],
                          env=ansible_env(), capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit('installing the engine failed:\n' + (proc.stdout + proc.stderr)[-4000:])


def _raise_on_sigterm(signum, frame):
    # a stopped benchmark still removes its engine (the finally below)
    raise SystemExit('stopped by signal %d' % signum)


def _remove():
    """Removes a private engine left by an earlier run (or this one)."""
    if (BASE / 'opt/bin/rackops-ironicctl').exists():
        _install(dict(_variables(), ironic_state='absent', ironic_purge_data=True))
    subprocess.run([str(REPO / 'scripts/scratch-postgresql.sh'), 'stop', str(BASE / 'postgresql')], check=False)
    shutil.rmtree(BASE, ignore_errors=True)


def _variables():
    return {
        'ironic_install_dir': str(BASE / 'opt'), 'ironic_venv_dir': VENV, 'ironic_config_dir': str(BASE / 'etc'),
        'ironic_state_dir': str(BASE / 'state'), 'ironic_log_dir': str(BASE / 'log'),
        'ironic_http_root': str(BASE / 'httpboot'), 'ironic_tftp_root': str(BASE / 'tftpboot'),
        'ironic_image_cache_dir': str(BASE / 'image-cache'), 'ironic_api_port': API_PORT,
        'ironic_cli_link_dir': '', 'ironic_cloud_name': CLOUD, 'ironic_clouds_yaml_path': str(BASE / 'clouds.yaml'),
    }


@contextlib.contextmanager
def engine(args):
    """Yields the clouds.yaml cloud name to measure; OS_CLIENT_CONFIG_FILE points at it."""
    if args.engine == 'demo':
        yield args.cloud
        return
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    _remove()
    BASE.mkdir(parents=True, mode=0o755)
    variables = _variables()
    if args.engine == 'split':
        url = subprocess.run([str(REPO / 'scripts/scratch-postgresql.sh'), 'start', str(BASE / 'postgresql'),
                              str(PG_PORT)], capture_output=True, text=True, check=True).stdout.strip()
        variables.update(ironic_database='postgresql', ironic_database_url=url, ironic_process_layout='split',
                         ironic_conductor_count=args.conductors)
    previous = os.environ.get('OS_CLIENT_CONFIG_FILE')
    os.environ['OS_CLIENT_CONFIG_FILE'] = variables['ironic_clouds_yaml_path']
    try:
        _install(variables)
        print('engine: %s%s' % (args.engine, ', %d conductor(s)' % args.conductors if args.engine == 'split' else ''))
        yield CLOUD
    finally:
        _remove()
        if previous is None:
            os.environ.pop('OS_CLIENT_CONFIG_FILE', None)
        else:
            os.environ['OS_CLIENT_CONFIG_FILE'] = previous
