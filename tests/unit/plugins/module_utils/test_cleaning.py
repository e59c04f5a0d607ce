"""Manual clean steps: checked before any write, fingerprinted, and read back from Ironic's errors."""

from __future__ import annotations

from ansible_collections.rackops.baremetal.plugins.module_utils._cleaning import (
    MARKER_KEY, failed_step, marker, ran_before, step_names, step_problems, steps_digest)

ERASE = {'interface': 'deploy', 'step': 'erase_devices_metadata'}
BIOS = {'interface': 'bios', 'step': 'apply_configuration', 'args': {'settings': [{'name': 'a', 'value': '1'}]}}


def test_good_steps_have_no_problems():
    assert step_problems([ERASE, BIOS, dict(ERASE, args=None)]) == []


def test_every_problem_is_named_by_its_index():
    problems = step_problems([ERASE, {'interface': 'disk', 'step': 'wipe'}, {'interface': 'raid'},
                              dict(BIOS, args=['x']), dict(ERASE, priority=5), 'erase'])
    assert problems == [
        "steps[1]: interface must be one of bios, deploy, firmware, management, power, raid, vendor, not 'disk'",
        'steps[2]: step must be the name of a clean step, e.g. erase_devices_metadata',
        "steps[3]: args must be a dict of the step's arguments",
        'steps[4]: unknown key(s) priority (allowed: interface, step, args)',
        "steps[5]: must be a dict with interface, step and args, not 'erase'",
    ]
    assert step_problems([]) == step_problems(None) == ['steps must be a non-empty list of {interface, step, args}']


def test_digest_ignores_key_order_and_missing_args_but_not_step_order():
    assert steps_digest([ERASE, BIOS]) == steps_digest([dict(ERASE, args={}), dict(reversed(list(BIOS.items())))])
    assert steps_digest([ERASE, BIOS]) != steps_digest([BIOS, ERASE])
    other = dict(BIOS, args={'settings': [{'name': 'a', 'value': '2'}]})
    assert steps_digest([BIOS]) != steps_digest([other])


def test_the_record_says_which_steps_ran_and_when():
    record = marker([ERASE, BIOS], '2026-11-26T06:00:00Z')
    assert record['steps'] == step_names([ERASE, BIOS]) == ['deploy.erase_devices_metadata', 'bios.apply_configuration']
    extra = {MARKER_KEY: record, 'owner': 'ops'}
    assert ran_before(extra, [ERASE, BIOS]) == '2026-11-26T06:00:00Z'
    assert ran_before(extra, [ERASE]) is None
    assert ran_before({}, [ERASE]) is None and ran_before(None, [ERASE]) is None
    assert ran_before({MARKER_KEY: 'garbage'}, [ERASE]) is None


def test_failed_step_is_read_from_ironics_messages():
    unknown = ("Cannot clean node 3d8b: node does not support this clean step: "
               "{'interface': 'bios', 'step': 'no_such_step', 'args': {}}")
    runtime = ("Node 3d8b failed step {'interface': 'bios', 'step': 'apply_configuration', 'args': "
               "{'settings': 'junk'}, 'abortable': False, 'priority': 0}: string indices must be integers")
    assert failed_step(unknown) == 'bios.no_such_step'
    assert failed_step(runtime) == 'bios.apply_configuration'
    assert failed_step('Timeout reached while cleaning the node') is None
    assert failed_step(None) is None
