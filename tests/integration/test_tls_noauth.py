"""A second engine: HTTPS with our own CA, and noauth because it was asked for."""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import ssl
import urllib.request

import pytest
from conftest import ROOT, Engine, engine_vars, free_port, load_yaml, make_base, recap, run_playbook
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def self_signed(directory):
    """A certificate for 127.0.0.1 that is its own CA; returns (cert, key) paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'rackops-test')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / 'api.crt', directory / 'api.key'
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o644)  # the ironic account reads it
    return cert_path, key_path


@pytest.fixture(scope='module')
def tls_engine():
    base = make_base('rackops-tls-')
    cert, key = self_signed(base)
    port = free_port()
    variables = dict(engine_vars(base, port), ironic_tls_cert_file=str(cert), ironic_tls_key_file=str(key),
                     ironic_tls_ca_file=str(cert), ironic_auth_strategy='noauth', ironic_cloud_name='rackops')
    eng = Engine(base=base, port=port, vars=variables)
    try:
        eng.first_install_output = eng.install()
        yield eng
    finally:
        run_playbook(ROOT / 'playbooks/install.yml', dict(variables, ironic_state='absent', ironic_purge_data=True),
                     expect_ok=False)
        shutil.rmtree(base, ignore_errors=True)


def test_api_serves_https_verified_by_our_ca(tls_engine):
    context = ssl.create_default_context(cafile=tls_engine.vars['ironic_tls_ca_file'])
    url = 'https://127.0.0.1:%d/v1/nodes' % tls_engine.port
    with urllib.request.urlopen(url, context=context, timeout=10) as resp:  # noauth: no credentials
        assert resp.status == 200
    with pytest.raises(OSError):  # plain HTTP is not served
        urllib.request.urlopen('http://127.0.0.1:%d/v1/nodes' % tls_engine.port, timeout=10)


def test_clouds_yaml_carries_the_ca_and_no_credentials(tls_engine):
    entry = load_yaml(tls_engine.clouds_yaml)['clouds']['rackops']
    assert entry['auth_type'] == 'none'
    assert entry['auth'] == {'endpoint': 'https://127.0.0.1:%d' % tls_engine.port}
    assert entry['cacert'] == tls_engine.vars['ironic_tls_ca_file']
    assert not (ROOT / tls_engine.vars['ironic_config_dir'] / 'htpasswd').exists()


def test_node_info_over_https(tls_engine):
    node = tls_engine.sdk().baremetal.create_node(name='tls-node', driver='fake-hardware')
    try:
        output = run_playbook(ROOT / 'tests/integration/playbooks/node_info_names.yml',
                              {'expected': ['tls-node']}, env=tls_engine.env)[1]
        assert recap(output)['failed'] == 0
    finally:
        tls_engine.sdk().baremetal.delete_node(node.id)
