"""The sandbox's own throughput per operation: a few concurrent HTTPS clients over loopback.

Request bodies are built once, up front, with the collection's own soap_messages (so they are
exactly what the modules send) and then replayed, so the clients spend their time on TLS and
HTTP, not on XML signing: what is measured is the server. Each client keeps one connection
alive, as requests.Session in the modules does for the polls of one renewal.

- signNewCertificate: every request spends its own one-time transfer credentials, created in
  the sandbox store beforehand (that is why its count is the smallest).
- renewCertificate: one request, signed by a certificate inside its renewal window, replayed;
  the sandbox accepts a repeated renewal, each one creates a retrieval.
- getCertificate: one RetrievalId (from a renewal), read again and again; the first read issues
  the certificate, the others return it.
"""
import datetime
import http.client
import re
import secrets
import ssl
import statistics
import threading
import time
from urllib.parse import urlsplit

from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto import csr
from ansible_collections.incomes_register.certificates.plugins.module_utils._wire import soap_messages
from irsandbox import pki
from irsandbox.layout import Layout
from irsandbox.store import Store

CUSTOMER = '3000000-0'
ENVIRONMENT = 'TEST'
RETRIEVAL_ID = re.compile(rb'RetrievalId>([0-9a-f]{32})<')
STATUS_OK = re.compile(rb'<Status>OK</Status>')
# Enough for a steady rate at ~50-100 requests/s; each signNewCertificate needs credentials made up front.
MAX_REQUESTS = {'signNewCertificate': 60, 'renewCertificate': 200, 'getCertificate': 300}


class Client(object):
    """One keep-alive HTTPS connection to the sandbox."""

    def __init__(self, url, tls_ca_pem):
        parts = urlsplit(url)
        self.path = parts.path
        self.connection = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=30,
                                                      context=ssl.create_default_context(cafile=tls_ca_pem))

    def post(self, soap_action, body):
        self.connection.request('POST', self.path, body=body, headers={
            'Content-Type': 'text/xml; charset=utf-8', 'SOAPAction': '"%s"' % soap_action})
        response = self.connection.getresponse()
        return response.status, response.read()

    def close(self):
        self.connection.close()


def _prepare(sandbox, sign_count):
    """{soap action: function of the request's index -> its body}."""
    layout = Layout(sandbox.directory)
    store = Store(layout.database)
    signer_key, csr_key = pki.new_rsa_key(2048), pki.new_rsa_key(2048)
    now = pki.utcnow()
    # Inside the 60-day window, so the sandbox accepts it as the signer of a renewal.
    cert = pki.Pki.load(layout).issue(signer_key.public_key(), CUSTOMER, 'Bench Oy', now - datetime.timedelta(days=680),
                                      now + datetime.timedelta(days=50))
    store.add_certificate(cert, CUSTOMER, 'Bench Oy', ENVIRONMENT, 'issue')
    request_der = csr.build_csr(csr_key, CUSTOMER, 'Bench Oy')

    sign_bodies = []
    for dummy in range(sign_count):
        transfer_id, password = secrets.token_hex(16), 'Bench-' + secrets.token_hex(5)
        store.add_subscription(CUSTOMER, 'Bench Oy', ENVIRONMENT, transfer_id, password,
                               now + datetime.timedelta(days=1))
        sign_bodies.append(soap_messages.build_sign_new_certificate_request(
            ENVIRONMENT, CUSTOMER, 'Bench Oy', transfer_id, password, request_der))
    renew_body = soap_messages.build_renew_certificate_request(ENVIRONMENT, CUSTOMER, 'Bench Oy', request_der, signer_key,
                                                               cert)
    client = Client(sandbox.url, sandbox.tls_ca_pem)
    try:
        status, answer = client.post(soap_messages.RENEW.soap_action, renew_body)
    finally:
        client.close()
    match = RETRIEVAL_ID.search(answer)
    if status != 200 or not match:
        raise RuntimeError('the sandbox refused the renewal used for the benchmark (HTTP %d): %s'
                           % (status, answer[:300]))
    get_body = soap_messages.build_get_certificate_request(ENVIRONMENT, CUSTOMER, 'Bench Oy',
                                                           match.group(1).decode('ascii'))
    return {
        'signNewCertificate': lambda index: sign_bodies[index],
        'renewCertificate': lambda index: renew_body,
        'getCertificate': lambda index: get_body,
    }


def _drive(url, tls_ca_pem, soap_action, body_for, count, seconds, clients):
    """Send up to count requests for at most seconds with `clients` threads; returns a result dict."""
    lock = threading.Lock()
    issued = [0]
    latencies, failures = [], []
    deadline = time.monotonic() + seconds

    def next_index():
        with lock:
            if issued[0] >= count or time.monotonic() >= deadline:
                return None
            issued[0] += 1
            return issued[0] - 1

    def work():
        client = Client(url, tls_ca_pem)
        try:
            while True:
                index = next_index()
                if index is None:
                    return
                started = time.perf_counter()
                try:
                    status, answer = client.post(soap_action, body_for(index))
                except (OSError, http.client.HTTPException) as error:
                    failures.append(type(error).__name__)
                    client.close()
                    client = Client(url, tls_ca_pem)
                    continue
                elapsed = time.perf_counter() - started
                with lock:
                    if status == 200 and STATUS_OK.search(answer):
                        latencies.append(elapsed)
                    else:
                        failures.append('HTTP %d' % status)
        finally:
            client.close()

    started = time.monotonic()
    threads = [threading.Thread(target=work) for dummy in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    ordered = sorted(latencies)
    return {
        'operation': soap_action, 'clients': clients, 'ok': len(latencies), 'failed': len(failures),
        'failures': sorted(set(failures)), 'seconds': elapsed,
        'per_second': len(latencies) / elapsed if elapsed else 0.0,
        'p50_ms': statistics.median(ordered) * 1000 if ordered else None,
        'p95_ms': ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000 if ordered else None,
    }


def measure(sandbox, clients=4, seconds=5.0):
    """Throughput of each operation, at most MAX_REQUESTS of it and at most `seconds` long."""
    bodies = _prepare(sandbox, MAX_REQUESTS['signNewCertificate'])
    return [_drive(sandbox.url, sandbox.tls_ca_pem, action, bodies[action], MAX_REQUESTS[action], seconds, clients)
            for action in ('signNewCertificate', 'renewCertificate', 'getCertificate')]
