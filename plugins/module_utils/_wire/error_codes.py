# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What to tell the user when the certificate service answers FAIL.

The real service's error codes are not published: certificate-service.md knows only their form, PKI plus
three digits, and none of the four public clients maps a code to a meaning. So no decision of the client
depends on a code, and the advice is the next step for the operation that failed. The codes below are
the collection's sandbox's own (tests/sandbox, ir-sandbox); a message shows their sandbox meaning only as
such, since the real service may use the same code for something else.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import collections

ErrorCodeInfo = collections.namedtuple('ErrorCodeInfo', ['code', 'meaning', 'action'])

OPERATION_ADVICE = {
    'SignNewCertificate': (
        "Check environment, customer_id and the TransferID and TransferPassword from the secure email, and read "
        "the service's message. Transfer credentials work once and expire: if they were used or have expired, "
        'apply for a new certificate in the Incomes Register e-service.'),
    'RenewCertificate': (
        "Check environment and customer_id, and read the service's message: the current certificate must have "
        'been issued by the service to this customer, must not be expired or revoked, and must be in its last 60 '
        'days. Nothing was spent: the current certificate stays in use. An expired or revoked certificate cannot '
        'be renewed: apply for a new one in the Incomes Register e-service.'),
    'GetCertificate': (
        "Check environment, customer_id and the RetrievalId, and read the service's message. The request stays "
        'recorded: run the task again, or incomes_register.certificates.certificate_retrieve, to continue; nothing '
        'one-time is sent again.'),
}

SANDBOX_CODES = dict((info.code, info) for info in (
    ErrorCodeInfo(
        'PKI001', 'The request was malformed or broke the service schema.',
        'Nothing in the options can cause this: report it to the collection maintainers with the error message.'),
    ErrorCodeInfo(
        'PKI002', "The environment does not match the customer's certificate subscription.",
        'Set environment to the one (TEST or PRODUCTION) the certificate was subscribed for in the '
        'Incomes Register e-service.'),
    ErrorCodeInfo(
        'PKI003', 'The TransferId or TransferPassword is wrong, or they belong to another customer_id.',
        'Copy transfer_id and transfer_password again from the secure email and check customer_id.'),
    ErrorCodeInfo(
        'PKI004', 'The one-time transfer credentials have already been used.',
        'If an earlier run sent them, finish that request with certificate_retrieve; otherwise subscribe to a '
        'new certificate in the Incomes Register e-service to get new credentials.'),
    ErrorCodeInfo(
        'PKI005', 'The transfer credentials have expired.',
        'Subscribe to a new certificate in the Incomes Register e-service to get new credentials.'),
    ErrorCodeInfo(
        'PKI006', 'The certificate signing request is not a valid PKCS#10 request.',
        'Generate a new private key and request again.'),
    ErrorCodeInfo(
        'PKI007', 'The subject CN of the certificate signing request is not the customer_id.',
        'Use the Business ID the certificate was subscribed for as customer_id.'),
    ErrorCodeInfo(
        'PKI008', 'The certificate is not ready yet.',
        'Retrieve it again later with the same RetrievalId.'),
    ErrorCodeInfo(
        'PKI009', 'The RetrievalId is unknown for this customer_id.',
        'Check customer_id and the RetrievalId; a RetrievalId from another environment or customer is not valid.'),
    ErrorCodeInfo(
        'PKI010', 'The signature of the renewal request is missing or invalid.',
        'Check that the private key belongs to the current certificate.'),
    ErrorCodeInfo(
        'PKI011', 'The current certificate is not accepted for renewal: not issued by the service, revoked, '
        'expired or issued to another customer.',
        'Subscribe to a new certificate in the Incomes Register e-service and request it with transfer '
        'credentials.'),
    ErrorCodeInfo(
        'PKI012', 'It is too early to renew: renewal is possible at the earliest 60 days before expiry.',
        'Run the renewal again inside the 60-day window.'),
    ErrorCodeInfo(
        'PKI013', "The new certificate signing request reuses the current certificate's key.",
        'Renew with a newly generated private key.'),
    ErrorCodeInfo(
        'PKI014', 'The key is not supported: it must be an RSA key of at least 2048 bits.',
        'Generate an RSA key of 2048 bits or more.'),
    ErrorCodeInfo(
        'PKI099', 'The certificate service failed internally.',
        'Try again later; if it persists, contact the Incomes Register.'),
))


def advice(operation_name, codes, sandbox_meanings=True):
    """What the user should do after operation_name answered FAIL with codes: the operation's next step, then
    (with sandbox_meanings) what the sandbox means by each code it knows, labelled as the sandbox's. Without it, as
    for an answer of the real service, whose codes may mean something else, the next step alone."""
    parts = [OPERATION_ADVICE.get(operation_name, '')]
    for code in codes if sandbox_meanings else ():
        info = SANDBOX_CODES.get(code)
        if info is not None:
            parts.append("(In the collection's sandbox, %s means: %s %s)"
                         % (code, info.meaning[:1].lower() + info.meaning[1:].rstrip('.') + '.', info.action))
    return ' '.join(part for part in parts if part)
