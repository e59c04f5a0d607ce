"""Emulated IPMI BMCs for tests and the virtual rack: many BMCs, one process.

Test and development tooling, not runtime code of the collection. Built on
pyghmi's own BMC (pyghmi.ipmi.bmc.Bmc): we do not implement IPMI.

    python roles/virtual_rack/files/bmc_emulator.py --config bmcs.json [--control 127.0.0.1:9623]

bmcs.json is a list of BMCs:

    [{"name": "node-0", "address": "127.0.0.10", "port": 623,
      "username": "admin", "password": "secret",
      "power": "off", "boot_device": "default",
      "fru": {"vendor": "Rackops", "model": "Emu-1", "serial": "EMU0000"}}]

A BMC with "qmp": "/run/rack/node-0.qmp" drives a real QEMU machine instead
of a power switch in memory (see QmpMachine): power on/off/soft/reset/cycle
and the boot order ("qmp_boot_devices": {"network": "net0", "hd": "disk0"},
QEMU device ids). The virtual rack runs its VMs behind such BMCs.

A BMC with "redfish_port": 8000 also answers Redfish on its address and that
port (redfish_face.py, beside this file), on the same machine and state;
"boot_mode": "uefi" | "bios" is then the machine's firmware.

The control API (JSON over HTTP on loopback) lets tests read and change state:

    GET   /bmcs                  every BMC's state
    GET   /bmcs/<name>           one BMC
    PATCH /bmcs/<name>           {"power": "on", "boot_device": "pxe",
                                  "unreachable": true, "delay": 2.5,
                                  "sensors": {"CPU Temp": 95},
                                  "fru": {"serial": "X1"}, "firmware": "2.10"}

Each BMC also serves, over IPMI, what inventory and health tools read: Get
Device ID (firmware version), FRU 0 (board and product areas: vendor, model,
serial), an SDR repository and sensor readings (CPU/inlet temperature, fans,
power supplies; thresholds decide each reading's health).

``unreachable`` makes the BMC drop every packet (a dead BMC: clients time
out); ``delay`` answers late. Each BMC counts the IPMI commands it served.

Fixes for pyghmi's server side (see the lab notes):
  * several Bmc objects in one process, each on its own address: pyghmi's
    wake-ups of its IO thread go to an address none of them has, so its IO
    thread watched only the first socket and stalled waiters for up to 30 s:
    we aim its wake-ups at the first BMC's socket (serve());
  * pyghmi clients propose SHA-256 which pyghmi's server cannot do: we refuse
    that open-session proposal (status 0x11) so clients fall back to SHA-1;
  * close-session is a no-op upstream: we drop the session so stale ones do
    not pile up across runs;
  * one bad exchange must not kill the listener, nor cost other sessions
    their queued packets: the loop and each session survive errors, and a
    late packet for a closed session is dropped;
  * the IO thread's non-blocking reads race with the listener's sends, which
    set the socket blocking again: reads never block here;
  * sessions are keyed by client address and BMC *port* upstream, so BMCs on
    one port and different addresses (real racks: every BMC on :623) cross
    sessions: we key them per BMC instead;
  * Get Device ID packs 4-byte manufacturer/product IDs upstream: we answer
    per the spec (3 + 2 bytes, then the auxiliary firmware revision).

Serial-over-LAN: a BMC with "serial": "/run/rack/node-0/serial.sock" bridges
an activated SOL payload to that socket, the machine's serial port (QEMU's
``-chardev socket,server=on,...,logfile=`` keeps the log whether or not a
client is connected). The BMC answers activation whatever the power state, as
real ones do. A session that activates SOL while another one holds it takes it
over when the holder is not the asking session: ipmitool ends (killed by socat
when its TCP client goes away, as under Ironic's ipmitool-socat console)
without deactivating, and a real BMC frees the payload when that session
times out; we free it at once.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import faulthandler
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pyghmi.ipmi.bmc as pyghmi_bmc
import pyghmi.ipmi.console as pyghmi_console
from pyghmi.ipmi.private import serversession
import pyghmi.ipmi.private.session as ipmisession

from redfish_face import serve_redfish  # beside this file

LISTEN_ROUND = 0.5  # seconds; see serve()
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


def _io_recvfrom(mysocket, size):
    """Upstream reads after setblocking(0), but the listener thread's sends set
    the same socket back to blocking in between: the IO thread then blocks in
    recvfrom on one BMC's socket and every BMC stalls. Never block here."""
    mysocket = getattr(mysocket, 'fd', mysocket)
    try:
        return mysocket.recvfrom(size, socket.MSG_DONTWAIT)
    except OSError:
        return None


