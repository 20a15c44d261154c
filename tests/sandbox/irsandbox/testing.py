"""RunningSandbox: a sandbox server for a test, driven through the real CLI.

    from irsandbox.testing import RunningSandbox

    with RunningSandbox(tmp_path / 'sandbox', retrieval_delay=0) as sandbox:
        transfer_id, transfer_password = sandbox.subscribe('1234567-8', 'Org Oy')
        requests.post(sandbox.url, data=..., verify=sandbox.tls_ca_pem, headers=...)

RunningSandbox(directory, retrieval_delay=0, profile=None, not_ready_code=None, not_ready_message=None,
               **serve_opts)
    directory      sandbox data directory; `ir-sandbox init` runs first if it is not initialised
    retrieval_delay  seconds between a sign/renew request and the certificate being retrievable
    profile        response shapes, 'real' or 'minimal' (None: as stored, 'real' after init)
    not_ready_code, not_ready_message
                   ErrorCode and ErrorMessage of the getCertificate answer "not ready yet"
                   (None: as stored, PKI008 after init)
    serve_opts     further `serve` options as keywords: validity_days, credential_lifetime_days,
                   date_offset (seconds added to the HTTP Date header), host, port (default: a free
                   port chosen by the server), startup_timeout (seconds)

Entering the context (or start()) starts `python -m irsandbox serve` with the caller's
interpreter, waits for server.json and a verified HTTPS answer; leaving it (or stop())
sends SIGTERM and waits. The same directory can be started again: state persists.

Attributes (all str): url, directory, service_ca_pem (services issuing CA + root: the
chain of response signers), issuing_ca_pem (issuing CA + root: chain of customer certificates),
tls_ca_pem (CA of the HTTPS server certificate), log_path; port (int) and pid (int)
while running.

Methods (each runs the real CLI in a subprocess; a failing command raises SandboxError):
    cli(*args) -> str               stdout of `ir-sandbox <args> --dir <directory>`
    subscribe(customer_id, name, environment='TEST', expires_in_days=None)
                                    -> (transfer_id, transfer_password)
    issue(customer_id, key_path=None, new_key_path=None, expires_in_days=730, out=None,
          name=None, csr_path=None, valid_days=None, not_before=None, not_after=None,
          environment='TEST') -> dict with serial (decimal str), serial_hex, customer_id,
                                    environment, not_before, not_after (ISO), certificate_pem,
                                    certificate_path, key_path
    calls() -> dict                 {'signNewCertificate': n, 'getCertificate': n,
                                     'renewCertificate': n, 'total': n, 'peak_concurrent': n}
    reset_calls()
    set_fault(operation, kind, times=None, seconds=None)
    clear_faults(operation=None)
    configure(retrieval_delay=None, validity_days=None, credential_lifetime_days=None, profile=None,
              not_ready_code=None, not_ready_message=None, date_offset=None)
                                    -> dict of all settings; None keeps a value
    revoke(serial)
    state() -> dict                 `ir-sandbox list --json`
"""
import json
import os
import subprocess
import sys

from irsandbox import control
from irsandbox.layout import Layout


class SandboxError(Exception):
    pass


