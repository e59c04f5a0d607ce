"""Emulated IPMI BMCs for tests and the virtual rack: many BMCs, one process.

Test and development tooling, not runtime code of the collection. Built on
pyghmi's own BMC (pyghmi.ipmi.bmc.Bmc): we do not implement IPMI.

    python tools/bmc_emulator.py --config bmcs.json [--control 127.0.0.1:9623]

bmcs.json is a list of BMCs:

    [{"name": "node-0", "address": "127.0.0.10", "port": 623,
      "username": "admin", "password": "secret",
      "power": "off", "boot_device": "default",
      "fru": {"vendor": "Rackops", "model": "Emu-1", "serial": "EMU0000"}}]

The control API (JSON over HTTP on loopback) lets tests read and change state:

    GET   /bmcs                  every BMC's state
    GET   /bmcs/<name>           one BMC
    PATCH /bmcs/<name>           {"power": "on", "boot_device": "pxe",
                                  "unreachable": true, "delay": 2.5}

``unreachable`` makes the BMC drop every packet (a dead BMC: clients time
out); ``delay`` answers late. Each BMC counts the IPMI commands it served.

Fixes for pyghmi's server side (see the lab notes):
  * several Bmc objects in one process: its IO thread watches only the first
    socket until woken, so we wake it once after binding them all;
  * pyghmi clients propose SHA-256 which pyghmi's server cannot do: we refuse
    that open-session proposal (status 0x11) so clients fall back to SHA-1;
  * close-session is a no-op upstream: we drop the session so stale ones do
    not pile up across runs;
  * one bad exchange must not kill the listener: the loop survives errors.
"""

from __future__ import annotations

import argparse
import collections
import json
import signal
import sys
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pyghmi.ipmi.bmc as pyghmi_bmc
from pyghmi.ipmi.private import serversession
import pyghmi.ipmi.private.session as ipmisession

BOOT_DEVICES = ('default', 'network', 'hd', 'optical', 'setup', 'floppy', 'safe', 'diag', 'usb')
_BY_SOCKET: dict = {}
_ORIGINAL_SENDTO = ipmisession._io_sendto
_ORIGINAL_OPEN_SESSION = serversession.ServerSession.create_open_session_response


def _socket_key(sock):
    sock = getattr(sock, 'fd', sock)
    try:
        return sock.getsockname()[:2]
    except OSError:
        return None


def _sendto(sock, packet, sockaddr):
    """Every packet a BMC sends goes through here: drop or delay per BMC."""
    bmc = _BY_SOCKET.get(_socket_key(sock))
    if bmc is not None:
        if bmc.unreachable:
            return
        if bmc.delay:
            threading.Timer(bmc.delay, _ORIGINAL_SENDTO, (sock, packet, sockaddr)).start()
            return
    _ORIGINAL_SENDTO(sock, packet, sockaddr)


def _open_session_response(self, request):
    # Authentication and integrity algorithm bytes of the proposal: 1 = SHA-1.
    if len(request) >= 21 and (request[12] != 1 or request[20] != 1):
        return bytearray([request[0], 0x11, 0, 0]) + request[4:8]
    return _ORIGINAL_OPEN_SESSION(self, request)


def _close_server_session(self):
    handlers = ipmisession.Session.bmc_handlers.get(self.sockaddr)
    if handlers is not None:
        handlers.pop(self.bmc.port, None)
        if not handlers:
            ipmisession.Session.bmc_handlers.pop(self.sockaddr, None)
    self.bmc.count('close_session')


ipmisession._io_sendto = _sendto
serversession.ServerSession.create_open_session_response = _open_session_response
serversession.ServerSession.close_server_session = _close_server_session


