"""The Redfish face of an emulated BMC: the same machine as its IPMI face, over HTTP.

Test and development tooling, not runtime code of the collection. A BMC of
bmc_emulator.py with ``"redfish_port": 8000`` also answers Redfish on its own
address and that port (plain HTTP), as real BMCs serve IPMI and Redfish side
by side. It serves what Ironic's ``redfish`` power and management interfaces
use (sushy-tools' "minimum" feature set):

    GET    /redfish/v1                                     service root (no login)
    POST   /redfish/v1/SessionService/Sessions             log in: X-Auth-Token
    DELETE /redfish/v1/SessionService/Sessions/<id>        log out
    GET    /redfish/v1/Systems                             the one system
    GET    /redfish/v1/Systems/<name>                      power state, boot override
    PATCH  /redfish/v1/Systems/<name>                      {"Boot": {...}}
    POST   /redfish/v1/Systems/<name>/Actions/ComputerSystem.Reset  {"ResetType": ...}

Everything but the service root needs HTTP Basic credentials or a session
token. The boot mode is the machine's firmware: a UEFI machine refuses
"Legacy" (HTTP 400), as a real one without a compatibility module would.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = '/redfish/v1'
# Redfish boot source override targets <-> the BMC's boot devices (pyghmi's names).
TARGETS = {'None': 'default', 'Pxe': 'network', 'Hdd': 'hd', 'Cd': 'optical', 'BiosSetup': 'setup',
           'Floppy': 'floppy', 'Usb': 'usb', 'Diags': 'diag'}
DEVICES = {device: target for target, device in TARGETS.items()}
# ResetType -> the machine's action (QmpMachine.act / MemoryMachine.act).
RESETS = {'On': 'on', 'ForceOn': 'on', 'ForceOff': 'off', 'GracefulShutdown': 'soft_off',
          'ForceRestart': 'reset', 'GracefulRestart': 'reset', 'PowerCycle': 'cycle'}
MODES = {'uefi': 'UEFI', 'bios': 'Legacy'}


class RedfishError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def _error(message):
    return {'error': {'code': 'Base.1.0.GeneralError', 'message': message}}


class RedfishSystem:
    """The Redfish view of one BMC (an EmulatedBmc): reads and writes go to its state."""

    def __init__(self, bmc, firmware):
        self.bmc = bmc
        self.mode = MODES.get(firmware, 'Legacy')
        self.path = '%s/Systems/%s' % (ROOT, bmc.name)

    def resource(self):
        bmc = self.bmc
        enabled = 'Disabled' if bmc.boot_device == 'default' else (
            'Continuous' if bmc.boot_persistent else 'Once')
        return {
            '@odata.type': '#ComputerSystem.v1_13_0.ComputerSystem', '@odata.id': self.path,
            'Id': bmc.name, 'Name': bmc.name, 'UUID': str(bmc.guid),
            'PowerState': 'On' if bmc.power == 'on' else 'Off',
            'Boot': {'BootSourceOverrideEnabled': enabled,
                     'BootSourceOverrideTarget': DEVICES.get(bmc.boot_device, 'None'),
                     'BootSourceOverrideTarget@Redfish.AllowableValues': ['None', 'Pxe', 'Hdd', 'Cd', 'BiosSetup'],
                     'BootSourceOverrideMode': self.mode,
                     'BootSourceOverrideMode@Redfish.AllowableValues': [self.mode]},
            'Links': {},
            'Actions': {'#ComputerSystem.Reset': {
                'target': self.path + '/Actions/ComputerSystem.Reset',
                'ResetType@Redfish.AllowableValues': sorted(RESETS)}},
        }

    def patch(self, body):
        boot = body.get('Boot')
        if not isinstance(boot, dict) or set(body) != {'Boot'}:
            raise RedfishError(400, 'only Boot can be changed here')
        unknown = set(boot) - {'BootSourceOverrideEnabled', 'BootSourceOverrideTarget', 'BootSourceOverrideMode'}
        if unknown:
            raise RedfishError(400, 'cannot change Boot/%s' % ', '.join(sorted(unknown)))
        mode = boot.get('BootSourceOverrideMode', self.mode)
        if mode != self.mode:
            raise RedfishError(400, 'this machine boots %s only, not %s' % (self.mode, mode))
        target = boot.get('BootSourceOverrideTarget', DEVICES.get(self.bmc.boot_device, 'None'))
        enabled = boot.get('BootSourceOverrideEnabled', 'Once')
        if target not in TARGETS or enabled not in ('Disabled', 'Once', 'Continuous'):
            raise RedfishError(400, 'unsupported boot override %s/%s' % (target, enabled))
        self.bmc.count('redfish_set_boot')
        self.bmc.boot_uefi = self.mode == 'UEFI'
        self.bmc.boot_persistent = enabled == 'Continuous'
        self.bmc.set_boot_device('default' if enabled == 'Disabled' else TARGETS[target])

    def reset(self, body):
        action = RESETS.get(body.get('ResetType'))
        if action is None:
            raise RedfishError(400, 'unsupported ResetType %r' % body.get('ResetType'))
        self.bmc.count('redfish_reset')
        self.bmc.machine.act(action)


def serve_redfish(bmc, firmware, port, username, password):
    """Start the Redfish face of ``bmc`` on its address and ``port``; returns the server."""
    system = RedfishSystem(bmc, firmware)
    sessions = {}  # token -> session id
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'  # sushy keeps connections open

        def _reply(self, status, body=None, headers=None):
            data = json.dumps(body).encode() if body is not None else b''
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if body is not None:
                self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self):
            length = int(self.headers.get('Content-Length') or 0)
            try:
                body = json.loads(self.rfile.read(length) or b'{}')
            except ValueError:
                raise RedfishError(400, 'the body is not JSON') from None
            if not isinstance(body, dict):
                raise RedfishError(400, 'the body is not a JSON object')
            return body

        def _credentials_ok(self, user, secret):
            return hmac.compare_digest(user, username) and hmac.compare_digest(secret, password)

        def _authorised(self):
            token = self.headers.get('X-Auth-Token')
            if token:
                with lock:
                    return token in sessions
            header = self.headers.get('Authorization', '')
            if not header.startswith('Basic '):
                return False
            try:
                user, secret = (base64.b64decode(header[6:]).decode().split(':', 1) + [''])[:2]
            except ValueError:
                return False
            return self._credentials_ok(user, secret)

        def _route(self, method):
            path = self.path.split('?', 1)[0].rstrip('/')
            if method == 'GET' and path == ROOT:
                return self._reply(200, {
                    '@odata.type': '#ServiceRoot.v1_5_0.ServiceRoot', '@odata.id': ROOT + '/',
                    'Id': 'RootService', 'Name': 'Rackops emulated BMC', 'RedfishVersion': '1.5.0',
                    'UUID': str(bmc.guid), 'Systems': {'@odata.id': ROOT + '/Systems'},
                    'SessionService': {'@odata.id': ROOT + '/SessionService'},
                    'Links': {'Sessions': {'@odata.id': ROOT + '/SessionService/Sessions'}}})
            if method == 'POST' and path == ROOT + '/SessionService/Sessions':
                body = self._body()
                if not self._credentials_ok(str(body.get('UserName', '')), str(body.get('Password', ''))):
                    raise RedfishError(401, 'wrong user name or password')
                token, session_id = secrets.token_hex(16), secrets.token_hex(4)
                with lock:
                    sessions[token] = session_id
                location = '%s/SessionService/Sessions/%s' % (ROOT, session_id)
                return self._reply(201, {'@odata.id': location, 'Id': session_id, 'UserName': username},
                                   {'X-Auth-Token': token, 'Location': location})
            if not self._authorised():
                raise RedfishError(401, 'log in first')
            if method == 'DELETE' and path.startswith(ROOT + '/SessionService/Sessions/'):
                session_id = path.rsplit('/', 1)[1]
                with lock:
                    for token in [t for t, sid in sessions.items() if sid == session_id]:
                        del sessions[token]
                return self._reply(204)
            if method == 'GET' and path == ROOT + '/Systems':
                return self._reply(200, {'@odata.type': '#ComputerSystemCollection.ComputerSystemCollection',
                                         '@odata.id': ROOT + '/Systems', 'Name': 'Systems',
                                         'Members@odata.count': 1, 'Members': [{'@odata.id': system.path}]})
            if path == system.path and method == 'GET':
                return self._reply(200, system.resource())
            if path == system.path and method == 'PATCH':
                system.patch(self._body())
                return self._reply(200, system.resource())
            if path == system.path + '/Actions/ComputerSystem.Reset' and method == 'POST':
                system.reset(self._body())
                return self._reply(204)
            raise RedfishError(404 if method == 'GET' else 405, 'no %s %s here' % (method, path))

        def _handle(self, method):
            if bmc.unreachable:  # a dead BMC answers nothing at all
                self.close_connection = True
                return
            try:
                self._route(method)
            except RedfishError as exc:
                extra = {'WWW-Authenticate': 'Basic realm="BMC"'} if exc.status == 401 else None
                self._reply(exc.status, _error(str(exc)), extra)
            except Exception as exc:  # pylint: disable=broad-except
                # e.g. QMP down: the BMC is up, its machine is not
                self._reply(500, _error('%s: %s' % (type(exc).__name__, exc)))

        def do_GET(self):  # noqa: N802 (http.server's naming)
            self._handle('GET')

        def do_POST(self):  # noqa: N802
            self._handle('POST')

        def do_PATCH(self):  # noqa: N802
            self._handle('PATCH')

        def do_DELETE(self):  # noqa: N802
            self._handle('DELETE')

        def log_message(self, *args):  # the emulator's log is for errors
            pass

    server = ThreadingHTTPServer((bmc.address, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
