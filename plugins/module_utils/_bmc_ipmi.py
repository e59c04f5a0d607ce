# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""IPMI (lanplus) BMCs through pyghmi, behind the interface of ``_bmc``.

Private to rackops.baremetal (the leading underscore).
"""

from __future__ import annotations

import time
import traceback

from ansible_collections.rackops.baremetal.plugins.module_utils._bmc import BmcError

try:
    from pyghmi import exceptions as pyghmi_exceptions
    from pyghmi.ipmi import command as ipmi_command
except ImportError:
    HAS_PYGHMI = False
    PYGHMI_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_PYGHMI = True
    PYGHMI_IMPORT_ERROR = None

PRIV_LEVELS = {'administrator': 4, 'operator': 3, 'user': 2, 'callback': 1}
# Our boot device names <-> pyghmi's.
TO_PYGHMI_BOOT = {'pxe': 'network', 'disk': 'hd', 'cdrom': 'optical', 'bios': 'setup'}
FROM_PYGHMI_BOOT = {'network': 'pxe', 'hd': 'disk', 'optical': 'cdrom', 'setup': 'bios', 'default': None}
# pyghmi power request names for our power options; 'cycle' is a raw chassis control.
TO_PYGHMI_POWER = {'on': 'on', 'off': 'off', 'soft': 'shutdown', 'reset': 'reset'}
CHASSIS_POWER_CYCLE = 2
# pyghmi reports sensor health as bits (pyghmi.constants.Health).
SENSOR_KINDS = {'Temperature': 'temperatures', 'Fan': 'fans', 'Power Supply': 'power_supplies'}
# Units as Redfish spells them (UCUM), so both drivers report alike.
UNITS = {'\u00b0C': 'Cel', '\u00b0F': '[degF]'}
# pyghmi's session negotiates RMCP+ cipher suite 3 (HMAC-SHA1, AES-128) only.
PYGHMI_CIPHER_SUITE = 3
# How long a failed login's reason may lag behind the failure in pyghmi (see _late_login_error).
LATE_ERROR_WAIT = 1.0


def _classify(exc):
    """pyghmi says what went wrong in its message only: sort it into our kinds."""
    if not exc.args or exc.args[0] in (None, ''):
        # pyghmi gives up on a login that got no reply without a message
        return BmcError('BMC did not answer the session request', 'unreachable')
    text = str(exc)
    lowered = text.lower()
    if 'timeout' in lowered or 'timed out' in lowered or 'unreachable' in lowered:
        return BmcError('BMC did not answer (%s)' % text, 'unreachable')
    if 'password' in lowered or 'unauthorized' in lowered or 'privilege' in lowered:
        return BmcError('BMC refused the credentials (%s)' % text, 'auth')
    return BmcError('BMC error: %s' % text)


def _late_login_error(exc, clock=time.monotonic, sleep=time.sleep):
    """The reason of a login pyghmi broke off, when pyghmi raced itself reading it; None when
    ``exc`` is not that race.

    pyghmi's IO thread marks a failing session broken (in logout) before it stores why
    (``errormsg``); the constructor, woken in between, reads the reason that is not there yet
    and raises AttributeError. The session is in that exception's traceback: wait for the IO
    thread to store the reason, so a wrong password still reads as one."""
    if 'errormsg' not in str(exc):
        return None
    session = None
    frame = exc.__traceback__
    while frame is not None:
        candidate = frame.tb_frame.f_locals.get('self')
        if candidate is not None and hasattr(candidate, 'logonwaiters'):  # pyghmi's Session
            session = candidate
        frame = frame.tb_next
    if session is None:
        return None
    deadline = clock() + LATE_ERROR_WAIT
    while not hasattr(session, 'errormsg') and clock() < deadline:
        sleep(0.01)
    return pyghmi_exceptions.IpmiException(getattr(session, 'errormsg', None))


def _health(bits):
    if bits & 4:
        return 'failed'
    if bits & 2:
        return 'critical'
    if bits & 1:
        return 'warning'
    return 'ok'


def _firmware_revision(data):
    """Firmware revision from Get Device ID, as ipmitool prints it: the minor
    revision is two BCD digits (1.05 and 1.5 differ; pyghmi drops the zero)."""
    if not data or len(data) < 4:
        return None
    return '%d.%02x' % (data[2] & 0x7F, data[3])


class IpmiClient:
    """One logged-in IPMI session; close() always logs out."""

    cipher_suite = PYGHMI_CIPHER_SUITE

    def __init__(self, bmc):
        self.priv_level = bmc['priv_level']
        self.cmd = None
        try:
            self.cmd = ipmi_command.Command(
                bmc=bmc['address'], userid=bmc['username'] or '', password=bmc['password'] or '',
                port=bmc['port'] or 623, privlevel=PRIV_LEVELS[self.priv_level], keepalive=False)
        except (pyghmi_exceptions.PyghmiException, OSError) as exc:
            raise _classify(exc) from None
        except AttributeError as exc:
            late = _late_login_error(exc)
            if late is None:
                raise
            raise _classify(late) from None

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (pyghmi_exceptions.PyghmiException, OSError) as exc:
            raise _classify(exc) from None

    def power_state(self):
        return self._call(self.cmd.get_power)['powerstate']

    def set_power(self, wanted):
        if wanted == 'cycle':
            response = self._call(self.cmd.raw_command, netfn=0, command=2, data=[CHASSIS_POWER_CYCLE])
            if 'error' in response:
                raise BmcError('BMC refused the power cycle: %s' % response['error'])
            return
        self._call(self.cmd.set_power, TO_PYGHMI_POWER[wanted], wait=False)

    def boot(self):
        current = self._call(self.cmd.get_bootdev)
        return {'device': FROM_PYGHMI_BOOT.get(current.get('bootdev'), current.get('bootdev')),
                'persistent': bool(current.get('persistent')),
                'mode': 'uefi' if current.get('uefimode') else 'bios'}

    def set_boot(self, device, persistent, mode):
        uefi = None if mode is None else mode == 'uefi'
        self._call(self.cmd.set_bootdev, TO_PYGHMI_BOOT[device], persist=persistent, uefiboot=uefi)

    def check(self):
        """What a preflight wants to know beyond "it answered and let us in"."""
        try:
            self.boot()
            boot_support = True
        except BmcError:
            boot_support = False
        return {'priv_level': self.priv_level, 'cipher_suite': self.cipher_suite,
                'boot_device_support': boot_support}

    def facts(self):
        inventory = dict(self._call(self.cmd.get_inventory))
        system = inventory.get('System') or {}
        device_id = self._call(self.cmd.raw_command, netfn=6, command=1)
        macs = sorted({str(v).lower() for entry in inventory.values() if isinstance(entry, dict)
                       for k, v in entry.items() if 'mac' in k.lower().split() and v})
        try:
            bmc_mac = self.cmd.get_net_configuration().get('mac_address')
        except (pyghmi_exceptions.PyghmiException, OSError, KeyError, TypeError):
            bmc_mac = None  # many BMCs (and the emulator) do not expose LAN parameters
        sensors = {kind: [] for kind in SENSOR_KINDS.values()}
        for reading in self._call(lambda: list(self.cmd.get_sensor_data())):
            kind = SENSOR_KINDS.get(reading.type)
            if kind is None:
                continue
            units = UNITS.get(reading.units, reading.units)
            sensors[kind].append({'name': reading.name, 'value': reading.value, 'units': units or None,
                                  'health': _health(reading.health), 'states': list(reading.states)})
        return {
            'vendor': system.get('Manufacturer') or system.get('Board manufacturer'),
            'model': system.get('Product name') or system.get('Board product name'),
            'serial': system.get('Serial Number') or system.get('Board serial number'),
            'system_uuid': system.get('UUID'),
            'firmware': _firmware_revision(device_id.get('data')),
            'macs': macs,
            'bmc_mac': bmc_mac,
            'sensors': sensors,
        }

    def close(self):
        if self.cmd is not None:
            try:
                self.cmd.ipmi_session.logout()
            except Exception:  # pylint: disable=broad-except
                pass  # the session is gone either way; logging out is a courtesy to the BMC
