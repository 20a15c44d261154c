import os
import sys

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import pki_fixtures  # noqa: E402

from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto import csr, keys  # noqa: E402
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import RequestValidationError  # noqa: E402


@pytest.fixture(scope='module')
def key():
    return pki_fixtures.rsa_key('csr-test')


@pytest.mark.parametrize('size', [1024, 2047, 4096, 8192, 0, True, '2048', None])
def test_generate_refuses_other_sizes(size):
    with pytest.raises(ValueError, match='2048, 3072'):
        csr.generate_private_key(size)


def test_generate_gives_rsa_of_requested_size():
    assert csr.generate_private_key(2048).key_size == 2048


def test_csr_subject_key_and_signature(key):
    der = csr.build_csr(key, '1234567-8', 'Testi Oy')
    request = x509.load_der_x509_csr(der)
    assert request.is_signature_valid
    assert isinstance(request.signature_hash_algorithm, hashes.SHA256)
    assert [(a.oid, a.value) for a in request.subject] == [
        (NameOID.COUNTRY_NAME, 'FI'), (NameOID.ORGANIZATION_NAME, 'Testi Oy'), (NameOID.COMMON_NAME, '1234567-8')]
    assert keys.public_key_fingerprint(request.public_key()) == keys.public_key_fingerprint(key.public_key())


def test_csr_without_organisation(key):
    request = x509.load_der_x509_csr(csr.build_csr(key, '1234567-8'))
    assert request.subject.rfc4514_string() == 'CN=1234567-8,C=FI'


@pytest.mark.parametrize('customer_id', ['', '   ', ' 1234567-8', 'x' * 31, None])
def test_csr_refuses_bad_customer_id(key, customer_id):
    with pytest.raises(RequestValidationError, match='customer_id'):
        csr.build_csr(key, customer_id)


def test_csr_refuses_too_long_organisation(key):
    with pytest.raises(RequestValidationError, match='organisation is 65 characters'):
        csr.build_csr(key, '1234567-8', 'O' * 65)
