# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Masking of secrets in what modules return.

Private to rackops.baremetal (the leading underscore). Ironic already masks
``*_password`` in driver_info; we mask again so no code path (an older Ironic,
an OpenStack cloud with a different policy, instance_info with a config drive
secret) can hand a secret to Ansible's output.
"""

from __future__ import annotations

MASK = '******'

# 'key' catches what a driver_info pass-through may hold (ipmi_hex_kg_key, a vendor's api_key):
# masking a harmless value is cheap, leaking a secret is not. Public keys are exactly that.
_SECRET_WORDS = ('password', 'secret', 'token', 'passphrase', 'key')
_PUBLIC = ('ssh_keys', 'public_key', 'public_keys')


def is_secret_key(key):
    lowered = str(key).lower()
    return lowered not in _PUBLIC and any(word in lowered for word in _SECRET_WORDS)


def redact(value):
    """Return a copy of ``value`` with every secret-looking key masked."""
    if isinstance(value, dict):
        return {k: (MASK if is_secret_key(k) and v not in (None, '') else redact(v))
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value
