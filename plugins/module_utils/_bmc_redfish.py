# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Redfish BMCs through sushy (the library Ironic uses), behind the interface of ``_bmc``.

Private to rackops.baremetal (the leading underscore).
"""

from __future__ import annotations

import traceback

from ansible_collections.rackops.baremetal.plugins.module_utils._bmc import BmcError

try:
    import sushy
    from sushy import auth as sushy_auth
    from sushy import exceptions as sushy_exceptions
except ImportError:
    HAS_SUSHY = False
    SUSHY_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_SUSHY = True
    SUSHY_IMPORT_ERROR = None

TO_REDFISH_BOOT = {'pxe': 'Pxe', 'disk': 'Hdd', 'cdrom': 'Cd', 'bios': 'BiosSetup'}
FROM_REDFISH_BOOT = {v: k for k, v in TO_REDFISH_BOOT.items()}
TO_REDFISH_RESET = {'on': 'On', 'off': 'ForceOff', 'soft': 'GracefulShutdown',
                    'reset': 'ForceRestart', 'cycle': 'PowerCycle'}
HEALTH = {'OK': 'ok', 'Warning': 'warning', 'Critical': 'critical'}


def _value(enum_or_str):
    return getattr(enum_or_str, 'value', enum_or_str)


def _classify(exc):
    if isinstance(exc, sushy_exceptions.ConnectionError):
        return BmcError('BMC did not answer (%s)' % exc, 'unreachable')
    if isinstance(exc, sushy_exceptions.AccessError):
        return BmcError('BMC refused the credentials (%s)' % exc, 'auth')
    if isinstance(exc, sushy_exceptions.ResourceNotFoundError):
        return BmcError('BMC has no such resource (%s)' % exc, 'error')
    return BmcError('BMC error: %s' % exc)


def _verify(value):
    if value is None:
        return True
    if isinstance(value, str) and value.lower() in ('true', 'yes', '1', 'false', 'no', '0'):
        return value.lower() in ('true', 'yes', '1')
    return value


def base_url(address):
    return address if '://' in address else 'https://%s' % address


class RedfishClient:
    """One Redfish session (basic auth when the BMC has no session service);
    close() always deletes the session."""

    cipher_suite = None

    def __init__(self, bmc, timeout):
        self.auth = sushy_auth.SessionOrBasicAuth(username=bmc['username'], password=bmc['password'])
        self.priv_level = None
        try:
            # No server-side retries: the task's deadline is the only patience a BMC gets.
            self.root = sushy.Sushy(base_url(bmc['address']), auth=self.auth, verify=_verify(bmc['verify_ca']),
                                    server_side_retries=0, read_timeout=max(1, int(timeout)),
                                    connect_timeout=max(1, int(timeout)))
            self.system = self._system(bmc['system_id'])
        except sushy_exceptions.SushyError as exc:
            raise _classify(exc) from None

    def _system(self, system_id):
        if system_id:
            path = system_id if system_id.startswith('/') else '/redfish/v1/Systems/%s' % system_id
            return self.root.get_system(path)
        members = list(self.root.get_system_collection().members_identities)
        if len(members) != 1:
            raise BmcError('BMC manages %d systems: give system_id (one of %s)'
                           % (len(members), ', '.join(sorted(members))))
        return self.root.get_system(members[0])

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except sushy_exceptions.SushyError as exc:
            raise _classify(exc) from None

    def power_state(self):
        self._call(self.system.refresh)
        state = _value(self.system.power_state)
        return {'On': 'on', 'Off': 'off'}.get(state, str(state).lower())

    def set_power(self, wanted):
        self._call(self.system.reset_system, sushy.ResetType(TO_REDFISH_RESET[wanted]))

    def boot(self):
        self._call(self.system.refresh)
        boot = self.system.boot
        enabled = _value(boot.enabled)
        target = _value(boot.target)
        return {'device': FROM_REDFISH_BOOT.get(target) if enabled != 'Disabled' else None,
                'persistent': enabled == 'Continuous',
                'mode': {'UEFI': 'uefi', 'Legacy': 'bios'}.get(_value(boot.mode))}

    def set_boot(self, device, persistent, mode):
        kwargs = dict(target=sushy.BootSource(TO_REDFISH_BOOT[device]),
                      enabled=sushy.BootSourceOverrideEnabled('Continuous' if persistent else 'Once'))
        if mode is not None:
            kwargs['mode'] = sushy.BootSourceOverrideMode('UEFI' if mode == 'uefi' else 'Legacy')
        self._call(self.system.set_system_boot_options, **kwargs)

    def check(self):
        try:
            allowed = self.system.get_allowed_system_boot_source_values()
            boot_support = bool(allowed)
        except sushy_exceptions.SushyError:
            boot_support = False
        return {'priv_level': None, 'cipher_suite': None, 'boot_device_support': boot_support,
                'redfish_version': self.root.redfish_version}

    def facts(self):
        system = self.system
        firmware = None
        try:
            managers = system.managers
            firmware = managers[0].firmware_version if managers else None
        except (sushy_exceptions.SushyError, AttributeError, IndexError):
            pass
        macs = []
        try:
            macs = sorted(str(mac).lower() for mac in system.ethernet_interfaces.summary)
        except (sushy_exceptions.SushyError, AttributeError):
            pass
        return {
            'vendor': system.manufacturer,
            'model': system.model,
            'serial': system.serial_number,
            'system_uuid': system.uuid,
            'firmware': firmware,
            'bios_version': system.bios_version,
            'macs': macs,
            'bmc_mac': None,
            'sensors': self._sensors(),
        }

    def _sensors(self):
        sensors = {'temperatures': [], 'fans': [], 'power_supplies': []}
        try:
            chassis = self.system.chassis
        except (sushy_exceptions.SushyError, AttributeError):
            return sensors
        for one in chassis or []:
            for attr, kind, unit in (('thermal', 'temperatures', 'Cel'), ('thermal', 'fans', None),
                                     ('power', 'power_supplies', None)):
                try:
                    section = getattr(one, attr)
                    items = getattr(section, kind) or []
                except (sushy_exceptions.SushyError, AttributeError):
                    continue
                for item in items:
                    status = getattr(item, 'status', None)
                    sensors[kind].append({
                        'name': getattr(item, 'name', None),
                        'value': getattr(item, 'reading_celsius', None) if unit else getattr(item, 'reading', None),
                        'units': unit or _value(getattr(item, 'reading_units', None)),
                        'health': HEALTH.get(_value(getattr(status, 'health', None)), 'ok'),
                        'states': [],
                    })
        return sensors

    def close(self):
        try:
            self.auth.close()
        except Exception:  # pylint: disable=broad-except
            pass  # the session expires on the BMC anyway; deleting it is a courtesy
