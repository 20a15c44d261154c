import os
import re
import sys

import pytest
from cryptography.hazmat.primitives import hashes, serialization

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import pki_fixtures as pf  # noqa: E402
from pki_fixtures import DAY, NOW  # noqa: E402

from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto import certificates  # noqa: E402
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import (  # noqa: E402
    CertificateRejected)


@pytest.fixture(scope='module')
def pki():
    return pf.make_pki()


# Loading


def test_load_certificate_pem_and_der(pki):
    pem = certificates.certificate_to_pem(pki['leaf'])
    der = pki['leaf'].public_bytes(serialization.Encoding.DER)
    assert pem.startswith(b'-----BEGIN CERTIFICATE-----')
    assert certificates.load_certificate(pem) == pki['leaf']
    assert certificates.load_certificate(pem.decode()) == pki['leaf']
    assert certificates.load_certificate(der) == pki['leaf']


@pytest.mark.parametrize('data', [b'', b'garbage', b'-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'])
def test_load_certificate_refuses_garbage(data):
    with pytest.raises(CertificateRejected, match='not a PEM or DER'):
        certificates.load_certificate(data)


def test_load_pem_bundle_keeps_order_and_skips_keys(pki):
    key_pem = pki['leaf_key'].private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption())
    data = (b'# comment\n' + key_pem + certificates.certificate_to_pem(pki['issuing'])
            + b'\n' + certificates.certificate_to_pem(pki['root']).replace(b'\n', b'\r\n'))
    assert certificates.load_pem_bundle(data) == [pki['issuing'], pki['root']]
    assert certificates.load_pem_bundle(b'no certificates here') == []


def test_load_pem_bundle_names_the_damaged_block(pki):
    damaged = b'-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'
    with pytest.raises(CertificateRejected, match='number 2'):
        certificates.load_pem_bundle(certificates.certificate_to_pem(pki['root']) + damaged)


# describe_certificate


def test_describe_fields(pki):
    info = certificates.describe_certificate(pki['leaf'], private_key=pki['leaf_key'], now=NOW)
    leaf = pki['leaf']
    assert set(info) == {
        'subject', 'customer_id', 'organisation', 'issuer', 'serial', 'fingerprint_sha256', 'fingerprint_sha1',
        'not_before', 'not_after', 'days_remaining', 'expired', 'in_renewal_window', 'key_matches', 'environment'}
    assert info['subject'] == 'CN=1234567-8,O=Testi Oy,C=FI'
    assert info['customer_id'] == '1234567-8'
    assert info['organisation'] == 'Testi Oy'
    assert info['issuer'] == 'CN=Data Providers Test Issuing CA v1,C=FI'
    assert info['serial'] == format(leaf.serial_number, 'X')
    assert re.fullmatch('[0-9A-F]+', info['serial'])
    assert info['fingerprint_sha256'] == ':'.join('%02X' % b for b in leaf.fingerprint(hashes.SHA256()))
    assert len(info['fingerprint_sha1'].split(':')) == 20
    assert info['not_before'] == (NOW - 30 * DAY).strftime('%Y-%m-%dT%H:%M:%SZ')
    assert info['not_after'] == '2027-05-02T12:00:00Z'
    assert info['days_remaining'] == 700
    assert info['expired'] is False
    assert info['in_renewal_window'] is False
    assert info['key_matches'] is True
    assert info['environment'] == 'TEST'


def test_describe_without_key_and_with_wrong_key(pki):
    assert certificates.describe_certificate(pki['leaf'], now=NOW)['key_matches'] is None
    assert certificates.describe_certificate(pki['leaf'], private_key=pki['root_key'], now=NOW)['key_matches'] is False


@pytest.mark.parametrize('left, days, expired, window', [
    (61 * DAY, 61, False, False),
    (60 * DAY, 60, False, True),
    (DAY + DAY / 2, 1, False, True),
    (DAY / 2, 0, False, True),
    (-DAY / 24, -1, True, False),
    (-3 * DAY, -3, True, False),
])
def test_describe_days_and_window(pki, left, days, expired, window):
    info = certificates.describe_certificate(pki['leaf'], now=pki['leaf'].not_valid_after_utc - left)
    assert (info['days_remaining'], info['expired'], info['in_renewal_window']) == (days, expired, window)


def test_describe_honours_a_shorter_window(pki):
    now = pki['leaf'].not_valid_after_utc - 40 * DAY
    assert certificates.describe_certificate(pki['leaf'], renew_before_days=30, now=now)['in_renewal_window'] is False
    assert certificates.describe_certificate(pki['leaf'], renew_before_days=45, now=now)['in_renewal_window'] is True


@pytest.mark.parametrize('issuer_cn, environment', [
    (pf.TEST_ISSUING_CN, 'TEST'),
    (pf.SANDBOX_ISSUING_CN, 'SANDBOX'),
    (pf.PRODUCTION_ISSUING_CN, 'PRODUCTION'),
    ('Some Other CA', 'UNKNOWN'),
])
def test_describe_environment(pki, issuer_cn, environment):
    issuer_key = pf.rsa_key('env')
    cert = pf.make_cert(pf.name(pf.CUSTOMER_ID), pki['leaf_key'].public_key(), pf.name(issuer_cn), issuer_key)
    assert certificates.describe_certificate(cert, now=NOW)['environment'] == environment


def test_describe_without_organisation(pki):
    cert, dummy = pf.make_leaf(pki['issuing'], pki['issuing_key'], organisation=None)
    info = certificates.describe_certificate(cert, now=NOW)
    assert info['organisation'] is None and info['customer_id'] == pf.CUSTOMER_ID
