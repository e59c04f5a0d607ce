# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One error translation and one retry policy for every Ironic call.

Private to rackops.baremetal (the leading underscore).

Ironic answers HTTP 409 "node locked" (another operation holds the node) and
503 (conductor busy, concurrent action limit) in normal operation. We retry those with a
bounded back-off and *record* every retry, so a task that succeeded after
waiting for a lock says so instead of hiding it.

An API that cannot be reached at all (its process restarting: systemd or the
supervisor brings Ironic back within seconds) is retried the same way for up
to ``outage`` seconds from the first refused connection, so that a run in
flight rides out the restart instead of failing every node it was waiting for.
"""

from __future__ import annotations

import time


class BaremetalError(Exception):
    """An Ironic operation failed; carries what the operator needs to act."""

    def __init__(self, operation, message, node=None, status_code=None, last_error=None):
        self.operation = operation
        self.node = node
        self.status_code = status_code
        self.last_error = last_error
        self.detail = message
        super().__init__(self.describe())

    def describe(self, with_last_error=True):
        target = ' node %s' % self.node if self.node else ''
        text = 'Failed to %s%s' % (self.operation, target)
        if self.status_code:
            text += ' (HTTP %s)' % self.status_code
        text += ': %s' % self.detail
        if self.last_error and with_last_error:
            text += ". Ironic's last_error: %s" % self.last_error
        return text

    def as_result(self):
        return dict(msg=self.describe(), operation=self.operation, node=self.node,
                    status_code=self.status_code, last_error=self.last_error)


def status_code_of(exc):
    """HTTP status of an openstacksdk/keystoneauth exception, if it has one."""
    for attr in ('status_code', 'http_status'):
        code = getattr(exc, attr, None)
        if isinstance(code, int):
            return code
    response = getattr(exc, 'response', None)
    code = getattr(response, 'status_code', None)
    return code if isinstance(code, int) else None


def message_of(exc):
    """The most useful one-line text of an SDK exception.

    openstacksdk puts Ironic's faultstring in ``details``; its ``str()`` adds
    the URL and request id, which help less than the reason does.
    """
    details = getattr(exc, 'details', None)
    if details:
        return str(details).strip()
    text = str(exc).strip()
    return text or exc.__class__.__name__


def is_retryable(code, message):
    """503 (busy) always; 409 only when the node is locked by another operation.

    Other conflicts (a MAC or name that already exists, a state transition that
    is not allowed) will not go away by waiting.
    """
    if code == 503:
        return True
    return code == 409 and 'locked' in (message or '').lower()


def retry_delay(attempt, base=0.5, ceiling=8.0):
    """Exponential back-off: 0.5, 1, 2, 4, 8, 8 ... seconds."""
    return min(ceiling, base * (2 ** attempt))


def call_with_retries(fn, operation, node=None, retries=5, retry_log=None,
                      sleep=time.sleep, is_sdk_error=None, is_outage=None, outage=0, clock=time.monotonic):
    """Call ``fn()``; retry 409/503, and unreachable-API errors for ``outage`` seconds;
    translate SDK errors to BaremetalError.

    ``retry_log`` (a list) receives one dict per retry. ``is_sdk_error`` tells
    which exceptions are the SDK's (anything else is a bug and propagates);
    ``is_outage`` which of those mean the API could not be reached at all.
    """
    attempt = 0
    outage_started = None
    while True:
        try:
            return fn()
        except Exception as exc:  # pylint: disable=broad-except
            if is_sdk_error is not None and not is_sdk_error(exc):
                raise
            code = status_code_of(exc)
            if is_outage is not None and is_outage(exc):
                now = clock()
                outage_started = now if outage_started is None else outage_started
                if now - outage_started < outage:
                    delay = min(retry_delay(attempt), max(0.1, outage - (now - outage_started)))
                    if retry_log is not None:
                        retry_log.append(dict(operation=operation, node=node, status_code=None,
                                              attempt=attempt + 1, delay=delay, msg=message_of(exc)))
                    sleep(delay)
                    attempt += 1
                    continue
                detail = message_of(exc)
                if outage:
                    detail += ' (the API did not answer for %d s)' % round(now - outage_started)
                raise BaremetalError(operation, detail, node=node) from exc
            retryable = is_retryable(code, message_of(exc))
            if retryable and attempt < retries:
                delay = retry_delay(attempt)
                if retry_log is not None:
                    retry_log.append(dict(operation=operation, node=node, status_code=code,
                                          attempt=attempt + 1, delay=delay,
                                          msg=message_of(exc)))
                sleep(delay)
                attempt += 1
                continue
            detail = message_of(exc)
            if retryable:
                detail += ' (gave up after %d retries)' % attempt
            raise BaremetalError(operation, detail, node=node, status_code=code) from exc
