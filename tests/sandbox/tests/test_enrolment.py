"""signNewCertificate and getCertificate: the rules, through real HTTPS calls."""
import base64
import datetime
import threading
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from lxml import etree

from wire_client import der, load_pem_cert, make_csr, spki


def test_enrolment_issues_the_contracted_certificate(client, sandbox, keys, customer_id):
    transfer_id, password = sandbox.subscribe(customer_id, 'Org Oy')
    assert len(transfer_id) <= 32 and len(password) <= 16
    signed = client.sign_new(customer_id, transfer_id, password, make_csr(keys[0], customer_id, 'Org Oy'),
                             name='Org Oy')
    assert (signed.status, signed.codes) == ('OK', [])
    assert 0 < len(signed.retrieval_id) <= 32

    cert = client.get(customer_id, signed.retrieval_id).certificate
    subject = {attribute.oid: attribute.value for attribute in cert.subject}
    assert subject == {NameOID.COUNTRY_NAME: 'FI', NameOID.ORGANIZATION_NAME: 'Org Oy',
                       NameOID.COMMON_NAME: customer_id}
    assert cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == 'Data Providers Sandbox Issuing CA v1'
    assert spki(cert.public_key()) == spki(keys[0].public_key())
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == datetime.timedelta(days=730)
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.key_encipherment
    assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.CLIENT_AUTH]
    issuing_ca, root_ca = load_pem_cert(sandbox.issuing_ca_pem)
    cert.verify_directly_issued_by(issuing_ca)
    issuing_ca.verify_directly_issued_by(root_ca)

    # Retrieval is repeatable and returns the same certificate.
    assert client.get(customer_id, signed.retrieval_id).certificate == cert


def test_transfer_credentials_are_one_time(client, sandbox, keys, customer_id):
    transfer_id, password = sandbox.subscribe(customer_id, None)
    csr = make_csr(keys[0], customer_id)
    assert client.sign_new(customer_id, transfer_id, password, csr).status == 'OK'
    again = client.sign_new(customer_id, transfer_id, password, csr)
    assert (again.status, again.codes, again.retrieval_id) == ('FAIL', ['PKI004'], None)


