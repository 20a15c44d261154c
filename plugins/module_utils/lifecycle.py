# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The decisions of a certificate's life: request a first one, renew it, resume what a run left.

Storage is CertificateStore's job and the wire is the client's; this file decides what to call and
when, and records intent in the state file BEFORE every call that spends something:
- SignNewCertificate spends one-time transfer credentials, so a request whose outcome is unknown is
  never sent again with the same TransferId;
- RenewCertificate spends nothing (the current certificate signs it), so it may be sent again;
- GetCertificate is read-only and is what resuming means.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import hashlib
import os

from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto import certificates as certs
from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto import csr, keys, verification
from ansible_collections.incomes_register.certificates.plugins.module_utils._store import file_ops
from ansible_collections.incomes_register.certificates.plugins.module_utils import renewal_policy
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import (
    CertificateExpired, CertificateMissing, CertificateRejected, CertificateServiceError, LocalFileError,
    RequestValidationError, ResponseRejected, RetrievalPending, ServiceFault, StateError, TransportError)

from ansible_collections.incomes_register.certificates.plugins.module_utils._store.pending_request import (
    RETRIEVED, SENT, SUBMITTED, PendingRequest)

# A renewal's record field: when the service refused to renew again for its key (renew), be it a waiting renewal's
# or one whose answer was lost.
RESUBMIT_REFUSED = 'resubmit_refused_at'
# A renewal's record fields: the waiting RetrievalId it was asked in place of, for the same key, and when that one
# was submitted.
REPLACES = 'replaces_retrieval_id'
REPLACES_SUBMITTED = 'replaces_submitted_at'


class Outcome(object):
    """What a run did, in the shape the modules return."""

    def __init__(self):
        self.changed = False
        self.action = 'none'
        self.retrieval_id = None
        self.backups = {}
        self.client = None
        self.message = ''
        # Sentences about what happened before the main decision (an abandoned request), said first.
        self.notes = []
        # Keys this run set aside (CertificateStore.set_aside_new_key), so that their removal is told as such.
        self.set_aside = []

    def connect(self, client_factory):
        self.client = client_factory()
        return self.client

    def as_dict(self):
        calls = {'signNewCertificate': 0, 'renewCertificate': 0, 'getCertificate': 0}
        if self.client is not None:
            calls.update(self.client.calls_made)
        return dict(changed=self.changed, action=self.action, retrieval_id=self.retrieval_id,
                    backups=self.backups, service_calls=calls, msg=' '.join(self.notes + [self.message]).strip())


def _organisation(customer_name):
    # CustomerName may be 100 characters but an X.509 O attribute only 64; the CN is what the service
    # checks, so a longer name is left out of the CSR rather than cut.
    if customer_name and len(customer_name) <= csr.ORGANISATION_MAX_LENGTH:
        return customer_name
    return None


def _when(moment):
    return moment.strftime('%Y-%m-%d %H:%M UTC')


def _csr_digest(csr_der):
    return hashlib.sha256(csr_der).hexdigest()


def _check_customer(cert, customer_id, path):
    cn = certs.describe_certificate(cert)['customer_id']
    if cn != customer_id:
        raise CertificateServiceError(
            'The certificate at %s is for customer %s, not %s. Use another path for another customer.'
            % (path, cn, customer_id))


def _refuse_replacing_other_customer(cert, customer_id, path, now, params):
    """A valid certificate of another customer is that customer's access to the Incomes Register: replacing
    it (and, without backups, its key for good) needs the user's explicit word."""
    if cert is None or cert.not_valid_after_utc <= now or params.get('replace_other_customer'):
        return
    other = certs.describe_certificate(cert)['customer_id']
    if other != customer_id:
        raise CertificateServiceError(
            'The certificate at %s belongs to customer %s and is valid until %s; requesting a certificate for %s '
            'would replace it and its key. Use another path for %s, or set replace_other_customer: true to '
            'replace it.' % (path, other, _when(cert.not_valid_after_utc), customer_id, customer_id))


def _refuse_replacing_valid_without_key(store, cert, key, customer_id, now):
    """A valid certificate of this customer whose key is not at private_key_path: its key may be kept in another
    file (a mistyped private_key_path, or two certificates given one path), and a request would spend the credentials
    and replace a certificate still in use. Refused before anything is sent; a key that is really lost is the user's
    to declare, by moving the certificate away."""
    if cert is None or cert.not_valid_after_utc <= now or certs.describe_certificate(cert)['customer_id'] != customer_id:
        return
    if key is None:
        why = 'there is no key at %s' % store.key_path
    elif not keys.keys_match(key, cert):
        why = 'the key at %s is not its key' % store.key_path
    else:
        return
    raise CertificateServiceError(
        'The certificate at %s is valid for %s until %s, but %s. A request would spend the credentials and replace a '
        'certificate that may still be in use, so nothing was sent. If its key is kept in another file, give that '
        'file as private_key_path. If the key is lost, move %s away and run again.'
        % (store.path, customer_id, _when(cert.not_valid_after_utc), why, store.path))