def _io_graball(mysockets, iowaiters):
    """pyghmi's receive loop, with sessions looked up per BMC, not per port."""
    sockaddrs = []
    for mysocket in mysockets:
        while True:
            rdata = _io_recvfrom(mysocket, 3000)
            if rdata is None:
                break
            if len(rdata[0]) < 4:  # a wake-up byte, not IPMI
                continue
            bmc = _BY_SOCKET.get(_socket_key(mysocket))
            handler_key = bmc.port if bmc is not None else mysocket.getsockname()[1]
            rdata = rdata + (mysocket,)
            relsession = None
            handlers = ipmisession.Session.bmc_handlers
            if rdata[1] in handlers and handler_key in handlers[rdata[1]]:
                rdata = rdata + (True,)
                relsession = handlers[rdata[1]][handler_key]
            elif rdata[2] in handlers:
                rdata = rdata + (False,)
                relsession = handlers[rdata[2]][0]
            if relsession is not None:
                relsession.pktqueue.append(rdata)
                ipmisession.sessionqueue.append(relsession)
            if rdata[1] in iowaiters:
                for waiter in iowaiters[rdata[1]]:
                    waiter[1].set()
                del iowaiters[rdata[1]]
            sockaddrs.append(rdata[1])
    return sockaddrs


def _late_packet(self, data, sockaddr):
    """A packet queued for a session that closed meanwhile (a retransmitted
    close, typically). Upstream hands it to a method ServerSession lacks, and
    the AttributeError drops every other session's queued packets too."""
    self.bmc.count('late_packet')


_ORIGINAL_PROCESS = serversession.ServerSession.process_pktqueue


def _process_pktqueue(self):
    # One session's bad packet must not cost the other sessions theirs: the
    # caller (Session.wait_for_rsp) processes all sessions in one loop.
    try:
        _ORIGINAL_PROCESS(self)
    except Exception:  # pylint: disable=broad-except
        traceback.print_exc()


ipmisession._io_sendto = _sendto
ipmisession._io_graball = _io_graball
ipmisession._io_recvfrom = _io_recvfrom
serversession.ServerSession.sessionless_data = _late_packet
serversession.ServerSession.process_pktqueue = _process_pktqueue
serversession.ServerSession.create_open_session_response = _open_session_response
serversession.ServerSession.close_server_session = _close_server_session


def _fru_field(text):
    data = str(text).encode('ascii', 'replace')[:63]
    return bytes([0xC0 | len(data)]) + data


