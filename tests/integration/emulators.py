"""Start the project's BMC emulator (roles/virtual_rack/files/bmc_emulator.py) for a test, and talk to it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from conftest import ROOT, free_port


class _Emulator:
    """An emulator process of a test; stop() ends it (by its own PID)."""

    proc: subprocess.Popen
    log: object

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


class BmcEmulator(_Emulator):
    """N emulated IPMI BMCs, each on its own loopback address (Ironic throttles per address)."""

    def __init__(self, workdir: Path, count: int, first_octet: int = 20, port: int = 6230, prefix='ipmi',
                 extra=None):
        self.specs = [dict({'name': '%s-%02d' % (prefix, i), 'address': '127.0.0.%d' % (first_octet + i),
                            'port': port, 'username': 'admin', 'password': 'bmc-pw-%02d' % i}, **(extra or {}))
                      for i in range(count)]
        self.config = workdir / 'bmcs.json'
        self.config.write_text(json.dumps(self.specs))
        self.control = '127.0.0.1:%d' % free_port()
        self.log = (workdir / 'bmc_emulator.log').open('w')
        self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
            [sys.executable, str(ROOT / 'roles/virtual_rack/files/bmc_emulator.py'), '--config', str(self.config),
             '--control', self.control], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                self.states()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError('BMC emulator did not start')

    def _request(self, path, body=None):
        req = urllib.request.Request('http://%s%s' % (self.control, path), method='PATCH' if body else 'GET',
                                     data=json.dumps(body).encode() if body else None)
        with urllib.request.urlopen(req, timeout=5) as resp:
            return json.loads(resp.read())

    def states(self):
        return {s['name']: s for s in self._request('/bmcs')}

    def set(self, name, **changes):
        return self._request('/bmcs/%s' % name, changes)


class RedfishEmulator(_Emulator):
    """sushy-tools' Redfish emulator with its fake driver (no libvirt): N systems in memory."""

    def __init__(self, workdir: Path, count: int, prefix='redfish'):
        self.port = free_port()
        self.systems = [{'uuid': '00000000-0000-0000-0000-%012d' % (i + 1), 'name': '%s-%02d' % (prefix, i),
                         'power_state': 'Off', 'external_notifier': False,
                         'nics': [{'mac': '52:54:00:30:00:%02x' % i, 'ip': '192.0.2.%d' % (10 + i)}]}
                        for i in range(count)]
        state = workdir / 'sushy-state'
        state.mkdir()
        self.config = workdir / 'sushy.conf'
        self.config.write_text('\n'.join([
            "SUSHY_EMULATOR_LISTEN_IP = '127.0.0.1'",
            'SUSHY_EMULATOR_LISTEN_PORT = %d' % self.port,
            'SUSHY_EMULATOR_FAKE_DRIVER = True',
            'SUSHY_EMULATOR_STATE_DIR = %r' % str(state),
            'SUSHY_EMULATOR_FAKE_SYSTEMS = %r' % self.systems,
        ]) + '\n')
        self.log = (workdir / 'sushy.log').open('w')
        self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
            [str(Path(sys.executable).parent / 'sushy-emulator'), '--config', str(self.config)],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                self.system(self.systems[0]['uuid'])
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise AssertionError('sushy-emulator did not start')

    @property
    def address(self):
        return 'http://127.0.0.1:%d' % self.port

    def system(self, uuid):
        with urllib.request.urlopen('%s/redfish/v1/Systems/%s' % (self.address, uuid), timeout=5) as resp:
            return json.loads(resp.read())