def _refuse_other_issuer(cert, issuing_bundle, path, now):
    """A valid certificate for the customer that does not chain to issuing_ca_path is another environment's, or
    the trust file lacks its CA: reporting it as installed would let the credentials of this request lapse unused,
    and replacing it might end another environment's use of it. Refused before anything is sent. Only the path is
    judged, so the moment is one at which the certificate itself is valid (it may have been installed a moment
    after issue, within the notBefore leeway)."""
    try:
        verification.verify_chain(cert, issuing_bundle, max(now, cert.not_valid_before_utc))
    except CertificateRejected as error:
        raise CertificateServiceError(
            'The certificate at %s is valid for this customer until %s, but it does not chain to issuing_ca_path: %s. '
            'Either it was issued for another environment, or issuing_ca_path lacks its issuing CA (after the '
            'service changed CA, add the new one there). A request would replace it, so nothing was sent: fix '
            'issuing_ca_path, or give this certificate a path of its own, or move that one away if it is no longer '
            'used.' % (path, _when(cert.not_valid_after_utc), error.message.rstrip('.'))) from None


def _usable(cert, key, customer_id, now):
    return (cert is not None and key is not None and keys.keys_match(key, cert)
            and certs.describe_certificate(cert)['customer_id'] == customer_id
            and cert.not_valid_after_utc > now)


def describe_installed(store, renew_before_days=renewal_policy.MAX_RENEW_BEFORE_DAYS):
    cert = store.certificate()
    if cert is None:
        return None
    return certs.describe_certificate(cert, store.private_key(), renew_before_days=renew_before_days)


def _pending(store, params):
    request = store.pending()
    if request is not None:
        request.check_same(customer_id=params['customer_id'], environment=params['environment'])
    return request


def resume(store, client, request, customer_id, customer_name, issuing_bundle, wait_options, outcome):
    """Finish a request that a previous run got a RetrievalId for: poll, verify, swap in."""
    from ansible_collections.incomes_register.certificates.plugins.module_utils._wire.retrieval import wait_for_certificate
    request.check_same(customer_id=customer_id, endpoint=client.endpoint)
    outcome.retrieval_id = request.retrieval_id
    if request.phase != RETRIEVED:
        cert_der = request.kept_certificate()
        if cert_der is None:
            cert_der, dummy = wait_for_certificate(client, customer_id, customer_name, request.retrieval_id,
                                                   **_waited_since_submission(request, wait_options))
        done = _install_retrieved(store, request, cert_der, customer_id, issuing_bundle)
    else:
        done = store.finish_swap(request)
    outcome.changed = True
    outcome.backups = done['backups']
    _note_removed_keys(outcome, done)
    return done['certificate']


def _note_removed_keys(outcome, done):
    """Say what became of the keys set aside for renewals that got no answer, now that a certificate is in."""
    if done.get('restored_key'):
        outcome.notes.append('The key of this certificate was the one set aside at %s by an earlier run; it is '
                             'installed with it.' % done['restored_key'])
    removed = done.get('removed_keys') or []
    earlier = [path for path in removed if path not in outcome.set_aside]
    if earlier:
        outcome.notes.append('Removed %s, set aside for a renewal that got no answer: the certificate installed '
                             'now takes the place of any the service issued for %s.'
                             % (', '.join(earlier), 'it' if len(earlier) == 1 else 'them'))
    if len(earlier) < len(removed):
        outcome.notes.append('The fresh key\'s certificate is installed, so the key set aside above is not needed any '
                             'more and was removed.')
    for path, reason in done.get('keys_left') or ():
        outcome.notes.append('%s, a key set aside for a renewal that got no answer, is not needed any more but could '
                             'not be removed (%s): remove it by hand.' % (path, reason))


def _install_retrieved(store, request, cert_der, customer_id, issuing_bundle):
    """store.complete, keeping with the request a certificate that a cause which can pass kept from being installed:
    this host's trust file or clock (a fixable refusal), or its files (a chown or write refused).

    Polling again would be no better: the service gives the same certificate for a RetrievalId, if it gives it
    twice at all. A kept certificate that can no longer pass is dropped, so the next run polls again. Only a
    request recorded in a state file keeps one: a RetrievalId typed as certificate_retrieve's option is not
    recorded (it may be a renewal's, and a record would say "first certificate").
    """
    try:
        return store.complete(request, cert_der, customer_id, issuing_bundle)
    except (CertificateRejected, LocalFileError) as error:
        if isinstance(error, CertificateRejected) and not error.fixable:
            request.drop_certificate()
            raise
        if not request.recorded:
            error.message = ('%s. Run certificate_retrieve with retrieval_id %s again once that is put right.'
                             % (error.message.rstrip('.'), request.retrieval_id))
            raise
        request.keep_certificate(cert_der)
        error.message = ('%s. The certificate of RetrievalId %s is kept with the request in %s: once that is put '
                         'right, a run installs it without asking the service again.'
                         % (error.message.rstrip('.'), request.retrieval_id, request.path))
        raise


