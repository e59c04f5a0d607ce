"""connect_kwargs: the rules that turn module options into openstack.connect()."""

from __future__ import annotations

import pytest

from ansible_collections.rackops.baremetal.plugins.module_utils._connection import (
    ConnectionParamsError,
    connect_kwargs,
)


def params(**kwargs):
    base = dict(cloud=None, auth_type=None, auth=None, region_name=None, validate_certs=None,
                ca_cert=None, api_timeout=None, api_retries=5)
    base.update(kwargs)
    return base


def test_cloud_name_is_passed_through_with_sdk_retries_off():
    assert connect_kwargs(params(cloud='rackops')) == {
        'cloud': 'rackops', 'baremetal_status_code_retries': 0}


def test_http_basic_puts_endpoint_in_auth_and_override():
    kwargs = connect_kwargs(params(auth_type='http_basic', auth=dict(
        endpoint='http://127.0.0.1:6385', username='admin', password='pw', project_name=None)))
    assert kwargs['auth'] == {'endpoint': 'http://127.0.0.1:6385', 'username': 'admin', 'password': 'pw'}
    assert kwargs['baremetal_endpoint_override'] == 'http://127.0.0.1:6385'
    assert kwargs['load_yaml_config'] is False and kwargs['load_envvars'] is False


def test_none_auth_drops_credentials():
    kwargs = connect_kwargs(params(auth_type='none', auth=dict(endpoint='http://h:6385', username='x')))
    assert kwargs['auth'] == {'endpoint': 'http://h:6385'}


def test_keystone_password_keeps_project_and_optional_override():
    auth = dict(auth_url='https://keystone/v3', username='u', password='p', project_name='p1',
                user_domain_name='Default', endpoint=None)
    kwargs = connect_kwargs(params(auth_type='password', auth=auth, region_name='r1'))
    assert kwargs['auth'] == {'auth_url': 'https://keystone/v3', 'username': 'u', 'password': 'p',
                              'project_name': 'p1', 'user_domain_name': 'Default'}
    assert 'baremetal_endpoint_override' not in kwargs
    assert kwargs['region_name'] == 'r1'


def test_tls_and_timeout_options():
    kwargs = connect_kwargs(params(cloud='c', validate_certs=False, ca_cert='/ca.pem', api_timeout=7))
    assert kwargs['verify'] is False
    assert kwargs['cacert'] == '/ca.pem'
    assert kwargs['api_timeout'] == 7


@pytest.mark.parametrize('auth_type, auth, missing', [
    ('none', {}, 'auth.endpoint'),
    ('http_basic', {'endpoint': 'http://h'}, 'auth.username, auth.password'),
    ('password', {'auth_url': 'http://k', 'username': 'u', 'password': 'p'}, 'auth.project_name'),
])
def test_missing_auth_keys_are_named(auth_type, auth, missing):
    with pytest.raises(ConnectionParamsError, match=missing):
        connect_kwargs(params(auth_type=auth_type, auth=auth))


def test_nothing_given_says_what_to_give():
    with pytest.raises(ConnectionParamsError, match='either cloud'):
        connect_kwargs(params())
