# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import json

from ansible_collections.rackops.baremetal.plugins.module_utils._fleet import NodeResult
from ansible_collections.rackops.baremetal.plugins.module_utils._progress import ProgressFile


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def fleet(*states):
    results = []
    for i, state in enumerate(states):
        result = NodeResult('n%d' % i)
        result.provision_state = state
        results.append(result)
    return results


def test_the_request_phase_is_counted_and_written_at_most_once_a_gap(tmp_path):
    path, clock = tmp_path / 'progress.json', Clock()
    results = fleet('available', 'available', 'available')
    progress = ProgressFile(str(path), results, min_gap=1.0, clock=clock)
    work = progress.counting(lambda result: None)
    work(results[0])
    assert json.loads(path.read_text())['line'] == '3 nodes: asked Ironic for 1 of them'
    work(results[1])  # within the gap: not written
    assert json.loads(path.read_text())['requested'] == 1
    work(results[2])  # the last one always is
    data = json.loads(path.read_text())
    assert (data['phase'], data['requested'], data['total']) == ('requests', 3, 3)


def test_a_failed_request_is_counted_too(tmp_path):
    path = tmp_path / 'progress.json'
    results = fleet('available')
    progress = ProgressFile(str(path), results)

    def refused(result):
        raise RuntimeError('refused')
    try:
        progress.counting(refused)(results[0])
    except RuntimeError:
        pass
    assert json.loads(path.read_text())['requested'] == 1


def test_a_wait_cycle_counts_states_and_failed_nodes(tmp_path):
    path = tmp_path / 'progress.json'
    results = fleet('active', 'deploying', 'active', 'deploy failed')
    results[3].fail('ended in deploy failed instead of active')
    progress = ProgressFile(str(path), results)
    progress.cycle()
    data = json.loads(path.read_text())
    assert data['states'] == {'active': 2, 'deploying': 1, 'failed': 1}
    assert data['line'] == '4 nodes: active 2, deploying 1, failed 1'
    progress.remove()
    assert list(tmp_path.iterdir()) == []


def test_without_a_path_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    progress = ProgressFile(None, fleet('active'))
    progress.counting(lambda result: None)(progress.results[0])
    progress.cycle()
    progress.remove()
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_place_does_not_fail_the_task(tmp_path):
    progress = ProgressFile(str(tmp_path / 'missing-dir' / 'progress.json'), fleet('active'))
    progress.cycle()
    progress.remove()