def _waited_since_submission(request, wait_options, now=None):
    """wait_options with the initial delay shortened by the time since the request was submitted.

    The initial delay is the service's time to issue after a submission (certificate-service.md: clients
    wait 15-30 s before the first GetCertificate); a request submitted in an earlier run has had it.
    """
    submitted = _parse_time(request.get('submitted_at')) if request.get('submitted_at') else None
    delay = wait_options.get('initial_delay') or 0
    if submitted is None or not delay:
        return wait_options
    waited = (certs.utc_now(now) - submitted).total_seconds()
    return dict(wait_options, initial_delay=min(delay, max(0, delay - waited)))


def _resume_pending(store, client_factory, request, params, issuing_bundle, wait_options, check_mode, outcome,
                    done_action, message):
    """A rerun that finds a RetrievalId in the state file finishes that request instead of making a new one."""
    # Check mode says what the real run will: it ends with done_action once the certificate is in.
    outcome.action = done_action
    if check_mode:
        outcome.changed = True
        return outcome
    if _resume_unless_waiting(store, outcome.connect(client_factory), request, params, issuing_bundle, wait_options,
                              outcome):
        outcome.message = message
    return outcome


def _resume_unless_waiting(store, client, request, params, issuing_bundle, wait_options, outcome):
    """resume; with wait false, one GetCertificate without a wait, and a certificate not issued yet leaves the
    request pending (action 'pending') instead of holding the task for wait_timeout. True when installed."""
    waiting = params.get('wait', True)
    try:
        resume(store, client, request, params['customer_id'], params.get('customer_name'), issuing_bundle,
               wait_options if waiting else dict(wait_options, timeout=0, initial_delay=0), outcome)
    except RetrievalPending as error:
        if waiting:
            raise
        outcome.action = 'pending'
        outcome.message = ('RetrievalId %s has no certificate yet (wait is false); retrieve it later with '
                           'certificate_retrieve or a rerun. The service: %s'
                           % (request.retrieval_id, error.message))
        return False
    return True


def _submit(request, send, outcome, secrets=(), replaced=None):
    """Record intent, make the one call that spends something, record its result.

    replaced: the recorded request this one takes the place of. When nothing is spent, it is recorded again,
    so that its TransferIDs (whose outcome is still unknown) and kept answer stay as they were.
    """
    request.save()
    try:
        retrieval_id = send()
    except TransportError as error:
        if not error.request_may_have_been_processed:
            _forget(request, replaced)
            raise
        _sent(request, replaced)
        raise
    except (ServiceFault, RequestValidationError):
        # The service refused, or nothing was sent: nothing was spent.
        _forget(request, replaced)
        raise
    except Exception as error:
        # An answer that could not be trusted (or anything unforeseen) after sending: the service may
        # have acted on the request.
        _sent(request, replaced)
        _keep_answer(request, error, secrets)
        raise
    if replaced is not None:
        replaced.drop_answer()
    try:
        request.advance(SUBMITTED, retrieval_id=retrieval_id, submitted_at=certs.utc_now(None).isoformat())
    except (CertificateServiceError, OSError) as error:
        # The RetrievalId is the only way to the certificate the service is now issuing (for a first
        # certificate, the credentials are spent): a full disk must not lose it with the state file.
        raise StateError(
            'The service accepted the request and answered RetrievalId %s, but the state file could not record it: '
            '%s. Keep this RetrievalId: once the file can be written, run '
            'incomes_register.certificates.certificate_retrieve with retrieval_id: %s to collect the certificate '
            'for the key %s.' % (retrieval_id, getattr(error, 'message', None) or error, retrieval_id,
                                 request.new_key_path)) from None
    outcome.changed = True
    outcome.retrieval_id = retrieval_id
    return request


def _forget(request, replaced):
    # One rename puts the replaced request back over this one: no moment without its TransferIDs.
    if replaced is not None:
        replaced.save()
    else:
        request.clear()


def _sent(request, replaced):
    # The request went out, so the one it replaced is given up for good (its TransferIDs stay listed).
    if replaced is not None:
        replaced.drop_answer()
    request.advance(SENT)


def _keep_answer(request, error, secrets):
    """Keep an answer to a submission that could not be accepted (error.answer), so that a later run can accept it
    once its cause is fixed: the real service's answers may differ from what this collection knows
    (certificate-service.md), the credentials it answered may be spent, and nothing documents that the service
    renews a certificate twice. Never one that holds a secret."""
    answer = getattr(error, 'answer', None)
    if not answer or not isinstance(error, CertificateServiceError):
        return
    # As it was sent, and as XML text would carry it. Imported here: saxutils loads urllib.request, and this
    # runs only after a failure.
    from xml.sax.saxutils import escape as xml_escape
    forms = set(form for secret in secrets if secret
                for form in (secret, xml_escape(secret, {'"': '&quot;', "'": '&apos;'})))
    if any(form.encode('utf-8') in answer for form in forms):
        return
    try:
        request.keep_answer(answer)
    except CertificateServiceError as failure:
        error.message = '%s Its answer could not be kept either (%s); if %s exists, it holds the answer.' % (
            error.message.rstrip(), failure.message.rstrip('.'), request.answer_path)
        return
    error.message = '%s The answer is kept at %s: once its cause is fixed, a rerun checks it again and collects the ' \
        'certificate, without %s.' % (error.message.rstrip(), request.answer_path,
                                      'asking for another renewal' if request.operation == 'renew'
                                      else 'sending the credentials again')


