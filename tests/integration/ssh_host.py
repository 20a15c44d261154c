"""A managed host reached as users reach theirs: Debian's OpenSSH server on 127.0.0.1 (a free port, a
throwaway host key), an unprivileged login user with passwordless sudo, an application user, and the
distribution's own Python in a virtual environment with the collection's requirements.

Everything is made for one test session and removed after it (the users with their homes, the sudoers
file, the server). Where the server cannot be had (not root, openssh-server or sudo missing, sshd does not
start), SshHost.start raises Unavailable with the reason, and the tests skip saying so.
"""
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time

SSHD = '/usr/sbin/sshd'
SFTP_SERVER = '/usr/lib/openssh/sftp-server'
DISTRIBUTION_PYTHON = '/usr/bin/python3'
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOST_REQUIREMENTS = os.path.join(ROOT, 'requirements-host.txt')


class Unavailable(Exception):
    """The SSH host cannot be set up on this machine; the message says why."""


def _run(command, **kwargs):
    completed = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300, **kwargs)
    if completed.returncode != 0:
        raise RuntimeError('%s failed (%s): %s%s' % (' '.join(command), completed.returncode,
                                                     completed.stdout[-2000:], completed.stderr[-2000:]))
    return completed.stdout


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class SshHost(object):
    def __init__(self):
        suffix = secrets.token_hex(3)
        self.login = 'irlogin' + suffix
        self.app = 'irapp' + suffix
        self.sudoers = '/etc/sudoers.d/ir-ssh-test-' + suffix
        self.work = None
        self.process = None
        self.port = None
        self.users = []

    # -- set-up ------------------------------------------------------------------------------------------
    def start(self):
        if os.geteuid() != 0:
            raise Unavailable('the SSH tests create a login user and start sshd: they need root')
        for path, package in ((SSHD, 'openssh-server'), (shutil.which('sudo') or '/usr/bin/sudo', 'sudo'),
                              (DISTRIBUTION_PYTHON, 'python3')):
            if not os.path.exists(path):
                raise Unavailable('%s is missing (Debian package %s; `make ssh-host` installs it as root)'
                                  % (path, package))
        if not shutil.which('ssh'):
            raise Unavailable('the ssh client is missing (Debian package openssh-client)')
        # World-readable (0755) so that the login and application users reach the host's Python and files.
        self.work = tempfile.mkdtemp(prefix='ir-ssh-')
        os.chmod(self.work, 0o755)
        try:
            self._make_users()
            self._make_keys()
            self._start_sshd()
            self._make_python()
        except Unavailable:
            self.stop()
            raise
        except Exception:
            self.stop()
            raise
        return self

    def _make_users(self):
        for user in (self.login, self.app):
            _run(['useradd', '--create-home', '--shell', '/bin/sh', user])
            self.users.append(user)
            # No password, but not locked ('!'): sshd refuses locked accounts even for key logins.
            _run(['usermod', '-p', '*', user])
        with open(self.sudoers, 'w') as handle:
            handle.write('%s ALL=(ALL:ALL) NOPASSWD: ALL\n' % self.login)
        os.chmod(self.sudoers, 0o440)
        _run(['visudo', '-cf', self.sudoers])

    def _make_keys(self):
        self.client_key = os.path.join(self.work, 'client_ed25519')
        self.host_key = os.path.join(self.work, 'host_ed25519')
        for path in (self.client_key, self.host_key):
            _run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'ir-ssh-test', '-f', path])
        home = os.path.expanduser('~' + self.login)
        ssh_dir = os.path.join(home, '.ssh')
        os.makedirs(ssh_dir, mode=0o700, exist_ok=True)
        shutil.copy(self.client_key + '.pub', os.path.join(ssh_dir, 'authorized_keys'))
        os.chmod(os.path.join(ssh_dir, 'authorized_keys'), 0o600)
        _run(['chown', '-R', '%s:%s' % (self.login, self.login), ssh_dir])

    def _start_sshd(self):
        self.port = _free_port()
        config = os.path.join(self.work, 'sshd_config')
        with open(config, 'w') as handle:
            handle.write('\n'.join([
                'Port %d' % self.port,
                'ListenAddress 127.0.0.1',
                'HostKey %s' % self.host_key,
                'PidFile %s' % os.path.join(self.work, 'sshd.pid'),
                'AuthenticationMethods publickey',
                'PubkeyAuthentication yes',
                'PasswordAuthentication no',
                'KbdInteractiveAuthentication no',
                'PermitRootLogin no',
                'AllowUsers %s' % self.login,
                'UsePAM no',
                'StrictModes yes',
                'Subsystem sftp %s' % SFTP_SERVER,
                '']))
        # The privilege separation directory Debian's service unit would create.
        os.makedirs('/run/sshd', mode=0o755, exist_ok=True)
        self.log = os.path.join(self.work, 'sshd.log')
        try:
            _run([SSHD, '-t', '-f', config])
        except RuntimeError as error:
            raise Unavailable('sshd refuses its configuration here: %s' % error)
        self.process = subprocess.Popen([SSHD, '-D', '-e', '-f', config], stdout=subprocess.DEVNULL,
                                        stderr=open(self.log, 'w'))
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise Unavailable('sshd exited at start (%s): %s' % (self.process.returncode, self.log_tail()))
            try:
                socket.create_connection(('127.0.0.1', self.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise Unavailable('sshd did not listen on 127.0.0.1:%d within 15 s: %s' % (self.port, self.log_tail()))
        with open(self.host_key + '.pub') as handle:
            host_key = ' '.join(handle.read().split()[:2])
        self.known_hosts = os.path.join(self.work, 'known_hosts')
        with open(self.known_hosts, 'w') as handle:
            handle.write('[127.0.0.1]:%d %s\n' % (self.port, host_key))
        self.control_dir = os.path.join(self.work, 'cp')
        os.makedirs(self.control_dir, mode=0o700)
        # Logged in, as the login user, and root through sudo without a password.
        out = self.ssh('id -un; sudo -n id -un')
        assert out.split() == [self.login, 'root'], out

    def _make_python(self):
        """The distribution's Python (not the controller's, which lives under /root) with the requirements."""
        self.python_dir = os.path.join(self.work, 'python')
        try:
            _run([DISTRIBUTION_PYTHON, '-m', 'venv', '--without-pip', self.python_dir])
        except RuntimeError as error:
            raise Unavailable('%s cannot make a virtual environment (Debian package python3-venv): %s'
                              % (DISTRIBUTION_PYTHON, error))
        self.python = os.path.join(self.python_dir, 'bin', 'python')
        # The controller's pip installs into it (quicker than bootstrapping a pip of its own), from the file the
        # guide tells users to install on their hosts.
        _run([sys.executable, '-m', 'pip', '--python', self.python, 'install', '--quiet', '-r', HOST_REQUIREMENTS])
        _run(['chmod', '-R', 'a+rX', self.python_dir])

    # -- use -----------------------------------------------------------------------------------------------
    def ssh_options(self):
        return ['-o', 'UserKnownHostsFile=%s' % self.known_hosts, '-o', 'StrictHostKeyChecking=yes',
                '-o', 'ControlMaster=auto', '-o', 'ControlPersist=30s',
                '-o', 'ControlPath=%s/%%C' % self.control_dir, '-o', 'BatchMode=yes']

    def ssh(self, command):
        return _run(['ssh', '-i', self.client_key, '-p', str(self.port)] + self.ssh_options()
                    + ['%s@127.0.0.1' % self.login, command])

    def inventory_vars(self, **extra):
        """A host's connection variables: SSH as the login user, become (root unless extra says otherwise)."""
        variables = {
            'ansible_connection': 'ssh',
            'ansible_host': '127.0.0.1',
            'ansible_port': self.port,
            'ansible_user': self.login,
            'ansible_ssh_private_key_file': self.client_key,
            'ansible_ssh_common_args': ' '.join(self.ssh_options()),
            'ansible_python_interpreter': self.python,
            'ansible_become': True,
            'ansible_become_method': 'sudo',
        }
        variables.update(extra)
        return variables

    def logins(self):
        """How many times the login user has logged in (sshd's log)."""
        with open(self.log) as handle:
            return handle.read().count('Accepted publickey for %s from 127.0.0.1' % self.login)

    def log_tail(self, lines=20):
        try:
            with open(self.log) as handle:
                return ''.join(handle.readlines()[-lines:])
        except (OSError, AttributeError):
            return ''

    # -- tear-down -------------------------------------------------------------------------------------------
    def stop(self):
        if self.process is not None:
            if getattr(self, 'control_dir', None):
                subprocess.run(['ssh', '-O', 'exit', '-p', str(self.port)] + self.ssh_options()
                               + ['%s@127.0.0.1' % self.login], capture_output=True, check=False, timeout=30)
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        for user in self.users:
            subprocess.run(['userdel', '--force', '--remove', user], capture_output=True, check=False)
        self.users = []
        if os.path.exists(self.sudoers):
            os.remove(self.sudoers)
        if self.work:
            shutil.rmtree(self.work, ignore_errors=True)
            self.work = None
