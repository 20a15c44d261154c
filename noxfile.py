"""The support matrix (`make matrix`): what docs/compatibility.md claims, each combination run here.

Sessions (`.venv/bin/nox -l` lists them; virtual environments are kept under .build/nox):

* integration(core): the integration core (tests marked `core`: enroll, a no-op rerun, renew in the
  window, audit against the sandbox) with that ansible-core's ansible-playbook, once per minor version;
* lint(core): ansible-lint (the newest release that installs with that ansible-core) on the role and
  playbooks;
* host(python, libs): the integration core with the modules running on a managed-host Python 3.8-3.13 (a
  virtual environment of that Python as ansible_python_interpreter) with the oldest supported versions of
  cryptography, lxml, signxml and requests, or with the newest; the controller is the project's .venv;
* sanity_units(python, core): ansible-test sanity (every test, no ignore file) and ansible-test units for
  every supported ansible-core minor version on each controller Python it supports;
* floors(python): that each library's lower bound is the oldest release that works: the release below it
  (in LADDERS) fails the integration core or does not install, with the other libraries at their bounds, on
  the oldest host Python and on the first Python of each higher set of bounds (FLOORS_FROM_PYTHON); that
  the bounds pass is what host(..., libs='oldest') shows.

Each session writes what it ran and how it ended to .build/matrix/results/<session>.json;
tests/ci/matrix_report.py (run by `make matrix` afterwards) merges those into docs/compatibility.json and
renders docs/compatibility.md from it.
"""
import datetime
import json
import os
import re
import shutil
import subprocess
import time

import nox

ROOT = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(ROOT, '.build', 'matrix', 'results')
CONTROLLER_PYTHON = os.path.join(ROOT, '.venv', 'bin', 'python')

nox.options.envdir = os.path.join(ROOT, '.build', 'nox')
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = False

# ansible-core minor version: the controller Pythons it supports that this project tests.
CONTROLLER = {
    '2.16': ('3.10', '3.11', '3.12'),
    '2.17': ('3.10', '3.11', '3.12'),
    '2.18': ('3.11', '3.12', '3.13'),
    '2.19': ('3.11', '3.12', '3.13'),
    '2.20': ('3.12', '3.13'),
    '2.21': ('3.12', '3.13'),
}
HOST_PYTHONS = ('3.8', '3.9', '3.10', '3.11', '3.12', '3.13')
# urllib3 is requests' dependency, not ours; it is here because it is what breaks on newer Pythons.
LIBRARIES = ('cryptography', 'lxml', 'signxml', 'requests', 'urllib3')

# The oldest releases the collection supports on the oldest host Python (requirements.txt states the same
# bounds; the floors sessions show that the release below each fails or cannot be installed). signxml 3
# imports OpenSSL.crypto.verify, which current pyOpenSSL no longer has; signxml 4 requires cryptography >= 43
# and lxml >= 5.2.1; the modules themselves need cryptography >= 42 (Certificate.not_valid_after_utc);
# requests before 2.16 carries its own urllib3, which refuses the client's timeouts. Where a release has no
# wheel for a newer Python, the host session takes the oldest release of LADDERS that installs there, and
# the table says which it took.
FLOORS = {
    'cryptography': '43.0.0',
    'lxml': '5.2.1',
    'signxml': '4.0.0',
    'requests': '2.16.0',
    'urllib3': '1.21.1',
}
# Newer Pythons removed what old releases import, so from these Pythons on the bounds are higher (and
# requirements.txt says so with markers): 3.10 removed the collections.Mapping alias that urllib3 before
# 1.23 imports (and requests before 2.19 does not allow urllib3 1.23); 3.12 removed the import hook API
# that urllib3's bundled six uses before urllib3 1.26.5 (and requests before 2.25 does not allow 1.26).
FLOORS_FROM_PYTHON = (
    ('3.10', {'requests': '2.19.0', 'urllib3': '1.23'}),
    ('3.12', {'requests': '2.25.0', 'urllib3': '1.26.5'}),
)
# Releases in order, used to step down from a floor (floors sessions) and up from it where the floor does
# not install on a newer Python (host session: lxml's first wheels for 3.12 and 3.13 came later).
LADDERS = {
    'cryptography': ('41.0.7', '42.0.0', '42.0.8', '43.0.0', '44.0.0', '45.0.0'),
    'lxml': ('4.9.4', '5.1.1', '5.2.0', '5.2.1', '5.2.2', '5.3.0', '5.4.0'),
    'signxml': ('3.1.1', '3.2.2', '4.0.0', '4.0.5', '4.1.0'),
    'requests': ('2.14.2', '2.15.1', '2.16.0', '2.18.4', '2.19.0', '2.24.0', '2.25.0', '2.28.0', '2.31.0'),
    'urllib3': ('1.20', '1.21.1', '1.22', '1.23', '1.25.11', '1.26.4', '1.26.5', '1.26.20'),
}
# The Python each floors session runs on: the oldest, and the first of each step of FLOORS_FROM_PYTHON.
FLOOR_PYTHONS = (HOST_PYTHONS[0],) + tuple(python for python, dummy in FLOORS_FROM_PYTHON)