def _unrecorded_answer(request):
    # A run that died between keeping an answer and recording its digest leaves the answer unrecorded.
    if request.kept_answer() is None and os.path.exists(request.answer_path):
        return (' %s holds an answer of the service that was not recorded; it may hold the RetrievalId of that '
                'request.' % request.answer_path)
    return ''


def _accept_kept_answer(store, client, request, params, outcome):
    """The RetrievalId of the SignNewCertificate answer an earlier run kept, now that it can be accepted.

    A verified FAIL in it means the service refused the request, so nothing was spent: the request is
    forgotten, as it would have been then.
    """
    request.check_same(customer_id=params['customer_id'], endpoint=client.endpoint)
    try:
        retrieval_id = client.retrieval_id_from_kept_answer(
            request.kept_answer(), 'RenewCertificate' if request.operation == 'renew' else 'SignNewCertificate')
    except ServiceFault as fault:
        earlier = _earlier_transfer_ids(request)
        request.drop_answer()
        if earlier:
            # This TransferID was refused, so not spent; the ones before it may have been.
            request.advance(SENT, transfer_id=earlier[-1], earlier_transfer_ids=earlier[:-1], answer_sha256=None)
        else:
            request.clear()
        fault.message = 'The answer an earlier run kept says: %s' % fault.message
        raise
    except CertificateServiceError as error:
        if request.operation == 'renew':
            raise StateError(
                'A renewal sent in an earlier run was answered, and the answer, kept at %s, still cannot be accepted: '
                '%s No other renewal is asked for: the service may have issued a certificate for it. Fix the cause and '
                'run again: the kept answer is checked again and its certificate collected. If it cannot be fixed, '
                'delete %s and %s, and the next run asks for a renewal again.'
                % (request.answer_path, error.message.rstrip().rstrip('.') + '.', request.answer_path,
                   request.path)) from None
        raise StateError(
            'The one-time credentials TransferID %s were sent in an earlier run, and the answer of the service, kept '
            'at %s, still cannot be accepted: %s The credentials are not sent again. Fix the cause and run again: '
            'the kept answer is checked again and its certificate collected. If it cannot be fixed, apply for a '
            'new certificate in the Incomes Register e-service and run with the new TransferID and '
            'TransferPassword.' % (request.get('transfer_id'), request.answer_path,
                                   error.message.rstrip().rstrip('.') + '.')) from None
    request.advance(SUBMITTED, retrieval_id=retrieval_id, submitted_at=certs.utc_now(None).isoformat())
    outcome.changed = True
    outcome.retrieval_id = retrieval_id
    return request


def _finish_from_kept_answer(store, client_factory, request, params, issuing_bundle, wait_options, check_mode,
                             outcome, wait=True, action='resumed'):
    outcome.action = action
    if check_mode:
        outcome.changed = True
        return outcome
    client = outcome.connect(client_factory)
    _accept_kept_answer(store, client, request, params, outcome)
    if not wait:
        outcome.action = 'pending'
        outcome.message = ('Accepted the answer an earlier run kept (RetrievalId %s); retrieve the certificate later '
                           'with certificate_retrieve or a rerun.' % request.retrieval_id)
        return outcome
    resume(store, client, request, params['customer_id'], params.get('customer_name'), issuing_bundle, wait_options,
           outcome)
    outcome.message = 'Accepted the answer an earlier run kept and installed its certificate.'
    return outcome


def _earlier_transfer_ids(request):
    """The TransferIDs of the requests a recorded request replaced, oldest first (a hand-edited entry that is
    not text is no TransferID)."""
    return [tid for tid in (request.get('earlier_transfer_ids') or []) if isinstance(tid, str)]


def _transfer_ids(request):
    """The TransferIDs a recorded first-certificate request (and the ones it replaced) may have spent."""
    if not request:
        return []
    ids = _earlier_transfer_ids(request)
    if isinstance(request.get('transfer_id'), str) and request.get('transfer_id') not in ids:
        ids.append(request.get('transfer_id'))
    return ids


def _among(transfer_id, sent_before):
    """Whether transfer_id is one of sent_before: compared without surrounding spaces, which a state file of an
    earlier version may have recorded as pasted."""
    return transfer_id.strip() in [sent.strip() for sent in sent_before]


