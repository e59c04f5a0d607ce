# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fleet task's progress, written to a file while it runs.

Private to rackops.baremetal (the leading underscore).

A module's result reaches the play only when the module ends. provision.yml
runs the deploy async and prints this file's line every cycle instead of
sitting silent for many minutes. Reading a file costs the controller next to
nothing; asking Ironic instead (a node_info run and a list of the whole
fleet per cycle) cost about a second of CPU on the controller and some on
Ironic's API per cycle, on the 2 cores they share with the deploy itself.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time


class ProgressFile:
    """Where the nodes of ``results`` are: one JSON object, rewritten whole.

    ``{"phase": "requests"|"waiting", "line": "...", "states": {...},
    "requested": k, "total": n}``, removed when the task ends. ``path`` None:
    does nothing.
    """

    def __init__(self, path, results, min_gap=1.0, clock=time.monotonic):
        self.path = path
        self.results = results
        self.min_gap = min_gap
        self.clock = clock
        self.requested = 0
        self._lock = threading.Lock()
        self._written_at = None

    def counting(self, work):
        """``work`` (for run_phase), counting each node it is done with."""
        def counted(result):
            try:
                return work(result)
            finally:
                self.request_done()
        return counted

    def request_done(self):
        """One more node handled by the request phase (called from the pool's threads)."""
        with self._lock:
            self.requested += 1
            last = self.requested == len(self.results)
            if last or self._written_at is None or self.clock() - self._written_at >= self.min_gap:
                self._write('requests', '%d nodes: asked Ironic for %d of them' % (len(self.results), self.requested))

    def cycle(self, _waiting=None):
        """After a wait cycle (``wait_for``'s ``progress``): how many nodes are in each state."""
        with self._lock:
            states = self.states()
            self._write('waiting', '%d nodes: %s' % (len(self.results), ', '.join(
                '%s %d' % kv for kv in sorted(states.items()))), states)

    def states(self):
        """{provision state: node count}; nodes failed by this task count as 'failed'."""
        counts = {}
        for result in self.results:
            state = 'failed' if result.failed else result.provision_state or 'unknown'
            counts[state] = counts.get(state, 0) + 1
        return counts

    def remove(self):
        """The task ends: its result says the rest."""
        if self.path:
            try:
                os.unlink(self.path)
            except OSError:
                pass

    def _write(self, phase, line, states=None):
        if not self.path:
            return
        self._written_at = self.clock()
        data = {'phase': phase, 'line': line, 'states': states or self.states(), 'requested': self.requested,
                'total': len(self.results)}
        # whole or not at all: the play may read it at any moment
        tmp = None
        try:
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(self.path)), prefix='.progress-')
            with os.fdopen(fd, 'w') as handle:
                json.dump(data, handle)
            os.replace(tmp, self.path)
        except OSError:
            # progress is a courtesy: it must never fail the deploy
            if tmp is not None and os.path.exists(tmp):
                os.unlink(tmp)
