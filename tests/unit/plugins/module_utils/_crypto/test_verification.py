"""verify_chain (the collection's messages over chains.build_path) and validate_issued_certificate."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import pki_fixtures as pf  # noqa: E402
from pki_fixtures import DAY, NOW  # noqa: E402

from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto import verification  # noqa: E402
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import (  # noqa: E402
    CertificateRejected)


@pytest.fixture(scope='module')
def pki():
    return pf.make_pki()


# verify_chain


def test_chain_to_root_through_issuing_ca(pki):
    path = verification.verify_chain(pki['leaf'], [pki['root'], pki['issuing']], now=NOW)
    assert path == [pki['leaf'], pki['issuing'], pki['root']]


def test_chain_may_end_at_a_trusted_issuing_ca(pki):
    assert verification.verify_chain(pki['leaf'], [pki['issuing']], now=NOW) == [pki['leaf'], pki['issuing']]


def test_chain_with_unknown_issuer(pki):
    with pytest.raises(CertificateRejected, match='not in the trusted issuing CA bundle'):
        verification.verify_chain(pki['leaf'], [pki['root']], now=NOW)


def test_a_missing_intermediate_is_named_with_what_the_bundle_holds_and_where_it_belongs(pki):
    with pytest.raises(CertificateRejected) as caught:
        verification.verify_chain(pki['leaf'], [pki['root']], now=NOW)
    assert caught.value.message == (
        'The certificate CN=1234567-8,O=Testi Oy,C=FI was issued by CN=Data Providers Test Issuing CA v1,C=FI, which '
        'is not in the trusted issuing CA bundle (it holds CN=Data Providers Test Root CA,C=FI). Add the certificate '
        'of CN=Data Providers Test Issuing CA v1,C=FI, the CA that issued it, to issuing_ca_path')


def test_chain_ignores_the_system_trust_store(pki):
    with pytest.raises(CertificateRejected):
        verification.verify_chain(pki['leaf'], [], now=NOW)


def test_chain_with_forged_issuer_of_the_same_name(pki):
    # Same subject as the real issuing CA, different key: a name match alone must not be trusted.
    impostor, dummy = pf.make_intermediate(pki['root'], pki['root_key'], key_label='impostor')
    with pytest.raises(CertificateRejected, match='signature of the certificate .* does not verify with the key of '
                                                  '.* the certificate was altered, or another CA of the same name'):
        verification.verify_chain(pki['leaf'], [impostor], now=NOW)


def test_chain_picks_the_right_issuer_among_same_named_ones(pki):
    impostor, dummy = pf.make_intermediate(pki['root'], pki['root_key'], key_label='impostor')
    path = verification.verify_chain(pki['leaf'], [impostor, pki['issuing']], now=NOW)
    assert path[1] == pki['issuing']


def test_chain_issuer_not_a_ca(pki):
    not_ca, not_ca_key = pf.make_intermediate(pki['root'], pki['root_key'], cn='Not A CA', key_label='not-ca',
                                              ca=False)
    leaf, dummy = pf.make_leaf(not_ca, not_ca_key)
    with pytest.raises(CertificateRejected, match='is not a CA'):
        verification.verify_chain(leaf, [not_ca], now=NOW)


def test_chain_issuer_without_basic_constraints(pki):
    bare, bare_key = pf.make_intermediate(pki['root'], pki['root_key'], cn='Bare', key_label='bare',
                                          basic_constraints=False)
    leaf, dummy = pf.make_leaf(bare, bare_key)
    with pytest.raises(CertificateRejected, match='no basicConstraints'):
        verification.verify_chain(leaf, [bare], now=NOW)


def test_a_self_signed_root_without_extensions_is_a_trust_anchor():
    """An old (v1-style) root in the bundle anchors the chain, as OpenSSL takes it; the CA below it must say it is
    a CA."""
    root, root_key = pf.make_root(cn='Bare Old Root', key_label='bare-old-root', basic_constraints=False)
    issuing, issuing_key = pf.make_intermediate(root, root_key, cn='Issuing Under Bare Root', key_label='bare-issuing')
    leaf, dummy = pf.make_leaf(issuing, issuing_key)
    assert verification.verify_chain(leaf, [issuing, root], now=NOW) == [leaf, issuing, root]
    bare, bare_key = pf.make_intermediate(root, root_key, cn='Bare Issuing', key_label='bare-issuing-2',
                                          basic_constraints=False)
    leaf, dummy = pf.make_leaf(bare, bare_key)
    with pytest.raises(CertificateRejected, match='no basicConstraints'):
        verification.verify_chain(leaf, [bare, root], now=NOW)


def test_chain_issuer_without_key_cert_sign(pki):
    ca, ca_key = pf.make_intermediate(pki['root'], pki['root_key'], cn='No Sign', key_label='no-sign',
                                      key_cert_sign=False)
    leaf, dummy = pf.make_leaf(ca, ca_key)
    with pytest.raises(CertificateRejected, match='keyCertSign'):
        verification.verify_chain(leaf, [ca], now=NOW)


def test_chain_with_expired_issuing_ca(pki):
    old, old_key = pf.make_intermediate(pki['root'], pki['root_key'], cn='Old CA', key_label='old',
                                        not_after=NOW - DAY)
    leaf, dummy = pf.make_leaf(old, old_key, not_before=NOW - 100 * DAY)
    with pytest.raises(CertificateRejected, match='issuer CN=Old CA,C=FI expired on'):
        verification.verify_chain(leaf, [old], now=NOW)


def test_chain_with_expired_root_above_the_issuing_ca(pki):
    root, root_key = pf.make_root(cn='Expired Root', key_label='expired-root', not_after=NOW - DAY)
    issuing, issuing_key = pf.make_intermediate(root, root_key, cn='Under Expired Root', key_label='under')
    leaf, dummy = pf.make_leaf(issuing, issuing_key)
    with pytest.raises(CertificateRejected, match='issuer CN=Expired Root,C=FI expired on'):
        verification.verify_chain(leaf, [issuing, root], now=NOW)


def test_chain_with_expired_or_future_leaf(pki):
    expired, dummy = pf.make_leaf(pki['issuing'], pki['issuing_key'], not_after=NOW - DAY)
    with pytest.raises(CertificateRejected, match='expired on'):
        verification.verify_chain(expired, [pki['issuing']], now=NOW)
    future, dummy = pf.make_leaf(pki['issuing'], pki['issuing_key'], not_before=NOW + DAY)
    with pytest.raises(CertificateRejected, match='not valid before'):
        verification.verify_chain(future, [pki['issuing']], now=NOW)


def test_chain_respects_path_length(pki):
    root, root_key = pf.make_root(cn='Strict Root', key_label='strict-root', path_length=0)
    issuing, issuing_key = pf.make_intermediate(root, root_key, cn='Too Deep', key_label='too-deep')
    leaf, dummy = pf.make_leaf(issuing, issuing_key)
    with pytest.raises(CertificateRejected, match='at most 0 CA'):
        verification.verify_chain(leaf, [issuing, root], now=NOW)


def _ladder(levels):
    root, root_key = pf.make_root(cn='Ladder Root', key_label='ladder-root')
    certs, issuer, issuer_key = [root], root, root_key
    for level in range(levels):
        issuer, issuer_key = pf.make_intermediate(issuer, issuer_key, cn='Ladder %d' % level,
                                                  key_label='ladder-%d' % level)
        certs.append(issuer)
    leaf, dummy = pf.make_leaf(issuer, issuer_key)
    return leaf, certs


def test_chain_of_five_cas_is_accepted():
    leaf, certs = _ladder(4)
    assert len(verification.verify_chain(leaf, certs, now=NOW)) == 6


def test_chain_deeper_than_five_cas_is_refused():
    leaf, certs = _ladder(5)
    with pytest.raises(CertificateRejected, match='longer than 5'):
        verification.verify_chain(leaf, certs, now=NOW)


def test_naive_now_is_refused(pki):
    with pytest.raises(ValueError, match='timezone-aware'):
        verification.verify_chain(pki['leaf'], [pki['issuing']], now=NOW.replace(tzinfo=None))


# validate_issued_certificate


def test_validate_accepts_a_good_certificate_and_returns_the_path(pki):
    path = verification.validate_issued_certificate(
        pki['leaf'], pki['leaf_key'].public_key(), pf.CUSTOMER_ID, [pki['issuing'], pki['root']], now=NOW)
    assert path == [pki['leaf'], pki['issuing'], pki['root']]


def test_validate_wrong_public_key(pki):
    with pytest.raises(CertificateRejected, match='^Public key check failed') as caught:
        verification.validate_issued_certificate(
            pki['leaf'], pf.rsa_key('someone-else').public_key(), pf.CUSTOMER_ID, [pki['issuing']], now=NOW)
    assert caught.value.fixable is False, 'no clock or trust file makes it the pending key\'s certificate'


@pytest.mark.parametrize('customer_id', ['7654321-0', '1234567-8 ', None])
def test_validate_wrong_customer_id(pki, customer_id):
    with pytest.raises(CertificateRejected, match='^Subject check failed.*1234567-8'):
        verification.validate_issued_certificate(
            pki['leaf'], pki['leaf_key'].public_key(), customer_id, [pki['issuing']], now=NOW)


def test_validate_certificate_without_cn(pki):
    cert = pf.make_cert(pf.name(None, 'Testi Oy'), pki['leaf_key'].public_key(), pki['issuing'].subject,
                        pki['issuing_key'])
    with pytest.raises(CertificateRejected, match='^Subject check failed: the certificate subject CN is missing'):
        verification.validate_issued_certificate(
            cert, pki['leaf_key'].public_key(), pf.CUSTOMER_ID, [pki['issuing']], now=NOW)


def test_validate_not_currently_valid(pki):
    expired, key = pf.make_leaf(pki['issuing'], pki['issuing_key'], not_after=NOW - DAY)
    with pytest.raises(CertificateRejected, match='^Validity check failed.*expired on') as caught:
        verification.validate_issued_certificate(expired, key.public_key(), pf.CUSTOMER_ID, [pki['issuing']], now=NOW)
    assert caught.value.fixable is False


def test_validate_takes_a_not_before_a_few_minutes_ahead_as_a_clock_behind(pki):
    """The host's clock up to five minutes behind the service's does not refuse a certificate just issued."""
    import datetime
    for ahead, accepted in ((datetime.timedelta(minutes=4, seconds=59), True),
                            (datetime.timedelta(minutes=5, seconds=1), False)):
        fresh, key = pf.make_leaf(pki['issuing'], pki['issuing_key'], not_before=NOW + ahead)
        if accepted:
            assert verification.validate_issued_certificate(
                fresh, key.public_key(), pf.CUSTOMER_ID, [pki['issuing']], now=NOW) == [fresh, pki['issuing']]
            continue
        with pytest.raises(CertificateRejected, match='^Validity check failed.*is not valid before') as caught:
            verification.validate_issued_certificate(fresh, key.public_key(), pf.CUSTOMER_ID, [pki['issuing']], now=NOW)
        assert caught.value.fixable is True, 'the same certificate passes once the clock has caught up'


def test_validate_bad_chain(pki):
    other_root, other_key = pf.make_root(cn='Other Root', key_label='other-root')
    stranger, key = pf.make_leaf(other_root, other_key)
    with pytest.raises(CertificateRejected, match='^Chain check failed.*Other Root') as caught:
        verification.validate_issued_certificate(stranger, key.public_key(), pf.CUSTOMER_ID, [pki['issuing']], now=NOW)
    assert caught.value.fixable is True, 'the same certificate passes once the trust file holds its CA'


def test_chain_through_cross_signed_loop_terminates():
    key_a, key_b = pf.rsa_key('loop-a'), pf.rsa_key('loop-b')
    name_a, name_b = pf.name('Loop A'), pf.name('Loop B')
    cert_a = pf.make_cert(name_a, key_a.public_key(), name_b, key_b, ca=True)
    cert_b = pf.make_cert(name_b, key_b.public_key(), name_a, key_a, ca=True)
    leaf, dummy = pf.make_leaf(cert_a, key_a)
    assert verification.verify_chain(leaf, [cert_a, cert_b], now=NOW) == [leaf, cert_a, cert_b]
