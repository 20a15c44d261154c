# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    # Options of every module that talks to the certificate service.
    DOCUMENTATION = r'''
options:
  environment:
    description:
      - The Incomes Register environment the certificate belongs to. It is sent in every request
        and must match the subscription made in the e-service.
      - Selects the service endpoint unless O(endpoint) is given.
    type: str
    required: true
    choices: [TEST, PRODUCTION]
  endpoint:
    description:
      - URL of the certificate service. Defaults to the Incomes Register endpoint of O(environment),
        U(https://pkiws-testi.vero.fi/2017/10/CertificateServices) for V(TEST) and
        U(https://pkiws.vero.fi/2017/10/CertificateServices) for V(PRODUCTION).
      - Other Tax Administration channels (for example the Positive Credit Register) and the
        collection's sandbox use the same service at other URLs.
      - An C(https://) URL without a user name or password, checked before anything else, also by a run that
        sends nothing (M(incomes_register.certificates.certificate_preflight) reports it as a failed check);
        the service knows the caller by the TransferID or the signature, not by HTTP authentication.
    type: str
  service_ca_path:
    description:
      - PEM file with the CA certificate(s) that the service's response-signing certificate must
        chain to. Every response's XML signature is verified against it before anything in the
        response is used.
    type: path
    required: true
  issuing_ca_path:
    description:
      - PEM file with the issuing CA (and its root) of the organisations' certificates. A returned
        certificate is only accepted when it chains to it.
    type: path
    required: true
  tls_ca_path:
    description:
      - PEM bundle used to verify the service's HTTPS certificate instead of the CA bundle that comes
        with the Python C(requests) library (certifi).
    type: path
  validate_certs:
    description:
      - Verify the service's HTTPS certificate. Turning this off is only for debugging; the XML
        signature of each response is verified regardless.
    type: bool
    default: true
  service_signer_pattern:
    description:
      - Regular expression searched in the subject (RFC 4514, for example V(CN=...,O=...,C=FI)) of the
        certificate that signs each response. A response whose signer does not match is refused.
      - Whether or not it is set, a response signed by a CA certificate is refused, and so is one signed by a
        certificate that a CA of O(issuing_ca_path) issued (a customer's), so that a O(service_ca_path) that
        holds the customers' issuing CA by mistake fails loudly instead of trusting every customer.
    type: str
  proxy:
    description:
      - HTTPS proxy URL, for example V(http://proxy.example.com:3128). Proxy environment variables are
        ignored unless the proxy is given here.
      - A password in the URL (V(http://user:password@proxy.example.com:3128)) is masked in the task's
        output and in error messages.
    type: str
  timeout:
    description:
      - Seconds to wait for the service to connect and for each read of its answer; a whole request
        ends after twice this long at the latest. Must be greater than 0.
      - The answers to SignNewCertificate and RenewCertificate are waited for at least 120 seconds (a whole request
        at most twice that), since giving up on one loses its RetrievalId, and after SignNewCertificate the one-time
        credentials count as spent.
    type: int
    default: 30
  customer_id:
    description:
      - The organisation's Business ID (Y-tunnus), for example V(1234567-8). It is the certificate's
        subject CN.
    type: str
    required: true
  customer_name:
    description:
      - The organisation's name, sent as CustomerName (at most 100 characters).
    type: str
'''

    # The service options of a module that also takes `certificates`, whose entries may give them instead.
    # Listed before `service` in extends_documentation_fragment: the first fragment to document an option wins.
    PER_CERTIFICATE = r'''
options:
  customer_id:
    description:
      - The organisation's Business ID (Y-tunnus), for example V(1234567-8). It is the certificate's
        subject CN.
      - Required unless every entry of O(certificates) gives it.
    type: str
    required: false
  environment:
    description:
      - The Incomes Register environment the certificate belongs to. It is sent in every request
        and must match the subscription made in the e-service.
      - Selects the service endpoint unless O(endpoint) is given.
      - Required unless every entry of O(certificates) gives it.
    type: str
    required: false
    choices: [TEST, PRODUCTION]
  service_ca_path:
    description:
      - PEM file with the CA certificate(s) that the service's response-signing certificate must
        chain to. Every response's XML signature is verified against it before anything in the
        response is used.
      - Required unless every entry of O(certificates) gives it.
    type: path
    required: false
  issuing_ca_path:
    description:
      - PEM file with the issuing CA (and its root) of the organisations' certificates. A returned
        certificate is only accepted when it chains to it.
      - Required unless every entry of O(certificates) gives it.
    type: path
    required: false
'''

    # Options of the modules that wait for a certificate to become retrievable.
    RETRIEVAL = r'''
options:
  wait:
    description:
      - Wait until the service has issued the certificate and retrieve it. When V(false), the module
        returns after the request was accepted and leaves a state file from which
        M(incomes_register.certificates.certificate_retrieve) or a rerun continues; a run that finds a
        RetrievalId recorded asks for its certificate once, without waiting, and returns with action
        V(pending) when it is not issued yet.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to keep polling GetCertificate before giving up (at least 0). A rerun resumes the same
        retrieval.
    type: int
    default: 300
  initial_delay:
    description:
      - Seconds to wait before the first GetCertificate (at least 0), counted from the submission, so a
        request submitted in an earlier run is polled at once. Public clients of the real service wait 15 to
        45 seconds.
    type: float
    default: 30
  poll_interval:
    description:
      - Seconds between GetCertificate polls at first (greater than 0); the interval grows by half each
        time, up to 60 seconds.
    type: float
    default: 10
  final_error_codes:
    description:
      - Error codes that end the wait for a certificate at once.
      - The real service's "not ready yet" code is not published, so while a certificate is awaited, any
        V(FAIL) answer to GetCertificate counts as "not yet" until O(wait_timeout) runs out, whatever its
        code, except the codes listed here.
    type: list
    elements: str
    default: []
  state_path:
    description:
      - File that records a request in flight (never the transfer password), so that a run that died
        resumes instead of sending again. Defaults to O(path) with C(.state.json) appended.
    type: path
'''

    # Options of the modules whose action plugin brings the service's trust files (plugin_utils/trust_copy.py).
    TRUST_COPY = r'''
options:
  trust_src_dir:
    description:
      - A directory on the controller that holds the service's trust files. When given, each file of
        O(trust_files) is copied from it into O(trust_dir) on the host before the module runs, by the action of
        M(ansible.builtin.copy) (only a file that differs is written; mode C(0644), the directory created with
        C(0755)), and RV(trust_files) tells which changed. If a copy fails, the module does not run and nothing
        is sent to the service.
      - Relative to the directory where C(ansible-playbook) runs; C(~) is the controller user's home.
      - O(service_ca_path), O(issuing_ca_path) and O(tls_ca_path) still name the files the module reads; point
        them into O(trust_dir).
    type: path
  trust_files:
    description: The names of the files that O(trust_src_dir) holds and that are copied.
    type: list
    elements: str
    default: [service-signing-ca.pem, issuing-ca.pem]
  trust_dir:
    description: The directory on the host that the files of O(trust_files) are copied into.
    type: path
    default: /etc/incomes-register/trust
'''