def _version_key(python):
    return tuple(int(part) for part in python.split('.')[:2])


def floors_for(python):
    """The lower bounds on this host Python (major.minor)."""
    floors = dict(FLOORS)
    for first, raised in FLOORS_FROM_PYTHON:
        if _version_key(python) >= _version_key(first):
            floors.update(raised)
    return floors


def _commit():
    """The commit the session ran on, with '+changes' when the work tree differed from it."""
    def git(*args):
        return subprocess.run(('git',) + args, cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()
    return git('rev-parse', '--short', 'HEAD') + ('+changes' if git('status', '--porcelain', '--untracked-files=no') else '')


def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


class Record(object):
    """What one session ran and how each step ended, written to .build/matrix/results/<name>.json."""

    def __init__(self, session, kind, **facts):
        self.session = session
        self.data = dict(kind=kind, session=session.name, started=_now(), steps={}, commit=_commit(), **facts)
        self.failed = []
        self._write()

    def _write(self):
        os.makedirs(RESULTS, exist_ok=True)
        name = re.sub(r'[^A-Za-z0-9_.-]+', '_', self.session.name).strip('_')
        with open(os.path.join(RESULTS, name + '.json'), 'w') as handle:
            json.dump(self.data, handle, indent=2, sort_keys=True)

    def step(self, name, *args, **kwargs):
        """Run one command as a named step; a failure is recorded and the session goes on to its next step."""
        started = time.time()
        try:
            self.session.run(*args, **kwargs)
            outcome = 'passed'
        except nox.command.CommandFailed as error:
            outcome = 'failed'
            self.failed.append('%s (%s)' % (name, error.reason or 'failed'))
        self.data['steps'][name] = {'outcome': outcome, 'seconds': round(time.time() - started)}
        self._write()
        return outcome == 'passed'

    def note(self, **facts):
        self.data.update(facts)
        self._write()

    def finish(self):
        self.data['finished'] = _now()
        self.data['outcome'] = 'failed' if self.failed else 'passed'
        self._write()
        if self.failed:
            self.session.error('failed: ' + ', '.join(self.failed))


def _python_version(session, python='python'):
    return session.run(python, '-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])',
                       silent=True, external=True).strip()


def _versions(session, python, names):
    code = ('import importlib.metadata as m, json; print(json.dumps(dict((n, m.version(n)) for n in %r)))'
            % (list(names),))
    return json.loads(session.run(python, '-c', code, silent=True, external=True).strip().splitlines()[-1])


def _install_core(session, core):
    session.install('ansible-core==%s.*' % core)
    return _versions(session, 'python', ['ansible-core'])['ansible-core']


def _ansible_test_requirements(session):
    return session.run('python', '-c', 'import ansible_test, os; print(os.path.join(os.path.dirname('
                       'ansible_test.__file__), "_data", "requirements"))', silent=True).strip()


def _controller_venv(session, core, name):
    """(directory, python) of a kept virtual environment on the newest controller Python this ansible-core supports."""
    python = CONTROLLER[core][-1]
    if not shutil.which('python' + python):
        session.skip('python%s not found on PATH' % python)
    venv = os.path.join(ROOT, '.build', 'nox', '%s-%s' % (name, core))
    if not os.path.exists(os.path.join(venv, 'bin', 'python')):
        session.run('python' + python, '-m', 'venv', venv, external=True)
    return venv, os.path.join(venv, 'bin', 'python')


@nox.session(venv_backend='none')
@nox.parametrize('core', list(CONTROLLER))
def integration(session, core):
    """The integration core with this ansible-core (on the newest controller Python it supports)."""
    py = _controller_venv(session, core, 'core')[1]
    session.run(py, '-m', 'pip', 'install', '--quiet', 'ansible-core==%s.*' % core, '-r',
                os.path.join(ROOT, 'requirements.txt'), 'pytest>=8', 'pyyaml', '-e',
                os.path.join(ROOT, 'tests', 'sandbox'), external=True)
    versions = _versions(session, py, ['ansible-core'] + list(LIBRARIES))
    record = Record(session, 'integration', core=core, ansible_core=versions.pop('ansible-core'),
                    python=_python_version(session, py), libraries=versions)
    record.step('integration core', py, '-m', 'pytest', '-m', 'core', '-p', 'no:cacheprovider', '-q',
                os.path.join(ROOT, 'tests', 'integration'), external=True)
    record.finish()


@nox.session(venv_backend='none')
@nox.parametrize('core', list(CONTROLLER))
def lint(session, core):
    """ansible-lint (the newest that installs beside this ansible-core) on the role and the playbooks."""
    venv, py = _controller_venv(session, core, 'lint')
    session.run(py, '-m', 'pip', 'install', '--quiet', 'ansible-core==%s.*' % core, 'ansible-lint',
                '-r', os.path.join(ROOT, 'requirements.txt'), external=True)
    versions = _versions(session, py, ['ansible-core', 'ansible-lint'])
    record = Record(session, 'lint', core=core, ansible_core=versions['ansible-core'],
                    ansible_lint=versions['ansible-lint'], python=_python_version(session, py))
    env = {'ANSIBLE_COLLECTIONS_PATH': os.path.join(ROOT, '.build', 'collections'),
           'PATH': os.path.join(venv, 'bin') + os.pathsep + os.environ.get('PATH', '')}
    record.step('ansible-lint', os.path.join(venv, 'bin', 'ansible-lint'), '--offline', 'playbooks/', 'roles/',
                'demo/', external=True, env=env)
    record.finish()


def _pip_install_only_binary(session, python, requirements):
    """Install exact releases from wheels only (no compiler, no -dev packages): True when they installed."""
    try:
        session.run(python, '-m', 'pip', 'install', '--quiet', '--only-binary', ':all:', *requirements,
                    external=True, silent=True)
        return True
    except nox.command.CommandFailed:
        return False


def _oldest_installable(session, python, library, floor):
    """The floor, or the next release of the ladder upwards that has a wheel for this Python."""
    ladder = LADDERS[library]
    for version in ladder[ladder.index(floor):]:
        if _pip_install_only_binary(session, python, ['%s==%s' % (library, version)]):
            return version
    return None


def _run_core(session, record, python, name='integration core'):
    return record.step(name, CONTROLLER_PYTHON, '-m', 'pytest', '-m', 'core', '-p', 'no:cacheprovider', '-q',
                       os.path.join(ROOT, 'tests', 'integration', 'test_core.py'), external=True,
                       env={'IR_TEST_HOST_PYTHON': python})


def _import_error(python):
    """The last line of what importing the modules' libraries raises on this Python, or None."""
    completed = subprocess.run([python, '-c', 'import cryptography.x509, lxml.etree, signxml, requests'],
                               capture_output=True, text=True, check=False)
    lines = completed.stderr.strip().splitlines()
    return lines[-1] if completed.returncode and lines else None


def _host_python(session):
    """The session's virtual environment Python, with a pip new enough for today's wheels."""
    python = os.path.join(session.virtualenv.bin, 'python')
    session.run(python, '-m', 'pip', 'install', '--quiet', '--upgrade', 'pip', external=True, silent=True)
    return python


def _pins(versions):
    return ['%s==%s' % item for item in sorted(versions.items())]


@nox.session(venv_backend='venv')
@nox.parametrize('libs', ['oldest', 'newest'])
@nox.parametrize('python', list(HOST_PYTHONS))
def host(session, libs):
    """The modules on a managed host's Python with the oldest or the newest supported libraries."""
    python = _host_python(session)
    floors = floors_for(session.python)
    if libs == 'oldest':
        chosen = {}
        for library in LIBRARIES:
            chosen[library] = _oldest_installable(session, python, library, floors[library])
            if chosen[library] is None:
                session.error('no release of %s from %s up installs on Python %s' % (
                    library, floors[library], session.python))
        # Together, as pinned: pip must not move one of them to satisfy another.
        if not _pip_install_only_binary(session, python, _pins(chosen)):
            session.error('the oldest releases do not install together: %s' % chosen)
    else:
        # The newest releases the hosts' requirements allow on this Python (its markers hold some back on 3.8),
        # installed as the guide tells users to.
        session.run(python, '-m', 'pip', 'install', '--quiet', '--upgrade', '-r',
                    os.path.join(ROOT, 'requirements-host.txt'), external=True)
    versions = _versions(session, python, LIBRARIES)
    if libs == 'oldest':
        assert versions == chosen, (versions, chosen)
    record = Record(session, 'host', libs=libs, python=_python_version(session, python), libraries=versions,
                    floors=floors, controller=_versions(session, CONTROLLER_PYTHON, ['ansible-core']))
    _run_core(session, record, python)
    record.finish()


@nox.session(venv_backend='venv')
@nox.parametrize('python', list(FLOOR_PYTHONS))
def floors(session):
    """Below each library's floor, one release of the ladder at a time, on the first Python of each set of
    bounds (the oldest host Python, then each of FLOORS_FROM_PYTHON).

    That the floors themselves pass is what the host(python, libs='oldest') sessions show; this session shows
    that the release just below each floor fails (or does not install), so the floor is the oldest that
    works. Should one pass, it goes on downwards and fails: the floor is then too high."""
    python = _host_python(session)
    floors = floors_for(session.python)
    record = Record(session, 'floors', python=_python_version(session, python), floors=floors, search={})
    for library in LIBRARIES:
        ladder = LADDERS[library]
        tried = []
        for version in reversed(ladder[:ladder.index(floors[library])]):
            if not _pip_install_only_binary(session, python, _pins(dict(floors, **{library: version}))):
                tried.append({'version': version, 'outcome': 'does not install with the other floors'})
                break
            passed = _run_core(session, record, python, name='%s %s' % (library, version))
            tried.append({'version': version, 'outcome': 'passed' if passed else 'failed'})
            if not passed:
                # So that the page shows the failure is the release's and not the environment's.
                tried[-1]['import_error'] = _import_error(python)
                break
        record.data['search'][library] = tried
        record._write()
    # A failed step below a floor is the expected end of the search; what fails the session is a release
    # below a floor that passes (the floor is then not the oldest that works).
    record.failed = ['%s %s passes below the floor %s' % (library, t['version'], floors[library])
                     for library, tried in record.data['search'].items() for t in tried if t['outcome'] == 'passed']
    record.finish()


def _sanity_units_params():
    return [nox.param(python, core, id='%s-py%s' % (core, python))
            for core, pythons in CONTROLLER.items() for python in pythons]


@nox.session(venv_backend='venv')
@nox.parametrize('python,core', _sanity_units_params())
def sanity_units(session, core):
    """ansible-test sanity and units with the requirement pins of this ansible-core."""
    ansible_core = _install_core(session, core)
    requirements = _ansible_test_requirements(session)
    pins = []
    for test in ('pylint', 'pep8', 'yamllint', 'validate-modules', 'ansible-doc', 'runtime-metadata'):
        path = os.path.join(requirements, 'sanity.%s.txt' % test)
        if os.path.exists(path):
            pins += ['-r', path]
    session.install('ansible-core==%s' % ansible_core, *pins)
    session.install('ansible-core==%s' % ansible_core, '-r', os.path.join(requirements, 'units.txt'),
                    '-r', os.path.join(ROOT, 'requirements.txt'), 'pyyaml')
    record = Record(session, 'sanity_units', core=core, ansible_core=ansible_core,
                    python=_python_version(session))
    env = {'IR_ANSIBLE_TEST_TREE': os.path.join(ROOT, '.build', 'nox', 'ansible-test', session.name.replace('/', '_'))}
    record.step('sanity', 'bash', os.path.join(ROOT, 'tests', 'ci', 'ansible-test.sh'), 'sanity', external=True, env=env)
    record.step('units', 'bash', os.path.join(ROOT, 'tests', 'ci', 'ansible-test.sh'), 'units', external=True, env=env)
    record.finish()