def enroll(store, client_factory, params, issuing_bundle, wait_options, check_mode, now=None):
    """certificate_request: a first (or replacement) certificate with one-time transfer credentials."""
    now = certs.utc_now(now)
    outcome = Outcome()
    customer_id, customer_name = params['customer_id'], params.get('customer_name')
    request = _pending(store, params)
    if request and request.operation != 'sign':
        raise StateError('A renewal of %s is in flight (state file %s). Finish it with '
                         'certificate_renew or certificate_retrieve first.' % (store.path, store.state_path))
    if not request:
        installed, key = store.certificate(), store.private_key()
        if _usable(installed, key, customer_id, now):
            _refuse_other_issuer(installed, issuing_bundle, store.path, now)
            outcome.message = 'A valid certificate for %s is already installed at %s.' % (customer_id, store.path)
            return outcome
        _refuse_replacing_other_customer(installed, customer_id, store.path, now, params)
        _refuse_replacing_valid_without_key(store, installed, key, customer_id, now)
    if request and request.resumable:
        return _resume_pending(store, client_factory, request, params, issuing_bundle, wait_options, check_mode,
                               outcome, 'resumed', 'Retrieved the certificate requested by an earlier run.')
    sent_before = _transfer_ids(request)
    # New credentials mean the earlier request is given up, kept answer and all.
    if (request and request.phase == SENT and request.kept_answer() is not None
            and (not params.get('transfer_id') or _among(params['transfer_id'], sent_before))):
        return _finish_from_kept_answer(store, client_factory, request, params, issuing_bundle, wait_options,
                                        check_mode, outcome, wait=params['wait'])
    # Every TransferID this certificate's earlier requests sent with an unknown outcome, not only the last:
    # a run given one of those again (stale CI variables) would resend a password the service may have used.
    if _among(params['transfer_id'], sent_before):
        raise StateError(
            'The one-time credentials TransferID %s were sent in an earlier run whose outcome is unknown '
            '(state file %s, phase %s): the service may have used them up, so they are not sent again. '
            'Apply for a new certificate in the Incomes Register e-service and run again with the new '
            'TransferID and TransferPassword. If you are certain the service did not act on it (the request never '
            'reached it, or the Tax Administration confirms the TransferID is unused), delete the state file and '
            'run again.%s'
            % (params['transfer_id'], store.state_path, request.phase, _unrecorded_answer(request)))
    if not params.get('transfer_id') or not params.get('transfer_password'):
        # A certificate that is in place, or a request that only needs retrieving, needs no credentials
        # (above); one that needs them is refused here rather than sent without them.
        raise RequestValidationError(
            'The certificate %s of %s (%s) needs the one-time TransferID and TransferPassword, and they were not '
            'given. Nothing was sent. The enroll playbook takes them from enroll_credentials (by customer id and '
            'environment), or, for a host with one certificate, from enroll_transfer_id and enroll_transfer_password '
            'or incomes_register_transfer_id and incomes_register_transfer_password, and asks for them only when no '
            'variable gives any.'
            % (store.path, customer_id, params['environment']))
    outcome.action = 'requested'
    if check_mode:
        outcome.changed = True
        return outcome
    client = outcome.connect(client_factory)
    key = store.new_private_key(params['key_size'])
    csr_der = csr.build_csr(key, customer_id, _organisation(customer_name))
    replaced = request
    request = store.new_request('sign', customer_id=customer_id, environment=params['environment'],
                                endpoint=client.endpoint, transfer_id=params['transfer_id'],
                                earlier_transfer_ids=sent_before, csr_sha256=_csr_digest(csr_der),
                                created=now.isoformat())

    def send():
        return client.sign_new_certificate(customer_id, customer_name, params['transfer_id'],
                                           params['transfer_password'], csr_der)
    try:
        _submit(request, send, outcome, secrets=[params['transfer_password']], replaced=replaced)
    except TransportError as error:
        if error.request_may_have_been_processed:
            error.message += (' The service may have processed the request and used up the one-time '
                              'credentials; they will not be sent again. Rerun to get a clear next step.')
        else:
            error.message += (' The one-time credentials were not used and stay valid: run again with the same '
                              'TransferID and TransferPassword once the problem is solved.')
        raise
    if params['wait']:
        resume(store, client, request, customer_id, customer_name, issuing_bundle, wait_options, outcome)
        outcome.message = 'Requested and installed a new certificate.'
    else:
        outcome.action = 'pending'
        outcome.message = 'Request accepted; retrieve it later with certificate_retrieve or a rerun.'
    return outcome


def renew(store, client_factory, params, issuing_bundle, wait_options, check_mode, now=None):
    """certificate_renew: a new key and certificate inside the renewal window, signed with the old key."""
    outcome = Outcome()
    try:
        return _renew(store, client_factory, params, issuing_bundle, wait_options, check_mode, outcome,
                      certs.utc_now(now))
    except CertificateServiceError as error:
        # What was done before the failure (a renewal given up, a key set aside) is said in a failure too.
        if outcome.notes:
            error.message = ' '.join(outcome.notes + [error.message])
        raise


