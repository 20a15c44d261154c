"""One SOAP call from body bytes to reply bytes: parsing, counting, faults, rules, signing.

Kept free of HTTP so the server only moves bytes.
"""
import logging
from dataclasses import dataclass, field

from irsandbox import faults, profiles, protocol, signing, soap
from irsandbox.pki import Pki
from irsandbox.service import Service
from irsandbox.store import Store

log = logging.getLogger('irsandbox')


@dataclass
class Reply:
    status: int = 200
    body: bytes = b''
    drop: bool = False          # close the connection without answering at all
    delay: float = 0.0          # seconds to wait before answering
    content_type: str = 'text/xml; charset=utf-8'
    headers: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)  # for the request log line; never secrets


def fault_reply(message, profile, code='Client', status=500, **summary):
    return Reply(status=status, body=soap.fault(message, profile, code), summary=dict(summary, fault_code=code))


class Endpoint:
    def __init__(self, layout):
        self.store = Store(layout.database)
        self.pki = Pki.load(layout)
        self.service = Service(self.store, self.pki)

    def profile(self):
        """The response profile in force: a setting, so it can change while the server runs."""
        return profiles.PROFILES[self.store.settings()['profile']]

    def handle(self, soap_action, body):
        profile = self.profile()
        try:
            request = soap.parse_request(body, soap_action)
        except soap.SoapFault as exc:
            return fault_reply(exc.message, profile, exc.code, exc.http_status)
        except Exception:
            log.exception('internal error while parsing a request')
            return fault_reply('Internal error', profile, 'Server')
        summary = {'operation': request.operation, 'customer': soap.child_text(request.element, 'CustomerId')}
        try:
            return self._dispatch(request, profile, summary)
        except Exception:
            log.exception('internal error while answering %s', request.operation)
            return self._internal_error(request, profile, summary)

    def _dispatch(self, request, profile, summary):
        self.store.count_call(request.operation)
        fault = self.store.take_fault(request.operation, faults.REQUEST_KINDS)
        kind = fault['kind'] if fault else None
        summary['fault'] = kind
        if kind == 'http500':
            return fault_reply('Service temporarily unavailable', profile, 'Server', **summary)
        if kind == 'client-fault':
            return fault_reply('Request does not conform to the schema', profile, 'Client', **summary)
        if kind == 'gateway-503':
            return Reply(status=503, body=faults.GATEWAY_PAGE, content_type='text/html',
                         headers={'Retry-After': faults.GATEWAY_RETRY_AFTER}, summary=summary)
        if kind == 'malformed':
            return Reply(body=faults.malformed_body(request.operation, profile), summary=summary)
        if kind == 'oversized':
            return Reply(body=faults.oversized_body(request.operation, profile), summary=summary)
        return self._answer(request, profile, kind, fault, summary)

    def _answer(self, request, profile, kind, fault, summary):
        if kind == 'refused':
            return self._signed_fail(request, profile, summary, protocol.REFUSED, 'The request was refused')
        outcome = self.service.handle(request)
        if kind == 'server-fault-after-processing':
            summary['result'] = 'FAIL' if outcome.errors else 'OK'
            return fault_reply('Internal error', profile, 'Server', **summary)
        if outcome.certificate is not None:
            certificate_fault = self.store.take_fault(request.operation, faults.CERTIFICATE_KINDS)
            if certificate_fault:
                summary['fault'] = ','.join(filter(None, (kind, certificate_fault['kind'])))
                outcome.payload = [('Certificate', faults.certificate_fault(
                    certificate_fault['kind'], outcome.certificate, outcome.retrieval, self.pki))]
        summary['result'] = 'FAIL' if outcome.errors else 'OK'
        summary['codes'] = ','.join(code for code, dummy in outcome.errors) or None
        if kind == 'customer-signer':
            signer = self.pki.customer
        else:
            signer = self.pki.response_signer(profile, impostor=kind == 'untrusted-signer')
        response = soap.build_response(request.operation, outcome.payload, outcome.errors, profile)
        signed = signing.sign_response(response, signer, profile)
        doctype = None
        if kind == 'bad-signature':
            faults.tamper_after_signing(signed, self.pki, profile)
        elif kind == 'dtd':
            doctype = faults.entity_doctype(signed, profile)
        reply = Reply(body=soap.envelope(signed, profile, doctype=doctype), summary=summary)
        if kind == 'drop-after-processing':
            reply.drop = True
        elif kind == 'delay':
            reply.delay = fault['seconds']
        return reply

    def _signed_fail(self, request, profile, summary, code, message):
        summary.update(result='FAIL', codes=code)
        signed = signing.sign_response(soap.build_response(request.operation, [], [(code, message)], profile),
                                       self.pki.response_signer(profile), profile)
        return Reply(body=soap.envelope(signed, profile), summary=summary)

    def _internal_error(self, request, profile, summary):
        try:
            return self._signed_fail(request, profile, summary, protocol.INTERNAL_ERROR,
                                     'Internal error; try again later')
        except Exception:
            log.exception('could not even sign the internal error response')
            return fault_reply('Internal error', profile, 'Server', **summary)
