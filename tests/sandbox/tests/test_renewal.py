"""renewCertificate: request signature, signer acceptance, renewal window, key rotation."""
import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from signxml import CanonicalizationMethod

from wire_client import DS, make_csr, self_signed, spki


@pytest.fixture(scope='session')
def key_files(keys, tmp_path_factory):
    directory = tmp_path_factory.mktemp('keys')
    paths = []
    for index, key in enumerate(keys):
        path = directory / ('key%d.pem' % index)
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
        paths.append(str(path))
    return paths


@pytest.fixture
def current(sandbox, keys, key_files, customer_id):
    """issue(expires_in_days) -> (key, certificate) of the customer's current certificate."""
    def issue(expires_in_days=45, customer=customer_id, **options):
        issued = sandbox.issue(customer, key_path=key_files[0], expires_in_days=expires_in_days, **options)
        return keys[0], x509.load_pem_x509_certificate(issued['certificate_pem'].encode())
    return issue


def test_renewal_signed_with_the_current_key_issues_a_certificate_for_the_new_key(
        client, sandbox, keys, current, customer_id):
    key, cert = current(expires_in_days=45)
    renewed = client.renew(customer_id, make_csr(keys[1], customer_id), key, cert)
    assert (renewed.status, renewed.codes) == ('OK', [])
    assert 0 < len(renewed.retrieval_id) <= 32
    new = client.get(customer_id, renewed.retrieval_id).certificate
    assert spki(new.public_key()) == spki(keys[1].public_key())
    assert new.serial_number != cert.serial_number
    assert new.not_valid_after_utc - new.not_valid_before_utc == datetime.timedelta(days=730)
    old = next(c for c in sandbox.state()['certificates'] if c['serial'] == str(cert.serial_number))
    assert old['revoked'] is False  # the old certificate stays valid


@pytest.mark.parametrize('days, codes', [(59, []), (61, ['PKI012'])])
def test_renewal_opens_60_days_before_expiry(client, keys, current, customer_id, days, codes):
    key, cert = current(expires_in_days=days)
    reply = client.renew(customer_id, make_csr(keys[1], customer_id), key, cert)
    assert reply.codes == codes
    if codes:
        earliest = (cert.not_valid_after_utc - datetime.timedelta(days=60)).date().isoformat()
        assert earliest in reply.messages[0]
        assert reply.retrieval_id is None


def test_tampered_signed_request_is_pki010(client, keys, current, customer_id):
    key, cert = current()
    element = client.renew_element(customer_id, make_csr(keys[1], customer_id), key, cert)
    element.find('CustomerId').addnext(element.makeelement('CustomerName'))
    element.find('CustomerName').text = 'Injected Oy'
    reply = client.call('renewCertificate', element)
    assert (reply.status, reply.codes) == ('FAIL', ['PKI010'])


def test_unsigned_request_is_pki010(client, keys, customer_id):
    element = client.request_element('renewCertificate', [
        ('Environment', 'TEST'), ('CustomerId', customer_id),
        ('CertificateRequest', 'AAAA')])
    assert client.call('renewCertificate', element).codes == ['PKI010']


def test_inclusive_canonicalisation_is_refused(client, keys, current, customer_id):
    key, cert = current()
    reply = client.renew(customer_id, make_csr(keys[1], customer_id), key, cert,
                         c14n=CanonicalizationMethod.CANONICAL_XML_1_0)
    assert reply.codes == ['PKI010']


def test_signature_by_another_key_than_the_keyinfo_certificate_is_pki010(client, keys, current, customer_id):
    dummy, cert = current()
    reply = client.renew(customer_id, make_csr(keys[1], customer_id), keys[2], cert)
    assert reply.codes == ['PKI010']


def test_signature_must_be_the_last_child(client, keys, current, customer_id):
    key, cert = current()
    element = client.renew_element(customer_id, make_csr(keys[1], customer_id), key, cert)
    signature = element.find('{%s}Signature' % DS)
    element.remove(signature)
    element.insert(0, signature)
    assert client.call('renewCertificate', element).codes == ['PKI001']


def test_certificate_from_another_ca_is_pki011(client, keys, customer_id):
    foreign = self_signed(keys[0], customer_id)
    reply = client.renew(customer_id, make_csr(keys[1], customer_id), keys[0], foreign)
    assert (reply.status, reply.codes) == ('FAIL', ['PKI011'])


def test_revoked_certificate_is_pki011(client, sandbox, keys, current, customer_id):
    key, cert = current()
    sandbox.revoke(str(cert.serial_number))
    reply = client.renew(customer_id, make_csr(keys[1], customer_id), key, cert)
    assert reply.codes == ['PKI011']
    assert 'revoked' in reply.messages[0]


def test_expired_certificate_is_pki011(client, keys, current, customer_id):
    key, cert = current(expires_in_days=-1)
    reply = client.renew(customer_id, make_csr(keys[1], customer_id), key, cert)
    assert reply.codes == ['PKI011']
    assert 'expired' in reply.messages[0]


def test_other_customers_certificate_is_pki011(client, keys, current, customer_id):
    key, cert = current(customer='7654321-0')
    reply = client.renew(customer_id, make_csr(keys[1], customer_id), key, cert)
    assert reply.codes == ['PKI011']


def test_reusing_the_current_key_is_pki013(client, keys, current, customer_id):
    key, cert = current()
    reply = client.renew(customer_id, make_csr(key, customer_id), key, cert)
    assert (reply.status, reply.codes) == ('FAIL', ['PKI013'])


def test_new_csr_must_name_the_customer(client, keys, current, customer_id):
    key, cert = current()
    assert client.renew(customer_id, make_csr(keys[1], 'Org Oy'), key, cert).codes == ['PKI007']


def test_environment_must_be_the_certificates(client, keys, current, customer_id):
    key, cert = current()
    reply = client.renew(customer_id, make_csr(keys[1], customer_id), key, cert, environment='PRODUCTION')
    assert reply.codes == ['PKI002']


def test_production_certificate_renews_in_production(client, keys, current, customer_id):
    key, cert = current(environment='PRODUCTION')
    reply = client.renew(customer_id, make_csr(keys[1], customer_id), key, cert, environment='PRODUCTION')
    assert reply.status == 'OK'
    assert client.get(customer_id, reply.retrieval_id, environment='PRODUCTION').certificate is not None


def test_renewed_certificate_can_itself_be_renewed_later(client, sandbox, keys, current, customer_id):
    key, cert = current()
    sandbox.configure(validity_days=50)
    try:
        renewed = client.renew(customer_id, make_csr(keys[1], customer_id), key, cert)
        new = client.get(customer_id, renewed.retrieval_id).certificate
    finally:
        sandbox.configure(validity_days=730)
    again = client.renew(customer_id, make_csr(keys[2], customer_id), keys[1], new)
    assert again.status == 'OK'