class RunningSandbox:
    def __init__(self, directory, retrieval_delay=0, profile=None, not_ready_code=None, not_ready_message=None,
                 **serve_opts):
        self.directory = os.path.abspath(os.fspath(directory))
        self._layout = Layout(self.directory)
        self.startup_timeout = serve_opts.pop('startup_timeout', 30.0)
        self.serve_opts = dict(serve_opts, retrieval_delay=retrieval_delay, profile=profile,
                               not_ready_code=not_ready_code, not_ready_message=not_ready_message)
        self.service_ca_pem = self._layout.service_ca_pem
        self.issuing_ca_pem = self._layout.issuing_ca_pem
        self.tls_ca_pem = self._layout.tls_ca_pem
        self.log_path = self._layout.server_log
        self.url = None
        self.port = None
        self.pid = None
        self._process = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def start(self):
        if self._process is not None:
            raise SandboxError('already started')
        if not self._layout.is_initialised():
            os.makedirs(self.directory, exist_ok=True)
            self.cli('init')
        options = []
        for name, value in self.serve_opts.items():
            if value is not None:
                options += ['--' + name.replace('_', '-'), str(value)]
        try:
            # Not detached: the server belongs to the test process and dies with its session.
            self._process, info = control.start(self._layout, options, timeout=self.startup_timeout,
                                                detach=False)
        except control.ControlError as exc:
            raise SandboxError('%s\n%s' % (exc, self._log_tail())) from None
        self.url, self.port, self.pid = info['url'], info['port'], info['pid']
        return self

    def stop(self):
        if self._process is None:
            return
        process, self._process = self._process, None
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.url = self.port = self.pid = None

    def _log_tail(self, lines=30):
        try:
            with open(self.log_path, encoding='utf-8', errors='replace') as handle:
                return ''.join(handle.readlines()[-lines:])
        except OSError:
            return ''

    def cli(self, *args):
        argv = [str(arg) for arg in args]
        if '--dir' not in argv:
            argv += ['--dir', self.directory]
        completed = subprocess.run([sys.executable, '-m', 'irsandbox', *argv], capture_output=True, text=True,
                                   env=control.child_environment(), timeout=120, check=False)
        if completed.returncode != 0:
            raise SandboxError('ir-sandbox %s failed (%d): %s'
                               % (argv[0], completed.returncode, completed.stderr.strip()))
        return completed.stdout

    def _json(self, *args):
        return json.loads(self.cli(*args, '--json'))

    def subscribe(self, customer_id, name, environment='TEST', expires_in_days=None):
        args = ['subscribe', '--customer-id', customer_id, '--environment', environment]
        if name is not None:
            args += ['--name', name]
        if expires_in_days is not None:
            args += ['--expires-in-days', expires_in_days]
        result = self._json(*args)
        return result['transfer_id'], result['transfer_password']

    def issue(self, customer_id, key_path=None, new_key_path=None, expires_in_days=730, out=None, name=None,
              csr_path=None, valid_days=None, not_before=None, not_after=None, environment='TEST'):
        args = ['issue', '--customer-id', customer_id, '--environment', environment]
        for flag, value in (('--key', key_path), ('--new-key', new_key_path), ('--csr', csr_path),
                            ('--out', out), ('--name', name), ('--valid-days', valid_days)):
            if value is not None:
                args += [flag, value]
        if not_before is not None or not_after is not None:
            args += ['--not-before', not_before, '--not-after', not_after]
        else:
            args += ['--expires-in-days', expires_in_days]
        return self._json(*args)

    def calls(self):
        return self._json('calls')

    def reset_calls(self):
        self.cli('calls', '--reset')

    def set_fault(self, operation, kind, times=None, seconds=None):
        args = ['fault', 'set', '--operation', operation, '--kind', kind]
        if times is not None:
            args += ['--times', times]
        if seconds is not None:
            args += ['--seconds', seconds]
        self.cli(*args)

    def clear_faults(self, operation=None):
        self.cli('fault', 'clear', *(['--operation', operation] if operation else []))

    def configure(self, retrieval_delay=None, validity_days=None, credential_lifetime_days=None, profile=None,
                  not_ready_code=None, not_ready_message=None, date_offset=None):
        args = ['config']
        for flag, value in (('--retrieval-delay', retrieval_delay), ('--validity-days', validity_days),
                            ('--credential-lifetime-days', credential_lifetime_days), ('--profile', profile),
                            ('--not-ready-code', not_ready_code), ('--not-ready-message', not_ready_message),
                            ('--date-offset', date_offset)):
            if value is not None:
                args += [flag, value]
        return self._json(*args)

    def revoke(self, serial):
        self.cli('revoke', '--serial', serial)

    def state(self):
        return self._json('list')