def _renew(store, client_factory, params, issuing_bundle, wait_options, check_mode, outcome, now):
    customer_id, customer_name = params['customer_id'], params.get('customer_name')
    renew_before_days = params['renew_before_days']
    renewal_policy.validate_renew_before_days(renew_before_days)
    request = _pending(store, params)
    if request and request.operation != 'renew':
        raise StateError('A first-certificate request for %s is in flight (state file %s). Finish it '
                         'with certificate_request or certificate_retrieve first.' % (store.path, store.state_path))
    abandoned = None
    if _stale_renewal(store, request, params.get('resubmit_after_hours'), now):
        if not check_mode and _collect_before_abandoning(store, outcome.connect(client_factory), request, params,
                                                         issuing_bundle, outcome):
            outcome.action = 'renewed'
            outcome.message = 'Completed the renewal started by an earlier run.'
            return outcome
        # Replaced only once the new request has gone out: until then its RetrievalId is the way back (_submit).
        abandoned, request = request, None
    if request and request.phase == SENT and request.kept_answer() is not None:
        # The answer to an earlier renewal, kept because it could not be accepted: its certificate, not another
        # renewal's.
        return _finish_from_kept_answer(store, client_factory, request, params, issuing_bundle, wait_options,
                                        check_mode, outcome, wait=params['wait'], action='renewed')
    if request and request.resumable:
        return _resume_pending(store, client_factory, request, params, issuing_bundle, wait_options, check_mode,
                               outcome, 'renewed', 'Completed the renewal started by an earlier run.')

    cert = store.certificate()
    if cert is None:
        raise CertificateMissing(
            'There is no certificate at %s to renew. Request a first one with '
            'incomes_register.certificates.certificate_request.' % store.path)
    _check_customer(cert, customer_id, store.path)
    key = store.private_key()
    if key is None:
        raise CertificateMissing('The private key %s of the certificate to renew is missing.' % store.key_path)
    if not keys.keys_match(key, cert):
        raise CertificateServiceError('The private key %s does not belong to the certificate %s.'
                                      % (store.key_path, store.path))
    decision, sentence = renewal_policy.decide(cert.not_valid_after_utc, now, renew_before_days)
    if decision == renewal_policy.EXPIRED:
        raise CertificateExpired(sentence)
    if decision == renewal_policy.VALID and not request:
        outcome.message = sentence
        return outcome
    if abandoned is not None:
        outcome.notes.append(
            'RetrievalId %s, submitted %s, gave no certificate in %d hours (resubmit_after_hours)%s: the renewal is '
            'requested again.' % (
                abandoned.retrieval_id, abandoned.get('submitted_at') or abandoned.get('created'),
                params['resubmit_after_hours'], '' if check_mode else ' and was still not ready now'))
    unanswered = request is not None and not request.resumable and bool(request.get(RESUBMIT_REFUSED))
    if unanswered and check_mode:
        outcome.notes.append('A renewal sent by an earlier run got no answer, and the service refused it when it was '
                             'asked again for the same key: a real run sets that key aside and asks with a fresh one.')

    # The key is about to sign: run the consistency check skipped above, also in check mode, so that
    # a check run predicts the failure of a damaged key.
    key = store.private_key(for_signing=True)
    outcome.action = 'renewed'
    if check_mode:
        outcome.changed = True
        outcome.message = sentence
        return outcome
    client = outcome.client or outcome.connect(client_factory)
    if unanswered:
        # A renewal whose answer was lost, refused when it was asked again for its key: the service may refuse a
        # key it was asked to certify before (certificate-service.md is silent), so a fresh key is asked for, and
        # every later run would otherwise send the same refused request until the certificate expired. The key
        # is kept aside: if the lost request was acted on, its certificate is for that key. Moved first, so a run
        # killed in between finds the record with no key left to set aside.
        aside = store.set_aside_new_key(now)
        request.clear()
        if aside:
            outcome.set_aside.append(aside)
            outcome.notes.append(
                'A renewal sent by an earlier run got no answer, and the service refused it when it was asked again '
                'for the same key: a fresh key is asked for now. The earlier key is kept at %s in case the service '
                'did issue a certificate for it.' % aside)
        request = None
    if abandoned is not None and (abandoned.get(RESUBMIT_REFUSED) or not _can_sign(store, abandoned.new_key_path)):
        # Given up for good: its certificate could never be used, or the service refused a renewal for its key once
        # already (it may refuse a key it was asked to certify before). A key that can sign is kept aside, as an
        # unanswered renewal's: its certificate may still come. Moved before the record is cleared: a run killed in
        # between then finds a record whose key is gone, which it gives up, and not a spare .new key with no
        # record, which the next renewal would take, send, and delete if the service refused it again.
        if abandoned.get(RESUBMIT_REFUSED) and _can_sign(store, abandoned.new_key_path):
            aside = store.set_aside_new_key(now)
            outcome.set_aside.append(aside)
            outcome.notes.append('The key of RetrievalId %s is kept at %s in case its certificate still comes.'
                                 % (abandoned.retrieval_id, aside))
            abandoned.clear()
        else:
            # The record first: a run killed in between leaves a .new key that the next run names in its error,
            # not a record of a RetrievalId whose key is gone.
            abandoned.clear()
            file_ops.discard(abandoned.new_key_path)
        abandoned = None
    # Else an abandoned renewal's key too (new_private_key takes the .new key in place): its certificate may still
    # come, and a refused request puts its RetrievalId back, so the key must stay.
    new_key = store.new_private_key(params['key_size'])
    csr_der = csr.build_csr(new_key, customer_id, _organisation(customer_name))
    # A renewal spends nothing one-time, so a 'prepared' or 'sent' state from a died run is simply
    # sent again, with the same new key. The service may have issued a certificate for that key already, so its
    # record stays unless this request is answered: a refusal, or one that never reached the service, puts it back
    # (a refusal marked, so that the next run asks with a fresh key).
    earlier = request or abandoned
    # The waiting RetrievalId this request is asked in place of, for the same key: recorded, since saving this
    # request before it is sent takes the waiting one's place in the state file, and a run killed in between would
    # otherwise leave no trace of it.
    if abandoned is not None:
        replaces = {REPLACES: abandoned.retrieval_id,
                    REPLACES_SUBMITTED: abandoned.get('submitted_at') or abandoned.get('created')}
    else:
        replaces = dict((field, request.get(field)) for field in (REPLACES, REPLACES_SUBMITTED)
                        if request is not None and request.get(field))
    request = store.new_request('renew', customer_id=customer_id, environment=params['environment'],
                                endpoint=client.endpoint, csr_sha256=_csr_digest(csr_der),
                                renewed_serial=format(cert.serial_number, 'X'), created=now.isoformat(), **replaces)

    def send():
        return client.renew_certificate(customer_id, customer_name, csr_der, key, cert)
    try:
        _submit(request, send, outcome, replaced=earlier)
    except ServiceFault as error:
        if earlier is None:
            file_ops.discard(store.new_key_path)
            raise
        if earlier is not abandoned and earlier.get(REPLACES):
            # A resend, for the same key, of a request asked in place of a waiting renewal: refused, that waiting
            # RetrievalId is again the way to a certificate for this key, and is treated as the refusal below does.
            abandoned = earlier.advance(SUBMITTED, retrieval_id=earlier.get(REPLACES),
                                        submitted_at=earlier.get(REPLACES_SUBMITTED) or earlier.get('created'),
                                        **{REPLACES: None, REPLACES_SUBMITTED: None})
            earlier = abandoned
        if earlier is abandoned:
            # Nothing documents that the service renews a certificate while a renewal of it is waiting, nor that it
            # certifies a key it was asked to certify before (certificate-service.md): the waiting one may still
            # give its certificate, and the next time it is given up, a fresh key is asked for instead.
            abandoned.advance(abandoned.phase, **{RESUBMIT_REFUSED: now.isoformat()})
            error.message += (' The renewal of RetrievalId %s stays recorded, with its key %s: the next run polls '
                              'it again and, still without a certificate, asks again with a fresh key. Nothing was '
                              'installed and the current certificate stays in use.'
                              % (abandoned.retrieval_id, store.new_key_path))
            raise
        # An earlier run sent a renewal for this key and lost the answer: the service may have issued a certificate
        # for it (nothing documents whether it renews a certificate twice, certificate-service.md), and without the
        # key that certificate would be of no use. The next renewal sets the key aside and asks with a fresh one.
        earlier.advance(earlier.phase, **{RESUBMIT_REFUSED: now.isoformat()})
        error.message += (' An earlier run asked for a certificate for the key %s and got no answer, so the service '
                          'may have issued one: the next run keeps that key aside and asks again with a fresh key. '
                          'Nothing was installed and the current certificate stays in use.' % store.new_key_path)
        raise
    except (TransportError, ResponseRejected) as error:
        if request.kept_answer() is not None:
            error.message += ' Nothing was installed and the current certificate stays in use.'
        else:
            error.message += (' Nothing was installed and the current certificate stays in use: run again to renew. '
                              'A renewal spends nothing one-time, so the rerun asks again.')
        raise
    if params['wait']:
        new_cert = resume(store, client, request, customer_id, customer_name, issuing_bundle, wait_options, outcome)
        outcome.message = 'Renewed: the new certificate is valid until %s (the old one expires %s).' % (
            _when(new_cert.not_valid_after_utc), _when(cert.not_valid_after_utc))
    else:
        outcome.action = 'pending'
        outcome.message = 'Renewal accepted; retrieve it later with certificate_retrieve or a rerun.'
    return outcome


