# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One way to connect to Ironic.

Private to rackops.baremetal (the leading underscore): no compatibility promise
to code outside this collection.

Two ways to say where Ironic is, never both:
  * ``cloud``: an entry of clouds.yaml (the ``ironic`` role writes one called
    ``rackops``), also taken from ``OS_CLOUD``;
  * ``auth_type`` + ``auth``: ``none`` and ``http_basic`` for a standalone
    Ironic, ``password`` for Keystone in an OpenStack cloud.
"""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback

AUTH_TYPES = ('none', 'http_basic', 'password')

AUTH_ARGUMENT_SPEC = dict(
    cloud=dict(type='str', fallback=(env_fallback, ['OS_CLOUD'])),
    auth_type=dict(type='str', choices=list(AUTH_TYPES)),
    auth=dict(
        type='dict',
        options=dict(
            endpoint=dict(type='str'),
            auth_url=dict(type='str'),
            username=dict(type='str'),
            password=dict(type='str', no_log=True),
            project_name=dict(type='str'),
            project_domain_name=dict(type='str'),
            user_domain_name=dict(type='str'),
        ),
    ),
    region_name=dict(type='str'),
    validate_certs=dict(type='bool', aliases=['verify']),
    ca_cert=dict(type='path', aliases=['cacert']),
    api_timeout=dict(type='int'),
    api_retries=dict(type='int', default=5),
    api_outage_timeout=dict(type='int', default=120),
)

AUTH_MUTUALLY_EXCLUSIVE = [('cloud', 'auth'), ('cloud', 'auth_type')]
AUTH_REQUIRED_TOGETHER = [('auth_type', 'auth')]

# What each auth_type cannot do without.
_REQUIRED_AUTH_KEYS = {
    'none': ('endpoint',),
    'http_basic': ('endpoint', 'username', 'password'),
    'password': ('auth_url', 'username', 'password', 'project_name'),
}


class ConnectionParamsError(ValueError):
    """The connection options are incomplete or contradict each other."""


def connect_kwargs(params):
    """Turn module parameters into keyword arguments for ``openstack.connect``.

    Pure function (no I/O) so the rules are unit-tested without Ironic.
    """
    common = {
        # openstacksdk silently retries HTTP 409/503 up to 5 times; we retry
        # ourselves (module_utils/_errors.py) so every retry shows in results.
        'baremetal_status_code_retries': 0,
    }
    if params.get('api_timeout') is not None:
        common['api_timeout'] = params['api_timeout']
    if params.get('validate_certs') is not None:
        common['verify'] = params['validate_certs']
    if params.get('ca_cert'):
        common['cacert'] = params['ca_cert']
    if params.get('region_name'):
        common['region_name'] = params['region_name']

    cloud = params.get('cloud')
    auth_type = params.get('auth_type')
    if cloud:
        return dict(cloud=cloud, **common)
    if not auth_type:
        raise ConnectionParamsError(
            'Say where Ironic is: either cloud (an entry of clouds.yaml, or the '
            'OS_CLOUD environment variable) or auth_type with auth.')

    auth = {k: v for k, v in (params.get('auth') or {}).items() if v is not None}
    missing = [k for k in _REQUIRED_AUTH_KEYS[auth_type] if not auth.get(k)]
    if missing:
        raise ConnectionParamsError(
            'auth_type %s needs auth.%s' % (auth_type, ', auth.'.join(missing)))

    endpoint = auth.pop('endpoint', None)
    if auth_type in ('none', 'http_basic'):
        # Standalone Ironic: keystoneauth's endpoint plugins want it in auth,
        # openstacksdk's service lookup wants the override.
        kept = ('username', 'password') if auth_type == 'http_basic' else ()
        auth = {k: v for k, v in auth.items() if k in kept}
        auth['endpoint'] = endpoint
    if endpoint:
        common['baremetal_endpoint_override'] = endpoint
    return dict(auth_type=auth_type, auth=auth,
                load_yaml_config=False, load_envvars=False, **common)