def _fru_area(fields, prefix):
    """One FRU info area (IPMI FRU spec 1.0 ch. 11): padded to 8 bytes, zero checksum."""
    body = bytes(prefix) + b''.join(_fru_field(f) for f in fields) + b'\xC1'
    size = -(-(len(body) + 3) // 8) * 8  # + version and length bytes, + checksum
    area = bytearray([0x01, size // 8]) + body
    area += b'\x00' * (size - len(area) - 1)
    area.append((-sum(area)) & 0xFF)
    return bytes(area)


def fru_image(fru):
    """FRU 0 as a BMC stores it: common header, board area, product area."""
    board = _fru_area([fru.get('vendor', ''), fru.get('model', ''), fru.get('serial', ''),
                       fru.get('part_number', ''), ''], prefix=[0x00, 0, 0, 0])  # English, no date
    product = _fru_area([fru.get('vendor', ''), fru.get('model', ''), fru.get('part_number', ''),
                         fru.get('version', ''), fru.get('serial', ''), fru.get('asset_tag', ''), ''],
                        prefix=[0x00])
    header = bytearray([0x01, 0, 0, 1, 1 + len(board) // 8, 0, 0])
    header.append((-sum(header)) & 0xFF)
    return bytes(header) + board + product


# name -> (sensor number, sensor type, entity, unit, multiplier, thresholds)
# Thresholds: (lower critical, upper non-critical, upper critical); None = none.
SENSORS = {
    'CPU Temp': (1, 0x01, 0x03, 1, 1, (None, 80, 90)),      # degrees C, processor
    'Inlet Temp': (2, 0x01, 0x37, 1, 1, (None, 35, 42)),    # degrees C, air inlet
    'Fan 1': (3, 0x04, 0x1D, 18, 60, (600, None, None)),    # RPM, fan device
    'Fan 2': (4, 0x04, 0x1D, 18, 60, (600, None, None)),
    'PSU 1': (5, 0x08, 0x0A, 0, 1, None),                   # discrete power supply status
    'PSU 2': (6, 0x08, 0x0A, 0, 1, None),
}
DEFAULT_READINGS = {'CPU Temp': 45, 'Inlet Temp': 24, 'Fan 1': 5400, 'Fan 2': 5460,
                    'PSU 1': 'ok', 'PSU 2': 'ok'}


def _sdr_record(record_id, name, sensor):
    """A full sensor record (IPMI 2.0 table 43-1)."""
    number, sensor_type, entity, unit, multiplier, thresholds = sensor
    reading_type = 0x01 if thresholds else 0x6F
    body = bytearray(43)
    body[0] = 0x20  # owner: the BMC
    body[2] = number
    body[3] = entity
    body[4] = 1  # entity instance
    body[5] = 0x7F  # scanning and events enabled at init
    body[7] = sensor_type
    body[8] = reading_type
    body[16] = unit
    body[19] = multiplier & 0xFF  # M (y = M * x)
    body[42] = 0xC0 | len(name)
    body += name.encode()
    return struct.pack('<HBBB', record_id, 0x51, 0x01, len(body)) + bytes(body)


class MemoryMachine:
    """The default machine behind a BMC: a power switch in memory."""

    def __init__(self, power):
        self.state = power

    def power(self):
        return self.state

    def act(self, action):
        self.state = 'off' if action in ('off', 'soft_off') else 'on'

    def set_boot(self, device):
        pass  # the boot device lives in the BMC's flags; nothing boots here

    def describe(self):
        return {'backend': 'memory'}


class QmpError(Exception):
    pass


def _qmp_reply(reader):
    while True:
        line = reader.readline()
        if not line:
            raise QmpError('QMP connection closed')
        message = json.loads(line)
        if 'event' not in message:  # events come whenever they like: skip them
            return message


class QmpMachine:
    """A real QEMU machine behind the BMC, driven over its QMP socket.

    QEMU must run with ``-no-shutdown`` (a guest's power-off leaves the
    process alive, status "shutdown") and ``-qmp unix:<path>,server=on,wait=off``;
    start it with ``-S`` for a machine that is off. Power "off" is the vCPUs
    stopped and the machine reset, so "on" boots it from its firmware again.
    The boot device is the QEMU ``bootindex`` of the devices named in
    ``qmp_boot_devices`` ({"network": "net0", "hd": "disk0"}), changed at
    runtime: the firmware reads the new order at the next reset (a machine
    that is off is reset at once). QEMU has
    no one-time boot order at runtime, so "once" lasts until changed.

    With ``qemu_launch`` (the command that starts the machine, daemonized
    with ``-S`` and ``-pidfile qemu_pidfile``) power is cold, as on real
    hardware: "off", a reset and a power cycle end the QEMU process and
    start a new one, and the boot order last set is applied to it. Why:
    under TCG a machine booted again in the same process unpacks its
    initramfs 3-10 times slower than a fresh one (measured with the deploy
    ramdisk: 14 s fresh, 47 s after a reset, 163 s with two machines).

    A UEFI machine (``uefi_vars``: its OVMF variable store, and
    ``uefi_vars_template``: a pristine one) follows its NVRAM boot entries
    before QEMU's boot order: the entries OVMF made at its first boot (in
    the boot order of then) and the one the deploy agent writes for the
    disk it deployed. A BMC's boot override beats those on real hardware,
    so here asking for "network" or "hd" starts the machine with a pristine
    variable store at its next cold start (at once when it is off): the
    firmware then boots in QEMU's order again (which must be in place at
    the machine's reset: see ``_apply_order``; a machine told to boot its
    disk that missed this tried PXE v4, v6 and HTTP first, over 200 s
    under TCG, and reached its disk last).
    """

    def __init__(self, spec):
        self.path = spec['qmp']
        self.boot_devices = dict(spec.get('qmp_boot_devices') or {'network': 'net0', 'hd': 'disk0'})
        self.lock = threading.Lock()
        self.launch = spec.get('qemu_launch')
        self.pidfile = spec.get('qemu_pidfile')
        self.order = None  # the boot order last set, for a new process
        self.uefi_vars = spec.get('uefi_vars')
        self.uefi_vars_template = spec.get('uefi_vars_template')
        self.forget_boot_entries = False  # at the next cold start

    def _pid(self):
        try:
            with open(self.pidfile, encoding='ascii') as handle:
                pid = int(handle.read().strip())
            with open('/proc/%d/cmdline' % pid, 'rb') as handle:
                return pid if b'qemu-system' in handle.read() else None
        except (OSError, ValueError, TypeError):
            return None

    def relaunch(self):
        """Cold power-off: end this QEMU process, start the machine anew (stopped, -S)."""
        pid = self._pid()
        try:
            self.execute('quit')
        except QmpError:
            pass  # not answering: ended below
        deadline = time.monotonic() + 30
        while pid and os.path.exists('/proc/%d' % pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid and os.path.exists('/proc/%d' % pid):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        if self.forget_boot_entries:
            shutil.copyfile(self.uefi_vars_template, self.uefi_vars)
            self.forget_boot_entries = False
        started = subprocess.run(self.launch, capture_output=True, text=True, timeout=60, check=False)
        if started.returncode:
            raise QmpError('starting the machine again failed: %s' % (started.stderr or started.stdout).strip())
        if self.order:
            self._apply_order(self.order)

    def execute(self, command, **arguments):
        """One command on a connection of its own: QEMU serves one QMP client
        at a time, and operators (or tests) may want the socket too."""
        with self.lock, socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(10)
            try:
                sock.connect(self.path)
                reader = sock.makefile('rb')
                _qmp_reply(reader)  # the greeting
                for request in ({'execute': 'qmp_capabilities'}, {'execute': command, 'arguments': arguments}):
                    sock.sendall(json.dumps(request).encode() + b'\n')
                    reply = _qmp_reply(reader)
            except (OSError, ValueError) as exc:
                raise QmpError('QMP %s at %s: %s' % (command, self.path, exc)) from None
        if 'error' in reply:
            raise QmpError('%s: %s' % (command, reply['error'].get('desc')))
        return reply.get('return')

    def status(self):
        return self.execute('query-status')['status']

    def power(self):
        return 'on' if self.status() == 'running' else 'off'

    def act(self, action):
        status = self.status()
        if action == 'off' and status == 'prelaunch':
            return  # never started since its last power-off (a client may say "off" twice)
        if self.launch and (action in ('off', 'reset', 'cycle')
                            or (action == 'on' and status in ('shutdown', 'guest-panicked'))):
            self.relaunch()
            if action != 'off':
                self.execute('cont')
            return
        if action == 'on':
            if status in ('shutdown', 'guest-panicked'):
                self.execute('system_reset')
            if status != 'running':
                self.execute('cont')
        elif action == 'off':
            self.execute('stop')
            self.execute('system_reset')
        elif action == 'soft_off':
            self.execute('system_powerdown')  # the guest's ACPI; it may take its time or ignore it
        elif action == 'reset':
            self.execute('system_reset')
            if status != 'running':
                self.execute('cont')
        elif action == 'cycle':
            self.execute('stop')
            self.execute('system_reset')
            self.execute('cont')

    def set_boot(self, device):
        first = self.boot_devices.get(device)
        if first is None:
            return  # no such device on this machine: the firmware's order stays
        others = [qdev for name, qdev in sorted(self.boot_devices.items()) if qdev != first]
        self.order = [first] + others
        if device in ('network', 'hd') and self.launch and self.uefi_vars and self.uefi_vars_template:
            self.forget_boot_entries = True
            if self.status() == 'prelaunch':
                self.relaunch()  # off: start it over now, with the new order
                return
        self._apply_order(self.order)

    def _apply_order(self, order):
        # QEMU refuses a bootindex another device holds: park them all first.
        for offset in (100, 0):
            for index, qdev in enumerate(order):
                self.execute('qom-set', path='/machine/peripheral/%s' % qdev, property='bootindex',
                             value=offset + index)
        # The firmware reads QEMU's order (fw_cfg "bootorder") as it stood at
        # the machine's last reset. A machine that is running takes the new
        # order at its next reset; one just launched stopped (-S) had that
        # reset already, so reset it again or it boots in the order it was
        # launched with (measured: OVMF tried PXE before the disk it was told).
        if self.status() == 'prelaunch':
            self.execute('system_reset')

    def boot_order(self):
        return {name: self.execute('qom-get', path='/machine/peripheral/%s' % qdev, property='bootindex')
                for name, qdev in self.boot_devices.items()}

    def describe(self):
        return {'backend': 'qmp', 'qmp': self.path, 'boot_order': self.boot_order()}


class EmulatedBmc(pyghmi_bmc.Bmc):
    """One BMC: power, boot device, FRU, sensors, firmware; state readable and changeable."""

    _count = 0

    def __init__(self, spec):
        self.name = spec['name']
        self.address = spec.get('address', '127.0.0.1')
        super().__init__({spec.get('username', 'admin'): spec.get('password', 'password')},
                         port=spec.get('port', 623), address=self.address)
        # Upstream keys a client's sessions by BMC port; make that key unique per BMC.
        EmulatedBmc._count += 1
        self.port = EmulatedBmc._count
        self.machine = QmpMachine(spec) if spec.get('qmp') else MemoryMachine(spec.get('power', 'off'))
        self.boot_device = spec.get('boot_device', 'default')
        self.boot_persistent = False
        self.boot_uefi = False
        self.fru = {'vendor': 'Rackops', 'model': 'Emu-1', 'serial': 'EMU-%s' % self.name,
                    'part_number': 'EMU-1-A', 'version': '1'}
        self.fru.update(spec.get('fru', {}))
        self.firmware = str(spec.get('firmware', '1.23'))
        self.sensors = dict(DEFAULT_READINGS, **spec.get('sensors', {}))
        self.guid = uuid.uuid5(uuid.NAMESPACE_DNS, 'rackops-bmc-%s' % self.name)
        self.unreachable = bool(spec.get('unreachable', False))
        self.delay = float(spec.get('delay', 0))
        self.calls = collections.Counter()
        self.lock = threading.Lock()
        self.serial = spec.get('serial')
        self.serial_socket = None
        self.serial_output = collections.deque()  # (SOL session, bytes) from the machine, not sent yet
        self.sol_lock = threading.Lock()
        _BY_SOCKET[_socket_key(self.serversocket)] = self
        self.redfish = None
        if spec.get('redfish_port'):
            self.redfish = serve_redfish(self, spec.get('boot_mode', 'bios'), int(spec['redfish_port']),
                                         spec.get('username', 'admin'), spec.get('password', 'password'))

    def count(self, what):
        self.calls[what] += 1

    # -- what pyghmi's Bmc asks of a BMC ---------------------------------
    def get_system_guid(self):
        return self.guid

    @property
    def power(self):
        return self.machine.power()

    def get_power_state(self):
        self.count('get_power_state')
        return self.power

    def power_on(self):
        self.count('power_on')
        self.machine.act('on')

    def power_off(self):
        self.count('power_off')
        self.machine.act('off')

    def power_shutdown(self):
        self.count('power_shutdown')
        self.machine.act('soft_off')

    def power_reset(self):
        self.count('power_reset')
        self.machine.act('reset')

    def power_cycle(self):
        self.count('power_cycle')
        self.machine.act('cycle')

    def cold_reset(self):
        self.count('cold_reset')
        return 0

    def is_active(self):
        return self.power == 'on'

    # -- Serial-over-LAN: the machine's serial port -------------------------
    def activate_payload(self, request, session):
        self.count('activate_payload')
        if not self.serial:
            return session.send_ipmi_response(code=0x81)
        with self.sol_lock:
            if self.activated:
                if self.sol is not None and self.sol.ipmi_session is session:
                    return session.send_ipmi_response(code=0x80)  # already active in this session
                self._end_sol()  # held by a session whose client went away (see the module's doc)
            try:
                serial = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                serial.connect(self.serial)
            except OSError:
                return session.send_ipmi_response(code=0x81)
            self.activated = True
            # the payload's UDP port: the one the session talks to (ipmitool refuses any other)
            port = self.serversocket.getsockname()[1]
            session.send_ipmi_response(data=[0, 0, 0, 0, 1, 0, 1, 0] + list(struct.pack('!H', port)) + [0xff, 0xff])
            self.serial_socket = serial
            self.sol = pyghmi_console.ServerConsole(session, self._typed)
            threading.Thread(target=self._serial_output, args=(serial, self.sol), daemon=True).start()
        return None

    def deactivate_payload(self, request, session):
        self.count('deactivate_payload')
        with self.sol_lock:
            if not self.activated:
                return session.send_ipmi_response(code=0x80)
            session.send_ipmi_response()
            self._end_sol()
        return None

    def _end_sol(self):
        sol, serial = self.sol, self.serial_socket
        self.activated, self.sol, self.serial_socket = False, None, None
        if serial is not None:
            with contextlib.suppress(OSError):
                serial.shutdown(socket.SHUT_RDWR)
            serial.close()
        if sol is not None:
            sol.activated = False
            sol.broken = True

    def _typed(self, data):
        """What the SOL client typed: to the machine's serial port."""
        serial = self.serial_socket
        if serial is None or isinstance(data, dict):  # a dict is pyghmi reporting an error
            return
        with contextlib.suppress(OSError):
            serial.sendall(data if isinstance(data, bytes) else str(data).encode())

    def _serial_output(self, serial, sol):
        """What the machine writes to its serial port: to the SOL client, until SOL ends.

        A power cycle ends the machine's QEMU process and with it the socket: the console
        follows the new one, as a real BMC's console stays up across a reboot."""
        while not sol.broken:
            try:
                data = serial.recv(4096)
            except OSError:
                data = b''
            if not data:
                serial = self._serial_reconnect(sol)
                if serial is None:
                    return
                continue
            # sent by the serve() loop's thread: pyghmi's console waits for each ack by running its IO loop, and
            # two threads running it hand the client's keystrokes to the machine out of order
            self.serial_output.append((sol, data))
            wake_io()

    def _serial_reconnect(self, sol):
        """The machine's new serial socket while this SOL session lasts; None once it has ended."""
        while not sol.broken:
            time.sleep(0.5)
            serial = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                serial.connect(self.serial)
            except OSError:
                serial.close()
                continue
            with self.sol_lock:
                if self.sol is not sol:
                    serial.close()
                    return None
                self.serial_socket = serial
            return serial
        return None

    def send_serial_output(self):
        """The machine's serial output so far, to the SOL client (from the serve() loop only)."""
        chunks = []
        while self.serial_output:
            chunks.append(self.serial_output.popleft())
        sol = self.sol
        data = b''.join(data for owner, data in chunks if owner is sol)
        if data and sol is not None and not sol.broken:
            sol.send_data(data)

    def get_boot_device(self):
        self.count('get_boot_device')
        return self.boot_device

    def set_boot_device(self, bootdevice):
        self.count('set_boot_device')
        self.boot_device = bootdevice
        self.machine.set_boot(bootdevice)

    # pyghmi's Bmc ignores the "persistent" and "EFI" bits of the boot flags
    # (IPMI 2.0 table 28-14, parameter 5, data 1 bits 6 and 5): keep and
    # report them, as BMCs do.
    def set_system_boot_options(self, request, session):
        if request['data'][0] == 5 and len(request['data']) > 1:
            self.boot_persistent = bool(request['data'][1] & 0x40)
            self.boot_uefi = bool(request['data'][1] & 0x20)
        return super().set_system_boot_options(request, session)

    def get_system_boot_options(self, request, session):
        if request['data'][0] != 5:
            return super().get_system_boot_options(request, session)
        self.count('get_boot_device')
        device = pyghmi_bmc.ipmicommand.boot_devices.get(self.boot_device, 0)
        flags = 0b10000000 | (0x40 if self.boot_persistent else 0) | (0x20 if self.boot_uefi else 0)
        return session.send_ipmi_response(data=[1, 5, flags, device, 0, 0, 0])

    def send_device_id(self, session):
        major, minor = (self.firmware.split('.', 1) + ['0'])[:2]
        minor = int(minor or 0)
        data = [0x20, 0x81,  # device ID; provides device SDRs, revision 1
                int(major) & 0x7F, ((minor // 10) << 4) | (minor % 10),  # minor is BCD
                0x02,  # IPMI 2.0
                0x0E]  # SDR repository, SEL (none), FRU inventory device
        data += [0x00, 0x00, 0x00, 0x01, 0x00]  # manufacturer 0 (none), product 1
        session.send_ipmi_response(data=data)

    def handle_raw_request(self, request, session):
        netfn, command, data = request['netfn'], request['command'], bytes(request.get('data') or b'')
        if netfn == 6 and command == 1:
            self.count('get_device_id')
            return self.send_device_id(session)
        if netfn == 0x0A and command in (0x10, 0x11):
            return self._fru_command(command, data, session)
        if netfn == 0x0A and command in (0x20, 0x22, 0x23):
            return self._sdr_command(command, data, session)
        if netfn == 0x04 and command == 0x2D:
            return self._sensor_reading(data, session)
        return super().handle_raw_request(request, session)

    def _fru_command(self, command, data, session):
        if not data or data[0] != 0:
            return session.send_ipmi_response(code=0xCB)  # no such FRU
        image = fru_image(self.fru)
        if command == 0x10:  # Get FRU Inventory Area Info: size, byte access
            self.count('get_fru')
            return session.send_ipmi_response(data=list(struct.pack('<HB', len(image), 0)))
        offset, count = struct.unpack('<HB', data[1:4])
        chunk = image[offset:offset + count]
        return session.send_ipmi_response(data=[len(chunk)] + list(chunk))

    def _sdr_records(self):
        names = list(SENSORS)
        return [_sdr_record(i, name, SENSORS[name]) for i, name in enumerate(names)]

    def _sdr_command(self, command, data, session):
        records = self._sdr_records()
        if command == 0x20:  # Get SDR Repository Info
            info = struct.pack('<BHHIIB', 0x51, len(records), 0xFFFF, 0, 0, 0x02)
            return session.send_ipmi_response(data=list(info))
        if command == 0x22:  # Reserve SDR Repository
            return session.send_ipmi_response(data=[1, 0])
        record_id, offset, count = struct.unpack('<HBB', data[2:6])
        if record_id >= len(records):
            return session.send_ipmi_response(code=0xCB)
        next_id = record_id + 1 if record_id + 1 < len(records) else 0xFFFF
        chunk = records[record_id][offset:offset + (count if count != 0xFF else 255)]
        return session.send_ipmi_response(data=list(struct.pack('<H', next_id)) + list(chunk))

    def _sensor_reading(self, data, session):
        self.count('get_sensor_reading')
        by_number = {sensor[0]: name for name, sensor in SENSORS.items()}
        name = by_number.get(data[0] if data else None)
        if name is None:
            return session.send_ipmi_response(code=0xCB)
        multiplier, thresholds = SENSORS[name][4:]
        value = self.sensors.get(name)
        if thresholds is None:  # discrete: bit 0 presence detected, bit 1 failure detected
            states = 0x01 | (0x02 if value == 'failed' else 0)
            return session.send_ipmi_response(data=[0, 0x40, states, 0x80])
        raw = max(0, min(255, int(round(float(value) / multiplier))))
        lower_critical, upper_warning, upper_critical = thresholds
        states = 0
        if lower_critical is not None and float(value) < lower_critical:
            states |= 0x02
        if upper_warning is not None and float(value) >= upper_warning:
            states |= 0x08
        if upper_critical is not None and float(value) >= upper_critical:
            states |= 0x10
        return session.send_ipmi_response(data=[raw, 0x40, states])

    def state(self):
        host, port = self.serversocket.getsockname()[:2]
        return {'name': self.name, 'address': host, 'port': port, 'power': self.power,
                'boot_device': self.boot_device, 'boot_persistent': self.boot_persistent,
                'boot_uefi': self.boot_uefi, 'fru': self.fru, 'firmware': self.firmware,
                'sensors': self.sensors, 'unreachable': self.unreachable, 'machine': self.machine.describe(),
                'delay': self.delay, 'calls': dict(self.calls),
                'redfish': 'http://%s:%d' % self.redfish.server_address[:2] if self.redfish else None}

    def update(self, changes):
        for key, value in changes.items():
            if key == 'power' and value in ('on', 'off'):
                self.machine.act(value)
            elif key == 'boot_device' and value in BOOT_DEVICES:
                self.boot_device = value
            elif key == 'unreachable':
                self.unreachable = bool(value)
            elif key == 'delay':
                self.delay = max(0.0, float(value))
            elif key == 'fru' and isinstance(value, dict):
                self.fru.update(value)
            elif key == 'firmware':
                self.firmware = str(value)
            elif key == 'sensors' and isinstance(value, dict) and set(value) <= set(SENSORS):
                self.sensors.update(value)
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


def wake_io():
    """Wake pyghmi's IO thread (see serve()), and so the serve() loop: SOL output is waiting."""
    sock = _WAKE.get('socket')
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.sendto(b'\x01', sock.getsockname())


_WAKE: dict = {}


def serve(specs, control=None):
    bmcs = [EmulatedBmc(spec) for spec in specs]
    # pyghmi wakes its IO thread (blocked in select()) with a byte sent to
    # ("myself", port of its first socket), "myself" being a loopback address
    # it guessed: ::1 or 127.0.0.1. Our first socket is a BMC's, bound to its
    # own address (127.0.0.20, ...), so every wake-up was lost: the IO thread
    # watched only the sockets it knew when it started, and waiters slept
    # until unrelated traffic came (stalls of up to 30 s under load). Aim the
    # wake-ups at that socket, and wake the thread once now.
    first = bmcs[0].serversocket
    ipmisession.myself = first.getsockname()[0]
    first.sendto(b'\x01', first.getsockname())
    _WAKE['socket'] = first
    server = None
    if control:
        host, port = control.rsplit(':', 1)
        server = control_server(bmcs, host or '127.0.0.1', int(port))
    print(json.dumps({'ready': [b.state() for b in bmcs],
                      'control': '%s:%d' % server.server_address[:2] if server else None}), flush=True)
    while True:
        try:
            # pyghmi's own listen() waits 30 s per round; short rounds bound
            # the cost of any wake-up still lost.
            ipmisession.Session.wait_for_rsp(timeout=LISTEN_ROUND)
            for bmc in bmcs:
                bmc.send_serial_output()
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
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # kill -USR1 <pid>: where is every thread
    serve(specs, args.control)


if __name__ == '__main__':
    main()