def _can_sign(store, path):
    """Whether the key at path is there and can sign: not a damaged key, one under another passphrase, nor a file
    that others could have read (check_private_file)."""
    try:
        return store.private_key(path, for_signing=True) is not None
    except LocalFileError:
        return False


def _stale_renewal(store, request, hours, now):
    """Whether a submitted renewal has waited so long for its certificate that it is asked for again.

    Public clients give up on a RetrievalId after minutes (certificate-service.md: Java polls 10 times, 45 s
    apart); a renewal spends nothing one-time, so asking again costs one RenewCertificate, while polling a
    RetrievalId that never gives a certificate would go on every run until the old certificate expired.
    Only while the current certificate is valid: after that, the pending request is the only way left.
    """
    if not hours or request is None or request.operation != 'renew' or request.phase != SUBMITTED:
        return False
    if request.kept_certificate() is not None:
        # Its certificate came and waits for this host's trust file or clock: nothing to give up on.
        return False
    since = _parse_time(request.get('submitted_at') or request.get('created'))
    if since is None or now - since < datetime.timedelta(hours=hours):
        return False
    cert = store.certificate()
    return cert is not None and cert.not_valid_after_utc > now


def _collect_before_abandoning(store, client, request, params, issuing_bundle, outcome):
    """One GetCertificate for a renewal about to be given up; True when its certificate was there and is installed.

    A run every few days would otherwise abandon a certificate that became ready after the last run's wait.
    Any FAIL answer (not ready, or refused) lets the renewal be asked again, and so does a certificate that can
    never serve the pending key. One refused for a cause that can pass (a trust file that lacks a new issuing
    CA, the host's clock) fails the run instead, the key and certificate kept: asking again would throw away a
    certificate the service issued, and the next one would be refused the same way. A transport failure fails
    the run with the request still recorded, since asking again could not be sent either; an HTTP error or a
    SOAP fault lets it be asked again, as a FAIL does.
    """
    request.check_same(customer_id=params['customer_id'], endpoint=client.endpoint)
    try:
        cert_der = client.get_certificate(params['customer_id'], params.get('customer_name'), request.retrieval_id)
    except ServiceFault:
        return False
    except TransportError as error:
        from ansible_collections.incomes_register.certificates.plugins.module_utils._wire.retrieval import (
            answered_with_an_error)
        # An HTTP error or SOAP fault is "not yet" to polling: one that never passes would otherwise keep the
        # renewal from being asked again until the certificate expired.
        if answered_with_an_error(error):
            return False
        raise
    try:
        done = _install_retrieved(store, request, cert_der, params['customer_id'], issuing_bundle)
    except CertificateRejected as error:
        if error.fixable:
            raise
        outcome.notes.append('The certificate of RetrievalId %s was refused: %s' % (request.retrieval_id,
                                                                                    error.message.rstrip('.') + '.'))
        return False
    outcome.retrieval_id = request.retrieval_id
    outcome.changed = True
    outcome.backups = done['backups']
    _note_removed_keys(outcome, done)
    return True