def test_concurrent_use_of_the_same_credentials_succeeds_once(client, sandbox, keys, customer_id):
    transfer_id, password = sandbox.subscribe(customer_id, None)
    csr = make_csr(keys[0], customer_id)
    replies = []
    threads = [threading.Thread(target=lambda: replies.append(client.sign_new(customer_id, transfer_id, password,
                                                                              csr)))
               for dummy in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(reply.status for reply in replies) == ['FAIL', 'FAIL', 'FAIL', 'OK']
    assert {code for reply in replies for code in reply.codes} == {'PKI004'}


def test_wrong_password_or_other_customers_transfer_id_is_pki003(client, sandbox, keys, customer_id):
    transfer_id, password = sandbox.subscribe(customer_id, None)
    csr = make_csr(keys[0], customer_id)
    wrong = client.sign_new(customer_id, transfer_id, password[:-1] + ('x' if password[-1] != 'x' else 'y'), csr)
    assert (wrong.status, wrong.codes) == ('FAIL', ['PKI003'])
    other_customer = customer_id.replace('-1', '-2')
    other = client.sign_new(other_customer, transfer_id, password, make_csr(keys[0], other_customer))
    assert other.codes == ['PKI003']
    unknown = client.sign_new(customer_id, 'no-such-transfer', password, csr)
    assert unknown.codes == ['PKI003']
    # Failed attempts do not consume the credentials.
    assert client.sign_new(customer_id, transfer_id, password, csr).status == 'OK'


def test_expired_credentials_are_pki005(client, sandbox, keys, customer_id):
    transfer_id, password = sandbox.subscribe(customer_id, None, expires_in_days=-0.001)
    reply = client.sign_new(customer_id, transfer_id, password, make_csr(keys[0], customer_id))
    assert (reply.status, reply.codes) == ('FAIL', ['PKI005'])


def test_environment_must_match_the_subscription(client, sandbox, keys, customer_id):
    transfer_id, password = sandbox.subscribe(customer_id, None, environment='TEST')
    csr = make_csr(keys[0], customer_id)
    reply = client.sign_new(customer_id, transfer_id, password, csr, environment='PRODUCTION')
    assert (reply.status, reply.codes) == ('FAIL', ['PKI002'])
    signed = client.sign_new(customer_id, transfer_id, password, csr, environment='TEST')
    assert signed.status == 'OK'
    assert client.get(customer_id, signed.retrieval_id, environment='PRODUCTION').codes == ['PKI002']


def test_production_subscription_works_in_production(client, keys, customer_id):
    cert = client.enrol(customer_id, keys[1], environment='PRODUCTION')
    assert spki(cert.public_key()) == spki(keys[1].public_key())


def test_csr_common_name_must_be_the_customer_id(client, sandbox, keys, customer_id):
    transfer_id, password = sandbox.subscribe(customer_id, None)
    reply = client.sign_new(customer_id, transfer_id, password, make_csr(keys[0], 'Org Oy'))
    assert (reply.status, reply.codes) == ('FAIL', ['PKI007'])


def test_independent_problems_are_all_reported(client, sandbox, keys, customer_id):
    transfer_id, password = sandbox.subscribe(customer_id, None, environment='PRODUCTION')
    reply = client.sign_new(customer_id, transfer_id, password, make_csr(keys[0], 'someone else'))
    assert reply.codes == ['PKI002', 'PKI007']


def _broken_signature_csr(client, key, customer_id):
    data = bytearray(der(make_csr(key, customer_id)))
    data[-1] ^= 0x01
    return bytes(data)


@pytest.mark.parametrize('make, code', [
    (lambda client, key, cid: b'not a certificate request', 'PKI006'),
    (lambda client, key, cid: der(client.enrol(cid, key)), 'PKI006'),
    (_broken_signature_csr, 'PKI006'),
    (lambda client, key, cid: der(make_csr(rsa.generate_private_key(65537, 1024), cid)), 'PKI014'),
    (lambda client, key, cid: der(make_csr(ec.generate_private_key(ec.SECP256R1()), cid)), 'PKI014'),
], ids=['garbage', 'certificate-instead-of-csr', 'bad-self-signature', 'rsa-1024', 'ec-key'])
def test_invalid_or_unsupported_csr(client, sandbox, keys, customer_id, make, code):
    data = make(client, keys[0], customer_id)
    transfer_id, password = sandbox.subscribe(customer_id, None)
    reply = client.sign_new(customer_id, transfer_id, password, data)
    assert (reply.status, reply.codes) == ('FAIL', [code])


def test_certificate_is_not_ready_until_the_retrieval_delay_has_passed(client, sandbox, keys, customer_id):
    # The times bracket the sandbox's: it starts the delay while it handles the sign call, so a GetCertificate
    # answered within the delay of `started` must be too early, and one after the delay of `signed_at` is not.
    delay = 4.0
    transfer_id, password = sandbox.subscribe(customer_id, None)
    sandbox.configure(retrieval_delay=delay)
    try:
        started = time.monotonic()
        signed = client.sign_new(customer_id, transfer_id, password, make_csr(keys[0], customer_id))
        signed_at = time.monotonic()
    finally:
        sandbox.configure(retrieval_delay=0)
    early = client.get(customer_id, signed.retrieval_id)
    if time.monotonic() - started >= delay:
        pytest.skip('the machine was too slow to ask within the %g s delay' % delay)
    assert (early.status, early.codes, early.certificate) == ('FAIL', ['PKI008'], None)
    assert sandbox.state()['retrievals'][-1]['state'] == 'pending'
    time.sleep(max(0.0, signed_at + delay + 0.2 - time.monotonic()))
    ready = client.get(customer_id, signed.retrieval_id)
    assert ready.status == 'OK' and ready.certificate is not None


def test_validity_days_setting_applies_to_new_certificates(client, sandbox, keys, customer_id):
    sandbox.configure(validity_days=10)
    try:
        cert = client.enrol(customer_id, keys[0])
    finally:
        sandbox.configure(validity_days=730)
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == datetime.timedelta(days=10)


def test_unknown_or_other_customers_retrieval_id_is_pki009(client, sandbox, keys, customer_id):
    assert client.get(customer_id, 'f' * 32).codes == ['PKI009']
    transfer_id, password = sandbox.subscribe(customer_id, None)
    signed = client.sign_new(customer_id, transfer_id, password, make_csr(keys[0], customer_id))
    other = client.get('7777777-7', signed.retrieval_id)
    assert (other.status, other.codes, other.certificate) == ('FAIL', ['PKI009'], None)


def _sign_new_element(client, customer_id, password='pw', fields=None):
    fields = fields or [('Environment', 'TEST'), ('CustomerId', customer_id), ('TransferId', 'tid'),
                        ('TransferPassword', password), ('CertificateRequest', 'AAAA')]
    return client.request_element('signNewCertificate', fields)


def test_schema_violations_get_a_signed_pki001(client, customer_id):
    cases = {
        'missing': [('Environment', 'TEST'), ('CustomerId', customer_id), ('TransferId', 'tid'),
                    ('CertificateRequest', 'AAAA')],
        'order': [('Environment', 'TEST'), ('TransferId', 'tid'), ('CustomerId', customer_id),
                  ('TransferPassword', 'pw'), ('CertificateRequest', 'AAAA')],
        'base64': [('Environment', 'TEST'), ('CustomerId', customer_id), ('TransferId', 'tid'),
                   ('TransferPassword', 'pw'), ('CertificateRequest', 'not base64!')],
        'environment': [('Environment', 'test'), ('CustomerId', customer_id), ('TransferId', 'tid'),
                        ('TransferPassword', 'pw'), ('CertificateRequest', 'AAAA')],
        'long-id': [('Environment', 'TEST'), ('CustomerId', 'x' * 31), ('TransferId', 'tid'),
                    ('TransferPassword', 'pw'), ('CertificateRequest', 'AAAA')],
        'extra': [('Environment', 'TEST'), ('CustomerId', customer_id), ('TransferId', 'tid'),
                  ('TransferPassword', 'pw'), ('CertificateRequest', 'AAAA'), ('Extra', 'x')],
    }
    for name, fields in cases.items():
        reply = client.call('signNewCertificate', _sign_new_element(client, customer_id, fields=fields))
        assert (name, reply.status, set(reply.codes)) == (name, 'FAIL', {'PKI001'})


def test_too_long_password_is_pki001_and_never_echoed(client, customer_id):
    secret = 'S3cr3t-Passw0rd-Long'
    reply = client.call('signNewCertificate', _sign_new_element(client, customer_id, password=secret))
    assert reply.codes == ['PKI001']
    assert 'TransferPassword' in reply.messages[0]
    assert secret not in reply.http.text


def test_default_namespace_children_are_schema_invalid(client, customer_id):
    """Children must be unqualified: a request built with a default namespace is refused."""
    element = etree.Element('{http://certificates.vero.fi/2017/10/certificateservices}GetCertificateRequest',
                            nsmap={None: 'http://certificates.vero.fi/2017/10/certificateservices'})
    for name, value in (('Environment', 'TEST'), ('CustomerId', customer_id), ('RetrievalId', 'x')):
        etree.SubElement(element, '{http://certificates.vero.fi/2017/10/certificateservices}' + name).text = value
    reply = client.call('getCertificate', element)
    assert reply.codes == ['PKI001']


def test_line_wrapped_base64_is_accepted(client, sandbox, keys, customer_id):
    transfer_id, password = sandbox.subscribe(customer_id, None)
    encoded = base64.encodebytes(der(make_csr(keys[0], customer_id))).decode()
    element = client.request_element('signNewCertificate', [
        ('Environment', 'TEST'), ('CustomerId', customer_id), ('TransferId', transfer_id),
        ('TransferPassword', password), ('CertificateRequest', encoded)])
    assert client.call('signNewCertificate', element).status == 'OK'