class EmulatedBmc(pyghmi_bmc.Bmc):
    """One BMC: power, boot device, FRU data; state readable and changeable."""

    def __init__(self, spec):
        self.name = spec['name']
        self.address = spec.get('address', '127.0.0.1')
        super().__init__({spec.get('username', 'admin'): spec.get('password', 'password')},
                         port=spec.get('port', 623), address=self.address)
        self.power = spec.get('power', 'off')
        self.boot_device = spec.get('boot_device', 'default')
        self.boot_persistent = False
        self.fru = spec.get('fru', {'vendor': 'rackops', 'model': 'emulated', 'serial': self.name})
        self.guid = uuid.uuid5(uuid.NAMESPACE_DNS, 'rackops-bmc-%s' % self.name)
        self.unreachable = bool(spec.get('unreachable', False))
        self.delay = float(spec.get('delay', 0))
        self.calls = collections.Counter()
        self.lock = threading.Lock()
        _BY_SOCKET[_socket_key(self.serversocket)] = self

    def count(self, what):
        self.calls[what] += 1

    # -- what pyghmi's Bmc asks of a BMC ---------------------------------
    def get_system_guid(self):
        return self.guid

    def get_power_state(self):
        self.count('get_power_state')
        return self.power

    def power_on(self):
        self.count('power_on')
        self.power = 'on'

    def power_off(self):
        self.count('power_off')
        self.power = 'off'

    def power_shutdown(self):
        self.count('power_shutdown')
        self.power = 'off'

    def power_reset(self):
        self.count('power_reset')
        self.power = 'on'

    def power_cycle(self):
        self.count('power_cycle')
        self.power = 'on'

    def cold_reset(self):
        self.count('cold_reset')
        return 0

    def is_active(self):
        return self.power == 'on'

    def get_boot_device(self):
        self.count('get_boot_device')
        return self.boot_device

    def set_boot_device(self, bootdevice):
        self.count('set_boot_device')
        self.boot_device = bootdevice

    # pyghmi's Bmc ignores the "persistent" bit of the boot flags (IPMI 2.0
    # table 28-14, parameter 5, data 1 bit 6): keep and report it, as BMCs do.
    def set_system_boot_options(self, request, session):
        if request['data'][0] == 5 and len(request['data']) > 1:
            self.boot_persistent = bool(request['data'][1] & 0x40)
        return super().set_system_boot_options(request, session)

    def get_system_boot_options(self, request, session):
        if request['data'][0] != 5:
            return super().get_system_boot_options(request, session)
        self.count('get_boot_device')
        device = pyghmi_bmc.ipmicommand.boot_devices.get(self.boot_device, 0)
        flags = 0b10000000 | (0x40 if self.boot_persistent else 0)
        return session.send_ipmi_response(data=[1, 5, flags, device, 0, 0, 0])

    def state(self):
        host, port = self.serversocket.getsockname()[:2]
        return {'name': self.name, 'address': host, 'port': port, 'power': self.power,
                'boot_device': self.boot_device, 'boot_persistent': self.boot_persistent, 'fru': self.fru, 'unreachable': self.unreachable,
                'delay': self.delay, 'calls': dict(self.calls)}

    def update(self, changes):
        for key, value in changes.items():
            if key == 'power' and value in ('on', 'off'):
                self.power = value
            elif key == 'boot_device' and value in BOOT_DEVICES:
                self.boot_device = value
            elif key == 'unreachable':
                self.unreachable = bool(value)
            elif key == 'delay':
                self.delay = max(0.0, float(value))
            elif key == 'fru' and isinstance(value, dict):
                self.fru.update(value)
            else:
                raise ValueError('cannot set %s=%r' % (key, value))


def control_server(bmcs, host, port):
    """A loopback JSON API over the BMCs' state, for tests and operators."""
    by_name = {b.name: b for b in bmcs}

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, code, body):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _bmc(self):
            parts = self.path.strip('/').split('/')
            if len(parts) == 2 and parts[0] == 'bmcs' and parts[1] in by_name:
                return by_name[parts[1]]
            return None

        def do_GET(self):  # noqa: N802 (http.server's naming)
            if self.path.rstrip('/') == '/bmcs':
                return self._reply(200, [b.state() for b in bmcs])
            bmc = self._bmc()
            return self._reply(200, bmc.state()) if bmc else self._reply(404, {'error': 'no such BMC'})

        def do_PATCH(self):  # noqa: N802
            bmc = self._bmc()
            if bmc is None:
                return self._reply(404, {'error': 'no such BMC'})
            try:
                bmc.update(json.loads(self.rfile.read(int(self.headers.get('Content-Length', 0))) or b'{}'))
            except (ValueError, TypeError) as exc:
                return self._reply(400, {'error': str(exc)})
            return self._reply(200, bmc.state())

        def log_message(self, *args):  # keep test output clean
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def serve(specs, control=None):
    bmcs = [EmulatedBmc(spec) for spec in specs]
    # pyghmi's IO thread is blocked in select() on the sockets it knew when it
    # started (the first BMC's): wake it so it watches all of them.
    first = bmcs[0].serversocket
    first.sendto(b'\x01', first.getsockname())
    server = None
    if control:
        host, port = control.rsplit(':', 1)
        server = control_server(bmcs, host or '127.0.0.1', int(port))
    print(json.dumps({'ready': [b.state() for b in bmcs],
                      'control': '%s:%d' % server.server_address[:2] if server else None}), flush=True)
    while True:
        try:
            EmulatedBmc.listen(timeout=30)
        except Exception:  # pylint: disable=broad-except
            # pyghmi's loop dies on the first error in a handler; one bad
            # exchange must not take every BMC down.
            traceback.print_exc()
            time.sleep(0.01)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--config', required=True, help='JSON list of BMCs')
    parser.add_argument('--control', help='host:port of the JSON control API (loopback)')
    args = parser.parse_args(argv)
    with open(args.config, encoding='utf-8') as handle:
        specs = json.load(handle)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    serve(specs, args.control)


if __name__ == '__main__':
    main()
