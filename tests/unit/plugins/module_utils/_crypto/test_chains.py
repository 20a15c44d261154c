"""The one path builder, and its two users: the issued certificate and the response signer get the same
limits and the same refusals."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import pki_fixtures as pf  # noqa: E402
from pki_fixtures import NOW  # noqa: E402

from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto import chains  # noqa: E402
from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto import verification  # noqa: E402
from ansible_collections.incomes_register.certificates.plugins.module_utils._wire import xml_security  # noqa: E402
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import (  # noqa: E402
    CertificateRejected, ResponseRejected)


def _ladder(cas, label):
    root, root_key = pf.make_root(cn='%s Root' % label, key_label='%s-root' % label)
    certs, issuer, issuer_key = [root], root, root_key
    for level in range(cas - 1):
        issuer, issuer_key = pf.make_intermediate(issuer, issuer_key, cn='%s %d' % (label, level),
                                                  key_label='%s-%d' % (label, level))
        certs.append(issuer)
    leaf, dummy = pf.make_leaf(issuer, issuer_key, customer_id='Signer %s' % label)
    return leaf, certs


def _both_users(leaf, bundle):
    """What each user makes of one path: the chain, or the exception it raised."""
    outcomes = []
    for use, error in ((lambda: verification.verify_chain(leaf, bundle, now=NOW), CertificateRejected),
                       (lambda: xml_security.check_signer_chain(leaf, bundle, NOW), ResponseRejected)):
        try:
            use()
            outcomes.append('accepted')
        except error as caught:
            outcomes.append(caught.message)
    return outcomes


@pytest.mark.parametrize('cas, accepted', [(chains.MAX_CAS, True), (chains.MAX_CAS + 1, False)])
def test_both_users_share_one_depth_limit(cas, accepted):
    leaf, bundle = _ladder(cas, 'Depth%d' % cas)
    outcomes = _both_users(leaf, bundle)
    if accepted:
        assert outcomes == ['accepted', 'accepted']
    else:
        assert all('longer than %d CA certificates' % chains.MAX_CAS in outcome for outcome in outcomes)


def test_a_self_signed_leaf_is_trusted_only_when_it_is_in_the_bundle_as_a_pinned_signer():
    rogue, dummy = pf.make_root(cn='Rogue', key_label='rogue', ca=False)
    other, dummy = pf.make_root(cn='Other Root', key_label='other-root')
    assert all('issued by CN=Rogue,C=FI, which is not in' in outcome for outcome in _both_users(rogue, [other]))
    assert chains.build_path(rogue, [rogue], NOW, pinned_leaf=True) == [rogue]
    xml_security.check_signer_chain(rogue, [rogue], NOW)


def test_an_issued_certificate_in_the_issuing_bundle_still_needs_its_ca():
    """A host's own certificate pasted into issuing_ca_path must not vouch for itself."""
    pki = pf.make_pki()
    with pytest.raises(CertificateRejected, match='which is not in the trusted issuing CA bundle'):
        verification.verify_chain(pki['leaf'], [pki['leaf']], now=NOW)


def test_both_users_refuse_an_issuer_that_may_not_issue():
    root, root_key = pf.make_root(cn='Strict Root', key_label='strict-root', path_length=0)
    issuing, issuing_key = pf.make_intermediate(root, root_key, cn='Too Deep', key_label='too-deep')
    leaf, dummy = pf.make_leaf(issuing, issuing_key)
    assert all('at most 0 CA certificates below it' in outcome for outcome in _both_users(leaf, [issuing, root]))


def test_a_missing_intermediate_is_named_by_both_users_with_the_file_to_add_it_to():
    pki = pf.make_pki()
    certificate_message, signer_message = _both_users(pki['leaf'], [pki['root']])
    issuer = pki['issuing'].subject.rfc4514_string()
    assert 'Add the certificate of %s, the CA that issued it, to issuing_ca_path' % issuer in certificate_message
    assert 'If %s is the certificate service\'s intermediate CA, add its certificate' % issuer in signer_message
    assert 'to service_ca_path' in signer_message


def test_a_namesake_ca_with_another_key_is_pointed_out():
    pki = pf.make_pki()
    namesake, dummy = pf.make_intermediate(pki['root'], pki['root_key'], key_label='namesake')
    with pytest.raises(chains.ChainProblem) as caught:
        chains.build_path(pki['leaf'], [namesake, pki['root']], NOW)
    assert caught.value.missing_issuer == pki['leaf'].issuer and caught.value.namesake
    with pytest.raises(ResponseRejected, match='a CA of that name is there, but its key did not sign'):
        xml_security.check_signer_chain(pki['leaf'], [namesake, pki['root']], NOW)
