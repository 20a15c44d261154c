"""Running the server in the background: spawning, readiness, status and stopping."""
import http.client
import json
import os
import signal
import ssl
import subprocess
import sys
import time
from urllib.parse import urlsplit

from irsandbox import protocol


class ControlError(Exception):
    pass


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_info(layout):
    """server.json of a live server, or None (a stale file from a killed server counts as not running)."""
    try:
        with open(layout.server_json, encoding='utf-8') as handle:
            info = json.load(handle)
    except (OSError, ValueError):
        return None
    return info if pid_alive(info.get('pid', -1)) else None


def serve_command(directory, options):
    """argv running `serve` with this interpreter; options is [flag, value, ...]."""
    return [sys.executable, '-m', 'irsandbox', 'serve', '--dir', os.path.abspath(directory), *options]


def child_environment():
    """The environment for a child interpreter that must import this very irsandbox package."""
    environment = dict(os.environ)
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    paths = [package_parent] + [p for p in environment.get('PYTHONPATH', '').split(os.pathsep) if p]
    environment['PYTHONPATH'] = os.pathsep.join(paths)
    return environment


def answers(url, tls_ca_pem, timeout=2.0):
    """True when an HTTPS server verified by tls_ca_pem answers at url."""
    parts = urlsplit(url)
    context = ssl.create_default_context(cafile=tls_ca_pem)
    connection = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout, context=context)
    try:
        connection.request('GET', protocol.ENDPOINT_PATH)
        connection.getresponse().read()
        return True
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def wait_until_ready(layout, process, timeout=30.0):
    """Wait for the server started as process to write server.json and answer HTTPS; returns server.json."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ControlError('the sandbox server exited with status %s; see %s'
                               % (process.returncode, layout.server_log))
        info = running_info(layout)
        if info and info.get('pid') == process.pid and answers(info['url'], layout.tls_ca_pem):
            return info
        time.sleep(0.05)
    raise ControlError('the sandbox server did not answer within %.0f seconds; see %s' % (timeout, layout.server_log))


def start(layout, options, timeout=30.0, detach=True):
    """Start `serve` in the background, logging to server.log; returns (process, server.json)."""
    if running_info(layout):
        raise ControlError('a sandbox server is already running for %s' % layout.root)
    with open(layout.server_log, 'ab') as log_file:
        process = subprocess.Popen(serve_command(layout.root, options), stdin=subprocess.DEVNULL,
                                   stdout=log_file, stderr=log_file, env=child_environment(),
                                   start_new_session=detach)
    try:
        return process, wait_until_ready(layout, process, timeout)
    except ControlError:
        if process.poll() is None:
            process.kill()
            process.wait()
        raise


def stop(layout, timeout=15.0):
    """SIGTERM the running server and wait for it to exit; False when none was running."""
    info = running_info(layout)
    if info is None:
        if os.path.exists(layout.server_json):
            os.unlink(layout.server_json)  # left behind by a server that was killed
        return False
    pid = info['pid']
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid) or _is_zombie(pid):
            return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    if os.path.exists(layout.server_json):
        os.unlink(layout.server_json)
    raise ControlError('the sandbox server (pid %d) did not stop within %.0f seconds and was killed' % (pid, timeout))


def _is_zombie(pid):
    """A child that has exited but not been reaped yet still answers kill(0)."""
    try:
        with open('/proc/%d/stat' % pid, encoding='ascii') as handle:
            return handle.read().rsplit(')', 1)[1].split()[0] == 'Z'
    except (OSError, IndexError):
        return False
