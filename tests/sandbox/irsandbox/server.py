"""The HTTPS front: stdlib ThreadingHTTPServer, TLS per connection, one log line per request."""
import json
import logging
import os
import signal
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from irsandbox import protocol, soap
from irsandbox.endpoint import Endpoint

log = logging.getLogger('irsandbox')
HANDSHAKE_TIMEOUT = 15
# Unwanted bodies up to this size are read and dropped so the client sees the answer.
MAX_DRAIN_BYTES = 16 * 1024 * 1024
CHUNK = 64 * 1024


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'IRSandbox'
    sys_version = ''
    timeout = 60

    def do_GET(self):
        self._send(405, b'Use POST with a SOAP 1.1 envelope\n', 'text/plain; charset=utf-8', Allow='POST')

    def do_POST(self):
        started = time.monotonic()
        if urlsplit(self.path).path != protocol.ENDPOINT_PATH:
            self._discard_body()
            self._send(404, b'Not found\n', 'text/plain; charset=utf-8')
            self._log_line(started, 404, {})
            return
        body, refusal = self._read_body()
        if refusal is not None:
            status, message = refusal
            self.close_connection = True
            self._send(status, soap.fault(message, self.server.endpoint.profile()))
            self._log_line(started, status, {'fault_code': 'Client'})
            return
        with self.server.tracker:
            reply = self.server.endpoint.handle(self.headers.get('SOAPAction'), body)
            if reply.delay:
                time.sleep(reply.delay)
            if reply.drop:
                self.close_connection = True
                self._log_line(started, 'dropped', reply.summary)
                return
            self._send(reply.status, reply.body, reply.content_type, **reply.headers)
        self._log_line(started, reply.status, reply.summary)

    def date_time_string(self, timestamp=None):
        """The Date header, shifted by the date_offset setting so that a client can be shown a clock skew."""
        if timestamp is None:
            timestamp = time.time() + self.server.endpoint.store.settings()['date_offset']
        return super().date_time_string(timestamp)

    def _discard_body(self):
        """Read and drop an unwanted body, then end the connection after the answer.

        Closing a socket with unread input makes the kernel send a reset, which can destroy
        the answer before the client reads it; so a modest body is read first.
        """
        self.close_connection = True
        try:
            remaining = int(self.headers.get('Content-Length', '0'))
        except ValueError:
            return
        if remaining > MAX_DRAIN_BYTES:
            return
        while remaining > 0:
            chunk = self.rfile.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)

    def _read_body(self):
        """(body, None) or (None, (http status, message)) when the request is refused unread."""
        if self.headers.get('Transfer-Encoding'):
            return None, (411, 'Chunked requests are not supported; send Content-Length')
        try:
            length = int(self.headers.get('Content-Length', ''))
        except ValueError:
            return None, (411, 'Content-Length is required')
        if length < 0:
            return None, (400, 'Invalid Content-Length')
        if length > protocol.MAX_REQUEST_BYTES:
            self._discard_body()
            return None, (413, 'Request larger than %d bytes' % protocol.MAX_REQUEST_BYTES)
        body = self.rfile.read(length)
        if len(body) != length:
            return None, (400, 'Request body shorter than Content-Length')
        if 'Content-Type' not in self.headers or self.headers.get_content_type() != 'text/xml':
            return None, (415, 'Content-Type must be text/xml (SOAP 1.1)')
        return body, None

    def _send(self, status, body, content_type='text/xml; charset=utf-8', **headers):
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header('Connection', 'close')
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            # The client gave up on the body (e.g. on an oversized response); nothing to do.
            self.close_connection = True

    def _log_line(self, started, status, summary):
        fields = ' '.join('%s=%s' % (name, summary.get(name) or '-')
                          for name in ('operation', 'customer', 'result', 'codes', 'fault', 'fault_code'))
        log.info('%s POST %s http=%s %s %dms', self.client_address[0], urlsplit(self.path).path, status, fields,
                 (time.monotonic() - started) * 1000)

    def log_request(self, code='-', size='-'):
        """POSTs get their own line from _log_line; other requests are logged here."""
        if self.command != 'POST':
            super().log_request(code, size)

    def log_message(self, format, *args):  # noqa: A002 (name fixed by the base class)
        log.info('%s %s', self.client_address[0], format % args)


class InFlight:
    """Counts requests being handled and records the peak in the store."""

    def __init__(self, store):
        self.store = store
        self.lock = threading.Lock()
        self.current = 0

    def __enter__(self):
        with self.lock:
            self.current += 1
            current = self.current
        self.store.record_concurrency(current)

    def __exit__(self, *exc_info):
        with self.lock:
            self.current -= 1


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, endpoint, ssl_context):
        self.address_family = socket.AF_INET6 if ':' in address[0] else socket.AF_INET
        self.endpoint = endpoint
        self.ssl_context = ssl_context
        self.tracker = InFlight(endpoint.store)
        super().__init__(address, Handler)

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, in the connection's own thread, so a slow or
        # broken client cannot stall the accept loop.
        request.settimeout(HANDSHAKE_TIMEOUT)
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            log.info('%s TLS handshake failed: %s', client_address[0], exc)
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            tls.close()

    def handle_error(self, request, client_address):
        log.info('%s connection error', client_address[0], exc_info=True)


def tls_context(layout):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(layout.pki('tls.pem'), layout.pki('tls.key'))
    return context


def _url_host(host):
    if host in ('0.0.0.0', ''):
        return '127.0.0.1'
    if host == '::':
        return '[::1]'
    return '[%s]' % host if ':' in host else host


def _write_json_atomically(path, data):
    temporary = '%s.%d.tmp' % (path, os.getpid())
    with open(temporary, 'w', encoding='utf-8') as handle:
        json.dump(data, handle)
    os.replace(temporary, path)


class _Stop(Exception):
    pass


def _raise_stop(signum, frame):
    raise _Stop()


def serve(layout, host, port):
    """Serve until SIGTERM or SIGINT; server.json exists exactly while the server listens."""
    endpoint = Endpoint(layout)
    endpoint.store.reset_calls()
    server = SandboxHTTPServer((host, port), endpoint, tls_context(layout))
    port = server.server_address[1]
    url = 'https://%s:%d%s' % (_url_host(host), port, protocol.ENDPOINT_PATH)
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    _write_json_atomically(layout.server_json, {'url': url, 'port': port, 'pid': os.getpid()})
    log.info('listening on %s (pid %d)', url, os.getpid())
    try:
        server.serve_forever()
    except _Stop:
        log.info('stopping')
    finally:
        server.server_close()
        try:
            with open(layout.server_json, encoding='utf-8') as handle:
                ours = json.load(handle).get('pid') == os.getpid()
        except (OSError, ValueError):
            ours = False
        if ours:
            os.unlink(layout.server_json)
