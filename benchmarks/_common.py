"""What the benchmark scripts share: paths, the baseline venv, running Ansible, timing."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The `ansible` package (community collections, openstack.cloud) for the
# baselines; ansible 14 needs ansible-core >= 2.20, i.e. Python >= 3.12.
BASELINE_VENV = REPO / '.build/bench-baseline-venv'
BASELINE_PACKAGES = ('ansible==14.5.0', 'openstacksdk', 'pyghmi')
# our own runs use the checkout's venv (make venv), whatever PATH says
ANSIBLE_PLAYBOOK = str(REPO / '.venv/bin/ansible-playbook')


def timed(label, fn):
    start = time.perf_counter()
    value = fn()
    seconds = time.perf_counter() - start
    print('%-58s %8.1f s' % (label, seconds), flush=True)
    return seconds, value


def ansible_env(extra=None):
    """Environment for our own ansible-playbook runs (the checkout's collection)."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / '.build/collections'),
               ANSIBLE_CONFIG=str(REPO / 'ansible.cfg'), ANSIBLE_NOCOLOR='1')
    env.update(extra or {})
    return env


def failures(output, limit=5, context=20):
    """The failed hosts' results of an ansible-playbook run (its recap alone says nothing), and the recap's count.

    A result in the YAML format is the "fatal:" line and the indented lines under it."""
    lines = output.splitlines()
    found = []
    for index, line in enumerate(lines):
        if line.startswith(('fatal:', 'failed:')) and len(found) < limit:
            block = [line[:600]]
            for more in lines[index + 1:index + 1 + context]:
                if not more.startswith((' ', '\t')):
                    break
                block.append(more[:600])
            found.append('\n'.join(block))
    failed = sum(1 for line in output.split('PLAY RECAP', 1)[-1].splitlines() if 'failed=0' not in line and 'failed=' in line)
    return '%d host(s) failed; the first %d:\n%s' % (failed, len(found), '\n'.join(found))


def changed_total(output):
    recap = output.split('PLAY RECAP', 1)[-1]
    return sum(int(part.split('=')[1]) for part in recap.split() if part.startswith('changed='))


def baseline_venv():
    """The baseline's Python, in .build/bench-baseline-venv (built on first use)."""
    python = BASELINE_VENV / 'bin/python'
    if not python.exists():
        candidates = sorted(str(p) for p in Path.home().glob('.pyenv/versions/3.1[23].*/bin/python3'))
        candidates += [shutil.which(name) for name in ('python3.13', 'python3.12') if shutil.which(name)]
        for found in candidates:
            # a pyenv shim for a version that is not selected exits non-zero
            if subprocess.run([found, '-c', 'pass'], capture_output=True, check=False).returncode == 0:
                subprocess.run([found, '-m', 'venv', str(BASELINE_VENV)], check=True)
                break
        else:
            raise SystemExit('the baselines need python3.12 or python3.13 (for the ansible 14 package)')
    subprocess.run([str(BASELINE_VENV / 'bin/pip'), 'install', '-q', '--disable-pip-version-check',
                    *BASELINE_PACKAGES], check=True)
    return python
