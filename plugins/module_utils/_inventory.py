# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory contract: one server's description, its schema and validation.

Private to rackops.baremetal (the leading underscore).

A server is described by a dict (the ``baremetal`` host variable, deep-merged
over the group-level ``baremetal_defaults``; see docs/inventory.md). SCHEMA is
the published, machine-readable form (docs/inventory.schema.json is generated
from it); validate_fleet() enforces it for a whole fleet at once, adding the
checks a schema cannot express (duplicates across hosts, what each driver
needs, what the engine has enabled). to_ironic() turns a valid description
into the fields Ironic stores.
"""

from __future__ import annotations

import copy
import difflib
import ipaddress
import re
import traceback

try:
    import jsonschema
except ImportError:
    HAS_JSONSCHEMA = False
    JSONSCHEMA_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_JSONSCHEMA = True
    JSONSCHEMA_IMPORT_ERROR = None

# The hardware types whose BMC fields the contract models (bmc.address, ...); any other
# hardware type the engine enables is described by its Ironic keys alone (bmc.driver_info).
_REDFISH_FIELDS = {'address': 'redfish_address', 'system_id': 'redfish_system_id',
                   'username': 'redfish_username', 'password': 'redfish_password', 'verify_ca': 'redfish_verify_ca'}
DRIVER_FIELDS = {
    'ipmi': {'address': 'ipmi_address', 'port': 'ipmi_port', 'username': 'ipmi_username',
             'password': 'ipmi_password', 'cipher_suite': 'ipmi_cipher_suite', 'priv_level': 'ipmi_priv_level'},
    'redfish': _REDFISH_FIELDS,
    # Dell's iDRAC speaks Redfish: Ironic's idrac-redfish interfaces read the redfish_* keys
    'idrac': _REDFISH_FIELDS,
    'manual-management': {},
    'fake-hardware': {},
}
DRIVERS = tuple(DRIVER_FIELDS)
# What each driver cannot work without (keys of `bmc`, or their Ironic keys in bmc.driver_info).
DRIVER_REQUIRES = {
    'ipmi': ('address', 'username', 'password'),
    'redfish': ('address', 'username', 'password'),
    'idrac': ('address', 'username', 'password'),
}
REDFISH_DRIVERS = ('redfish', 'idrac')
INTERFACE_KINDS = ('bios', 'boot', 'console', 'deploy', 'firmware', 'inspect', 'management',
                   'network', 'power', 'raid', 'rescue', 'storage', 'vendor')
MAC_PATTERN = r'^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$'
BOND_MODES = ['balance-rr', 'active-backup', 'balance-xor', 'broadcast', '802.3ad', 'balance-tlb', 'balance-alb']
CHECKSUM_PATTERN = r'^([0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64}|[0-9a-fA-F]{128}|(sha256|sha512|md5):[0-9a-fA-F]+|https?://\S+)$'
URL_PATTERN = r'^(https?|file)://\S+$'
# Ironic's rule for node names (RFC 3986 unreserved characters, at most 255); a UUID-like name it refuses too
NAME_PATTERN = r'^[A-Za-z0-9._~-]{1,255}$'
_UUID_LIKE = re.compile(r'^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$')
# An OpenSSH public key line: type, base64 body, optional comment
SSH_KEY_PATTERN = (r'^(ssh-(rsa|dss|ed25519)|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com'
                   r'|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( [^\n]*)?$')
# Set by the inventory_nodes filter when a server's name is not its inventory host's: messages
# name both. Not part of the contract (validation looks past it).
INVENTORY_HOST_KEY = '_inventory_host'
# hex digits per checksum algorithm (algo:hex form)
_HEX_LENGTHS = {'md5': 32, 'sha1': 40, 'sha256': 64, 'sha512': 128}

_STR = {'type': 'string', 'minLength': 1}
_TRAIT = {'type': 'string', 'pattern': r'^[A-Z][A-Z0-9_]*$'}
_HINTS = {'type': 'object', 'additionalProperties': False, 'properties': {
    key: {'type': ['string', 'integer', 'boolean']} for key in
    ('size', 'name', 'serial', 'wwn', 'wwn_with_extension', 'wwn_vendor_extension', 'model',
     'vendor', 'hctl', 'by_path', 'rotational')}}
_IP_CONFIG = {'type': 'object', 'additionalProperties': False, 'required': ['address'],
              'properties': {'address': {'type': 'string', 'description': 'Address with prefix, e.g. 10.0.0.5/24.'},
                             'gateway': {'type': 'string'},
                             'dns': {'type': 'array', 'items': {'type': 'string'}}}}

SCHEMA = {
    '$schema': 'https://json-schema.org/draft/2020-12/schema',
    '$id': 'https://github.com/rackops/baremetal/docs/inventory.schema.json',
    'title': 'rackops.baremetal server',
    'description': 'One inventory host = one server: the `baremetal` host variable deep-merged over `baremetal_defaults`.',
    'type': 'object',
    'additionalProperties': False,
    'required': ['name', 'bmc'],
    'properties': {
        'name': {'type': 'string', 'pattern': NAME_PATTERN,
                 'description': 'Ironic node name (letters, digits, and - . _ ~; not a UUID); defaults to the '
                                'inventory host name.'},
        'state': {'enum': ['present', 'absent'],
                  'description': '`absent`: enroll, provision and retire remove the node (a deployed one only when '
                                 'forced); the other playbooks leave the server out.'},
        'bmc': {
            'type': 'object', 'additionalProperties': False, 'required': ['driver'],
            'description': 'How Ironic reaches the BMC.',
            'properties': {
                'driver': {'type': 'string', 'pattern': r'^[a-z][a-z0-9_-]*$',
                           'description': 'Ironic hardware type. The fields below model ' + ', '.join(DRIVERS)
                                          + '; any other type the engine enables takes its keys from driver_info.'},
                'driver_info': {
                    'type': 'object', 'propertyNames': {'pattern': r'^[a-z][a-z0-9_]*$'},
                    'additionalProperties': {'type': ['string', 'integer', 'number', 'boolean']},
                    'description': 'Ironic driver_info keys passed through as given (e.g. ipmi_protocol_version, '
                                   'redfish_auth_type), checked against the engine\'s driver properties before any '
                                   'write. Values of keys naming a password, secret or key are masked in every output.'},
                'address': {**_STR, 'description': 'IPMI: host or IP. Redfish: URL (https://host) or host.'},
                'port': {'type': 'integer', 'minimum': 1, 'maximum': 65535, 'description': 'IPMI UDP port (623).'},
                'username': _STR,
                'password': {**_STR, 'description': 'Keep it in Ansible Vault. Never logged or returned.'},
                'system_id': {**_STR, 'description': 'Redfish system path, e.g. /redfish/v1/Systems/1.'},
                'verify_ca': {'type': ['boolean', 'string'], 'description': 'Redfish: verify TLS (bool) or a CA bundle path.'},
                'cipher_suite': {'type': 'integer', 'enum': [1, 2, 3, 6, 7, 8, 11, 12, 15, 16, 17]},
                'priv_level': {'enum': ['ADMINISTRATOR', 'OPERATOR', 'USER', 'CALLBACK']},
            },
        },
        'nics': {
            'type': 'array',
            'items': {
                'type': 'object', 'additionalProperties': False, 'required': ['mac'],
                'properties': {
                    'mac': {'type': 'string', 'pattern': MAC_PATTERN},
                    'pxe': {'type': 'boolean', 'description': 'This NIC PXE-boots (default: the first NIC).'},
                    'ip': {'type': 'string',
                           'description': 'The IPv4 address the boot services\' DHCP reserves for this (PXE) NIC '
                                          '(playbook site.yml); without it the NIC gets one from the DHCP range.'},
                    'local_link_connection': {
                        'type': 'object', 'additionalProperties': False,
                        'properties': {'switch_id': {'type': 'string'}, 'port_id': {'type': 'string'},
                                       'switch_info': {'type': 'string'}},
                    },
                },
            },
        },
        'bonds': {
            'type': 'array',
            'description': 'Port groups (bonds): Ironic port group <server>-<name> holding the NICs listed.',
            'items': {
                'type': 'object', 'additionalProperties': False, 'required': ['name', 'nics'],
                'properties': {
                    'name': {'type': 'string', 'pattern': r'^[a-zA-Z0-9_.~-]+$'},
                    'nics': {'type': 'array', 'minItems': 1, 'items': {'type': 'string', 'pattern': MAC_PATTERN}},
                    'mode': {'enum': BOND_MODES},
                    'mac': {'type': 'string', 'pattern': MAC_PATTERN},
                    'properties': {'type': 'object', 'description': 'e.g. {miimon: 100, xmit_hash_policy: layer3+4}'},
                    'standalone_ports': {'type': 'boolean',
                                         'description': 'Its NICs may also be used alone (default true).'},
                },
            },
        },
        'properties': {
            'type': 'object', 'additionalProperties': False,
            'properties': {
                'cpu_arch': {'enum': ['x86_64', 'aarch64', 'ppc64le', 's390x']},
                'cpus': {'type': 'integer', 'minimum': 1},
                'memory_mb': {'type': 'integer', 'minimum': 1},
                'local_gb': {'type': 'integer', 'minimum': 0},
                'boot_mode': {'enum': ['bios', 'uefi']},
            },
        },
        'root_device': {**_HINTS, 'description': 'Root device hints (Ironic `root_device`).'},
        'resource_class': _STR,
        'automated_clean': {'type': 'boolean',
                            'description': 'Clean the node when it becomes available (default: as the engine says).'},
        'traits': {'type': 'array', 'items': _TRAIT},
        'deploy_templates': {'type': 'array', 'items': _TRAIT,
                             'description': 'Ironic deploy templates to apply when deploying, by name (a trait); '
                                            'the deploy asks for them and adds them to the node\'s traits.'},
        'conductor_group': {'type': 'string', 'pattern': r'^[a-zA-Z0-9_.-]*$'},
        'interfaces': {'type': 'object', 'additionalProperties': False,
                       'properties': {kind: _STR for kind in INTERFACE_KINDS},
                       'description': 'Per-node interfaces, e.g. {deploy: fake} for fake-hardware.'},
        'deploy_kernel': {'type': 'string', 'pattern': URL_PATTERN},
        'deploy_ramdisk': {'type': 'string', 'pattern': URL_PATTERN},
        'image': {
            'type': 'object', 'additionalProperties': False, 'required': ['source'],
            'properties': {
                'source': {'type': 'string', 'pattern': URL_PATTERN},
                'name': {'type': 'string', 'pattern': r'^[A-Za-z0-9][A-Za-z0-9._-]*$',
                         'description': 'An image the site publishes (the images role\'s images_disk_name): the '
                                        'inventory_nodes filter makes it source <images URL>/<name>.qcow2 with its '
                                        '.sha256 beside it.'},
                'checksum': {'type': 'string', 'pattern': CHECKSUM_PATTERN},
                'type': {'enum': ['whole-disk', 'partition']},
                'kernel': {'type': 'string', 'pattern': URL_PATTERN},
                'ramdisk': {'type': 'string', 'pattern': URL_PATTERN},
                'root_gb': {'type': 'integer', 'minimum': 1},
            },
        },
        'network': {
            'type': 'object', 'additionalProperties': False,
            'properties': {'dhcp': {'type': 'boolean'}, 'ipv4': _IP_CONFIG, 'ipv6': _IP_CONFIG},
        },
        'hostname': {'type': 'string', 'pattern': r'^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,251}[a-zA-Z0-9])?$',
                     'description': 'Host name for the config drive; defaults to the server name.'},
        'ssh_keys': {'type': 'array', 'items': {'type': 'string', 'pattern': SSH_KEY_PATTERN},
                     'description': 'OpenSSH public keys (one line each) for the config drive.'},
        'user_data': {'type': 'string'},
        'extra': {'type': 'object', 'description': 'Free-form Ironic `extra` keys.'},
    },
}


def deep_merge(base, override):
    """``override`` over ``base``; dicts merge key by key, anything else replaces."""
    merged = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _field(path):
    return '.'.join(str(p) if not isinstance(p, int) else '[%d]' % p for p in path).replace('.[', '[') or '(top)'


_JSON_TYPES = {'str': 'string', 'dict': 'object', 'list': 'array', 'NoneType': 'null', 'int': 'integer',
               'float': 'number', 'bool': 'boolean'}
# a type error shows the value only when it cannot be a secret: under no password/secret/key/token field, and a
# string only when it spells a number or a yes/no (any other string may be a password put in the wrong place)
_SECRET_FIELD = re.compile(r'pass|secret|key|token', re.I)
_TOKEN = re.compile(r'^[^\s\'"\\]{1,64}$')
_PLAIN_WORD = re.compile(r'^(?:[-+]?[0-9]+(?:\.[0-9]+)?|true|false|yes|no|on|off|none|null)$', re.I)


def _echo(value):
    """A value for a message: quoted when it is a short single token, else only its kind.

    A value with spaces or line breaks, or a long one, may be a password or a key pasted into the wrong field.
    """
    if isinstance(value, (int, float, bool)) or (isinstance(value, str) and _TOKEN.match(value)):
        return repr(value)
    return 'this ' + _JSON_TYPES.get(type(value).__name__, type(value).__name__)


def _with_article(noun):
    return ('an ' if noun[:1] in 'aeiou' else 'a ') + noun


def _describe(error):
    """One jsonschema error in words an operator can act on."""
    if error.validator == 'additionalProperties':
        allowed = sorted(error.schema.get('properties', {}))
        extra = sorted(set(error.instance) - set(allowed))
        out = []
        for key in extra:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = ' (did you mean %s?)' % close[0] if close else ' (known: %s)' % ', '.join(allowed)
            out.append((list(error.absolute_path) + [key], 'unknown key' + hint))
        return out
    if error.validator == 'required':
        missing = re.search(r"'([^']+)' is a required property", error.message)
        key = missing.group(1) if missing else '?'
        return [(list(error.absolute_path) + [key], 'required')]
    if error.validator == 'pattern':
        if error.validator_value == SSH_KEY_PATTERN:
            # never echoed: it may be a private key pasted by mistake
            private = 'PRIVATE KEY' in str(error.instance)
            return [(list(error.absolute_path), 'a private key: only public keys belong here (and a private key in an '
                     'inventory is a leaked key: replace it)' if private else 'not an OpenSSH public key line')]
        what = {MAC_PATTERN: 'not a MAC address (aa:bb:cc:dd:ee:ff)',
                NAME_PATTERN: 'not a node name Ironic takes (letters, digits, and - . _ ~; at most 255)',
                CHECKSUM_PATTERN: 'not a checksum (md5/sha1/sha256/sha512 hex, sha256:/sha512:/md5:<hex>, or a URL)',
                URL_PATTERN: 'not an http://, https:// or file:// URL'}.get(error.validator_value)
        return [(list(error.absolute_path), what or 'does not match %s' % error.validator_value)]
    if error.validator == 'enum':
        return [(list(error.absolute_path), '%s is not one of %s' % (_echo(error.instance), ', '.join(map(str, error.validator_value))))]
    if error.validator == 'type':
        secret = any(_SECRET_FIELD.search(str(step)) for step in error.absolute_path)
        shown = repr(error.instance) if not secret and (isinstance(error.instance, (int, float, bool)) or (
            isinstance(error.instance, str) and _PLAIN_WORD.match(error.instance))) else (
            _with_article(_JSON_TYPES.get(type(error.instance).__name__, type(error.instance).__name__)))
        return [(list(error.absolute_path), '%s is not of type %s' % (shown, error.validator_value))]
    return [(list(error.absolute_path), error.message)]


def _check_driver_fields(host, driver, bmc, problems):
    fields = DRIVER_FIELDS.get(driver, {})
    passed = bmc.get('driver_info') or {}
    for key in DRIVER_REQUIRES.get(driver, ()):
        if not bmc.get(key) and not passed.get(fields[key]):
            problems.append('%s: bmc.%s: required for driver %s' % (host, key, driver))
    for key in sorted(set(bmc) - set(fields) - {'driver', 'driver_info'}):
        hint = '' if driver in DRIVER_FIELDS else ' (give its Ironic keys under bmc.driver_info)'
        problems.append('%s: bmc.%s: not used by driver %s%s' % (host, key, driver, hint))
    for key, ironic_key in sorted(fields.items()):
        if key in bmc and ironic_key in passed:
            problems.append('%s: bmc.driver_info.%s: also set by bmc.%s' % (host, ironic_key, key))


def check_driver_properties(servers, properties):
    """The problems of each server's pass-through keys (bmc.driver_info) against its driver's
    properties on the engine: ``properties`` is {driver: {key: description}} (GET
    /v1/drivers/<driver>/properties, the union over the interfaces the engine enables).

    A key the driver does not know is a typo Ironic would store and ignore. (Ironic's "Required."
    in a description is no guide: the union holds every interface's, e.g. ipmi_address for redfish.)
    """
    problems = []
    for server in servers:
        bmc = server['bmc']
        known = properties.get(bmc['driver'])
        if known is None:
            continue
        for key in sorted(set(bmc.get('driver_info') or {}) - set(known)):
            close = difflib.get_close_matches(key, sorted(known), n=1)
            problems.append('%s: bmc.driver_info.%s: %s is not a property of driver %s on this engine%s' % (
                server['name'], key, key, bmc['driver'], ' (did you mean %s?)' % close[0] if close else ''))
    return problems


def _mistyped_ipv4(text):
    """Dotted decimal that is no IPv4 address: a host name never has that form (RFC 1123)."""
    if not re.match(r'^[0-9.]+$', text):
        return False
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return True
    return False


def _check_address(host, driver, bmc, problems):
    address = bmc.get('address')
    if not address:
        return
    if driver in REDFISH_DRIVERS:
        if '://' in address and not re.match(r'^https?://[^/\s]+', address):
            problems.append('%s: bmc.address: %s is not an http(s) URL' % (host, _echo(address)))
            return
        name = re.sub(r'^https?://', '', address).split('/', 1)[0].rsplit(':', 1)[0]
        if _mistyped_ipv4(name):
            problems.append('%s: bmc.address: %s is not a valid IPv4 address' % (host, _echo(name)))
        return
    try:
        ipaddress.ip_address(address)
    except ValueError:
        if _mistyped_ipv4(address):
            problems.append('%s: bmc.address: %s is not a valid IPv4 address' % (host, _echo(address)))
        elif not re.match(r'^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*$', address):
            problems.append('%s: bmc.address: %s is neither an IP address nor a host name' % (host, _echo(address)))


def _check_network(host, network, problems):
    for family, version in (('ipv4', 4), ('ipv6', 6)):
        config = (network or {}).get(family)
        if not config:
            continue
        try:
            iface = ipaddress.ip_interface(config['address'])
            if iface.version != version or '/' not in config['address']:
                raise ValueError
        except ValueError:
            problems.append('%s: network.%s.address: %s is not an IPv%d address with a prefix'
                            % (host, family, _echo(config['address']), version))
            continue
        gateway = config.get('gateway')
        if gateway:
            try:
                if ipaddress.ip_address(gateway) not in iface.network:
                    problems.append('%s: network.%s.gateway: %s is outside %s' % (host, family, gateway, iface.network))
            except ValueError:
                problems.append('%s: network.%s.gateway: %s is not an IP address' % (host, family, _echo(gateway)))


def _check_bonds(host, server, problems):
    macs = {nic['mac'].lower() for nic in server.get('nics', [])}
    bonded, names = {}, set()
    for i, bond in enumerate(server.get('bonds', [])):
        if bond['name'] in names:
            problems.append('%s: bonds[%d].name: %s is used twice' % (host, i, bond['name']))
        names.add(bond['name'])
        for j, mac in enumerate(bond['nics']):
            mac = mac.lower()
            if mac not in macs:
                problems.append('%s: bonds[%d].nics[%d]: %s is not one of the server\'s nics' % (host, i, j, mac))
            elif mac in bonded:
                problems.append('%s: bonds[%d].nics[%d]: %s is already in bond %s' % (host, i, j, mac, bonded[mac]))
            bonded.setdefault(mac, bond['name'])


def pxe_nic_index(server):
    """Which of the server's NICs network-boots: the one marked pxe, else the first unless it says
    pxe: false (None: no NIC does)."""
    nics = server.get('nics') or []
    marked = [index for index, nic in enumerate(nics) if nic.get('pxe')]
    if marked:
        return marked[0]
    return 0 if nics and 'pxe' not in nics[0] else None


def _check_pxe_ip(host, server, seen_ips, problems):
    pxe = pxe_nic_index(server)
    for index, nic in enumerate(server.get('nics') or []):
        if 'ip' not in nic:
            continue
        field = '%s: nics[%d].ip' % (host, index)
        if index != pxe:
            problems.append('%s: only the PXE NIC gets a DHCP reservation' % field)
            continue
        try:
            address = ipaddress.IPv4Address(nic['ip'])
        except ValueError:
            problems.append('%s: %s is not an IPv4 address' % (field, _echo(nic['ip'])))
            continue
        if address in seen_ips:
            problems.append('%s: %s is also reserved for %s' % (field, address, seen_ips[address]))
        seen_ips.setdefault(address, host)


def portgroup_name(server_name, bond_name):
    """Ironic port group names are unique across Ironic: prefix the server's."""
    return '%s-%s' % (server_name, bond_name)


def validate_fleet(servers, enabled_drivers=None):
    """Every problem of every server, as 'host: field: problem' lines.

    ``servers`` is a list of descriptions (each with its ``name``);
    ``enabled_drivers`` the hardware types the engine has enabled (None: not checked).
    """
    if not HAS_JSONSCHEMA:
        raise RuntimeError('jsonschema is required to validate the inventory')
    validator = jsonschema.Draft202012Validator(SCHEMA)
    problems = []
    seen_names, seen_macs, seen_bmcs, seen_ips = {}, {}, {}, {}
    for index, server in enumerate(servers):
        name = server.get('name') if isinstance(server, dict) else None
        # a name that is not a valid one is not the label: it may be anything pasted there
        host = name if isinstance(name, str) and re.match(NAME_PATTERN, name) else (
            server.get(INVENTORY_HOST_KEY) if isinstance(server, dict) and server.get(INVENTORY_HOST_KEY)
            else 'server[%d]' % index)
        checked = {k: v for k, v in server.items() if k != INVENTORY_HOST_KEY} if isinstance(server, dict) else server
        errors = sorted(validator.iter_errors(checked), key=lambda e: list(map(str, e.absolute_path)))
        for error in errors:
            for path, text in _describe(error):
                if path == ['image', 'source'] and text == 'required' and (server.get('image') or {}).get('name'):
                    # a name is resolved by the inventory_nodes filter, from the site's variables
                    text = ('required: image.name becomes a source through the inventory_nodes filter, with '
                            'rackops_provisioning_address or rackops_images_url set')
                problems.append('%s: %s: %s' % (host, _field(path), text))
        if errors or not isinstance(server, dict):
            continue
        bmc = server['bmc']
        driver = bmc['driver']
        _check_driver_fields(host, driver, bmc, problems)
        if enabled_drivers is not None and driver not in enabled_drivers:
            problems.append('%s: bmc.driver: %s is not enabled on the engine (enabled: %s)'
                            % (host, driver, ', '.join(sorted(enabled_drivers)) or 'none'))
        _check_address(host, driver, bmc, problems)
        _check_network(host, server.get('network'), problems)
        image = server.get('image') or {}
        if image.get('type') == 'partition' and not (image.get('kernel') and image.get('ramdisk')):
            problems.append('%s: image: a partition image needs kernel and ramdisk' % host)
        if image.get('type') == 'partition' and not image.get('root_gb'):
            # Ironic sizes the root partition it makes by it, and refuses the deploy without it
            problems.append('%s: image.root_gb: required for a partition image (the size of the root partition the '
                            'agent makes, in GiB)' % host)
        algo, _sep, digits = str(image.get('checksum') or '').partition(':')
        if algo in _HEX_LENGTHS and re.match(r'^[0-9a-fA-F]+$', digits) and len(digits) != _HEX_LENGTHS[algo]:
            problems.append('%s: image.checksum: a %s digest has %d hex digits, this one %d'
                            % (host, algo, _HEX_LENGTHS[algo], len(digits)))
        if image and not image.get('checksum') and not image['source'].startswith('file://'):
            problems.append('%s: image.checksum: required for an http(s) image' % host)
        pxe = [nic for nic in server.get('nics', []) if nic.get('pxe')]
        if len(pxe) > 1:
            problems.append('%s: nics: more than one NIC has pxe: true' % host)
        _check_pxe_ip(host, server, seen_ips, problems)
        _check_bonds(host, server, problems)

        label = host if INVENTORY_HOST_KEY not in server else '%s (inventory host %s)' % (host, server[INVENTORY_HOST_KEY])
        if server['name'] in seen_names:
            problems.append('%s: name: also used by %s' % (label, seen_names[server['name']]))
        seen_names.setdefault(server['name'], label)
        if _UUID_LIKE.match(server['name']):
            problems.append('%s: name: a UUID-like name, which Ironic refuses (it would read as a node UUID)' % label)
        for i, nic in enumerate(server.get('nics', [])):
            mac = nic['mac'].lower()
            if mac in seen_macs:
                problems.append('%s: nics[%d].mac: %s is also on %s' % (host, i, mac, seen_macs[mac]))
            seen_macs.setdefault(mac, host)
        if driver == 'ipmi' and bmc.get('address'):
            key = (bmc['address'], bmc.get('port', 623))
            if key in seen_bmcs:
                problems.append('%s: bmc.address: %s:%s is also the BMC of %s' % (host, key[0], key[1], seen_bmcs[key]))
            seen_bmcs.setdefault(key, host)
    return problems


def _redfish_url(address):
    return address if '://' in address else 'https://%s' % address


def to_ironic(server):
    """The Ironic fields of a valid description: (node fields, ports, port groups).

    Each port names its port group (``portgroup``, None when not bonded); the
    node module turns that name into the group's UUID.

    Only keys the description gives appear, so an update patches exactly those
    (keys written by inspection or by hand survive).
    """
    bmc = server['bmc']
    driver = bmc['driver']
    # the pass-through first: a modelled field never meets its own key there (validated)
    driver_info = dict(bmc.get('driver_info') or {})
    for key, ironic_key in DRIVER_FIELDS.get(driver, {}).items():
        if key in bmc:
            driver_info[ironic_key] = bmc[key]
    if driver in REDFISH_DRIVERS and 'address' in bmc:
        driver_info['redfish_address'] = _redfish_url(bmc['address'])
    for key in ('deploy_kernel', 'deploy_ramdisk'):
        if key in server:
            driver_info[key] = server[key]

    fields = {'name': server['name'], 'driver': driver, 'driver_info': driver_info}
    props = dict(server.get('properties') or {})
    boot_mode = props.pop('boot_mode', None)
    if boot_mode:
        props['capabilities'] = 'boot_mode:%s' % boot_mode
    if server.get('root_device'):
        props['root_device'] = server['root_device']
    if props:
        fields['properties'] = props
    for key in ('resource_class', 'conductor_group', 'automated_clean'):
        if key in server:
            fields[key] = server[key]
    if 'traits' in server:
        # the deploy templates too: Ironic applies only those the node has as traits,
        # and a later run must not take away what the deploy added
        fields['traits'] = sorted(set(server['traits']) | set(server.get('deploy_templates') or ()))
    if server.get('extra'):
        fields['extra'] = server['extra']
    for kind, name in (server.get('interfaces') or {}).items():
        fields['%s_interface' % kind] = name

    nics = server.get('nics') or []
    pxe = pxe_nic_index(server)
    group_of = {}
    portgroups = []
    for bond in server.get('bonds') or []:
        group = {'name': portgroup_name(server['name'], bond['name'])}
        for key, ironic_key in (('mode', 'mode'), ('mac', 'address'), ('properties', 'properties'),
                                ('standalone_ports', 'standalone_ports_supported')):
            if key in bond:
                group[ironic_key] = bond[key].lower() if key == 'mac' else bond[key]
        portgroups.append(group)
        for mac in bond['nics']:
            group_of[mac.lower()] = group['name']
    ports = []
    for index, nic in enumerate(nics):
        port = {'address': nic['mac'].lower(), 'pxe_enabled': index == pxe,
                'portgroup': group_of.get(nic['mac'].lower())}
        if nic.get('local_link_connection'):
            port['local_link_connection'] = nic['local_link_connection']
        ports.append(port)
    return fields, ports, portgroups
