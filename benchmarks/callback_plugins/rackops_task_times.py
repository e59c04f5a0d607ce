"""Callback of the benchmarks (not part of the collection): each task's wall time and action, written as JSON
to the file $RACKOPS_BENCH_TASK_TIMES names when the playbook ends. It tells the fleet modules' own time from
the play's work around them (templating every host's variables, the report)."""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = '''
name: rackops_task_times
type: aggregate
short_description: each task's wall time, as JSON (the benchmarks' own)
description: Writes [{name, action, async, seconds}] per task to the file $RACKOPS_BENCH_TASK_TIMES names.
'''


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'rackops_task_times'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.tasks = []
        self.current = None

    def _close(self):
        if self.current:
            self.current['seconds'] = round(time.monotonic() - self.current.pop('start'), 3)
            self.tasks.append(self.current)
            self.current = None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close()
        self.current = {'name': task.get_name(), 'action': task.action, 'async': bool(task.async_val),
                        'start': time.monotonic()}

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task, False)

    def v2_playbook_on_stats(self, stats):
        self._close()
        path = os.environ.get('RACKOPS_BENCH_TASK_TIMES')
        if path:
            with open(path, 'w', encoding='utf-8') as out:
                json.dump(self.tasks, out)