def _parse_time(text):
    try:
        moment = datetime.datetime.fromisoformat(str(text).replace('Z', '+00:00'))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def retrieve(store, client_factory, params, issuing_bundle, wait_options, check_mode):
    """certificate_retrieve: finish whatever request or renewal the state file records."""
    outcome = Outcome()
    request = _pending(store, params)
    if params.get('retrieval_id'):
        if request and request.retrieval_id not in (None, params['retrieval_id']):
            raise StateError('The state file %s records RetrievalId %s, not %s.'
                             % (store.state_path, request.retrieval_id, params['retrieval_id']))
        if not request:
            if not os.path.exists(store.new_key_path):
                raise StateError('No key is waiting for RetrievalId %s: expected %s.'
                                 % (params['retrieval_id'], store.new_key_path))
            request = store.new_request('sign', customer_id=params['customer_id'], environment=params['environment'])
        fields = dict(retrieval_id=params['retrieval_id'],
                      phase=RETRIEVED if request.phase == RETRIEVED else SUBMITTED)
        # A RetrievalId only given as an option is not recorded before the service has answered with the
        # certificate: a mistyped one must not make every later run poll it.
        request = PendingRequest(request.path, dict(request.fields(), **fields), owner=request.owner)
    if not request:
        outcome.message = 'Nothing to retrieve: no request is in flight for %s.' % store.path
        return outcome
    if request.phase == SENT and request.kept_answer() is not None:
        _finish_from_kept_answer(store, client_factory, request, params, issuing_bundle, wait_options, check_mode,
                                 outcome)
        outcome.action = 'retrieved'
        return outcome
    if not request.resumable:
        raise StateError('The request recorded in %s has no RetrievalId (phase %s): its outcome is unknown, '
                         'so there is nothing to retrieve. Rerun the request or renew task for the next step.'
                         % (store.state_path, request.phase))
    outcome.action = 'retrieved'
    if check_mode:
        outcome.changed = True
        return outcome
    if _resume_unless_waiting(store, outcome.connect(client_factory), request, params, issuing_bundle, wait_options,
                              outcome):
        outcome.message = 'Retrieved and installed the certificate for RetrievalId %s.' % request.retrieval_id
    return outcome
