# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manual clean steps: checking them before any write, remembering them, reading failures.

Private to rackops.baremetal (the leading underscore). Pure logic: no API calls.
"""

from __future__ import annotations

import hashlib
import json
import re

# The interfaces Ironic's API accepts in clean_steps (its JSON schema's enum).
CLEAN_INTERFACES = ('bios', 'deploy', 'firmware', 'management', 'power', 'raid', 'vendor')
STEP_KEYS = ('interface', 'step', 'args')

# Where a node keeps the record of the manual cleaning this collection ran:
# a key of its `extra`, which the node module merges key by key (never drops).
MARKER_KEY = 'rackops_clean'

# Ironic names the step it failed on in last_error as a Python dict repr:
# "failed step {'interface': 'bios', 'step': 'apply_configuration', ...}" or
# "does not support this clean step: {'interface': 'bios', 'step': 'x'}".
_STEP_IN_ERROR = re.compile(r"'interface': '([^']+)', 'step': '([^']+)'")


def step_problems(steps):
    """Every problem with a list of manual clean steps, as messages naming the step."""
    if not isinstance(steps, list) or not steps:
        return ['steps must be a non-empty list of {interface, step, args}']
    problems = []
    for index, step in enumerate(steps):
        where = 'steps[%d]' % index
        if not isinstance(step, dict):
            problems.append('%s: must be a dict with interface, step and args, not %r' % (where, step))
            continue
        unknown = sorted(set(step) - set(STEP_KEYS))
        if unknown:
            problems.append('%s: unknown key(s) %s (allowed: %s)' % (where, ', '.join(unknown), ', '.join(STEP_KEYS)))
        if step.get('interface') not in CLEAN_INTERFACES:
            problems.append('%s: interface must be one of %s, not %r'
                            % (where, ', '.join(CLEAN_INTERFACES), step.get('interface')))
        if not isinstance(step.get('step'), str) or not step.get('step'):
            problems.append('%s: step must be the name of a clean step, e.g. erase_devices_metadata' % where)
        if step.get('args') is not None and not isinstance(step['args'], dict):
            problems.append('%s: args must be a dict of the step\'s arguments' % where)
    return problems


def step_names(steps):
    """['bios.apply_configuration', ...]: how steps are named in messages."""
    return ['%s.%s' % (s['interface'], s['step']) for s in steps]


def steps_digest(steps):
    """A stable fingerprint of a step list (order matters, key order does not)."""
    canonical = json.dumps([dict(s, args=s.get('args') or {}) for s in steps], sort_keys=True, separators=(',', ':'))
    return hashlib.sha256(canonical.encode('utf-8')).hexdigest()[:16]


def marker(steps, finished_at):
    """What the node's extra records after these steps ran."""
    return {'steps': step_names(steps), 'digest': steps_digest(steps), 'finished_at': finished_at}


def ran_before(extra, steps):
    """The time these very steps finished on the node, if its extra records it."""
    record = (extra or {}).get(MARKER_KEY)
    if isinstance(record, dict) and record.get('digest') == steps_digest(steps):
        return record.get('finished_at') or 'unknown time'
    return None


def failed_step(last_error):
    """'interface.step' named in Ironic's last_error, or None."""
    match = _STEP_IN_ERROR.search(last_error or '')
    return '%s.%s' % match.groups() if match else None
