"""The Galaxy import gate: the tarball a release would upload passes galaxy-importer, the importer Galaxy and
Automation Hub run on every upload, here without containers (its ansible-doc and ansible-lint checks; its
ansible-test step needs a container engine and is left to `make sanity`, which runs the same tests).

The release is made as a release pipeline makes it: `antsibull-changelog release` on a copy of the tree
(the changelog Galaxy wants), then `ansible-galaxy collection build`. galaxy-importer lives in its own
virtual environment (`make importer`, part of `make test`), as it pins its own ansible-lint."""
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile

import pytest
import yaml

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IMPORTER_BIN = os.path.join(ROOT, '.build', 'venv-importer', 'bin')
BIN = os.path.dirname(sys.executable)
# What the collection is; anything else in the tarball is a leak from the project around it.
SHIPPED_TOP = {'MANIFEST.json', 'FILES.json', 'README.md', 'CHANGELOG.rst', 'requirements.txt', 'requirements-host.txt',
               'bindep.txt', 'execution-environment.yml', 'meta', 'plugins', 'roles', 'playbooks', 'docs', 'changelogs',
               'tests'}
SHIPPED_TESTS = ('tests/sandbox', 'tests/unit', 'tests/config.yml')


def run(command, **kwargs):
    completed = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False, **kwargs)
    assert completed.returncode == 0, '%s\n%s%s' % (command, completed.stdout[-3000:], completed.stderr[-3000:])
    return completed


@pytest.fixture(scope='module')
def release(tmp_path_factory):
    """The release tarball, built from a copy of the tree after `antsibull-changelog release`."""
    work = tmp_path_factory.mktemp('release')
    source = work / 'source'
    files = subprocess.run(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], cwd=ROOT,
                           capture_output=True, check=True).stdout.decode().split('\0')
    for name in filter(None, files):
        if os.path.isfile(os.path.join(ROOT, name)):
            os.makedirs(str(source / os.path.dirname(name)), exist_ok=True)
            shutil.copy2(os.path.join(ROOT, name), str(source / name))
    # It reads the plugins' documentation with ansible-doc.
    run([os.path.join(BIN, 'antsibull-changelog'), 'release'], cwd=str(source),
        env=dict(os.environ, PATH=BIN + os.pathsep + os.environ.get('PATH', '')))
    out = work / 'dist'
    run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'build', '--output-path', str(out), str(source)])
    (tarball,) = [str(p) for p in out.iterdir() if p.name.endswith('.tar.gz')]
    return tarball


def test_release_tarball_holds_the_collection_only(release):
    with tarfile.open(release) as archive:
        names = archive.getnames()
    assert {name.split('/')[0] for name in names} <= SHIPPED_TOP, sorted({n.split('/')[0] for n in names} - SHIPPED_TOP)
    leaked = [name for name in names if name.startswith('tests/') and name != 'tests'
              and not name.startswith(SHIPPED_TESTS)]
    assert not leaked, leaked
    for name in names:
        assert not re.search(r'(\.sqlite|\.egg-info|__pycache__|\.pyc$|\.tar\.gz$|/\.?venv|^bench/|^demo)', name), name
    assert 'tests/sandbox/irsandbox/server.py' in names, 'the sandbox is part of the collection (docs/guide.md)'
    assert 'changelogs/changelog.yaml' in names and 'roles/renewal/README.md' in names


def test_release_tarball_passes_galaxy_importer(release, tmp_path):
    if not os.path.exists(os.path.join(IMPORTER_BIN, 'python')):
        pytest.skip('galaxy-importer is not installed: `make importer` (part of `make test`) installs it in '
                    '.build/venv-importer')
    env = dict(os.environ, PATH=IMPORTER_BIN + os.pathsep + os.environ.get('PATH', ''),
               # Automation Hub also requires one of its tags; Galaxy's defaults otherwise.
               GALAXY_IMPORTER_CHECK_REQUIRED_TAGS='true', GALAXY_IMPORTER_RUN_ANSIBLE_LINT='true',
               GALAXY_IMPORTER_RUN_ANSIBLE_DOC='true', GALAXY_IMPORTER_LOCAL_IMAGE_DOCKER='false',
               GALAXY_IMPORTER_RUN_ANSIBLE_TEST='false', GALAXY_IMPORTER_CHECK_CHANGELOG='true')
    env.pop('ANSIBLE_COLLECTIONS_PATH', None)
    completed = subprocess.run([os.path.join(IMPORTER_BIN, 'python'), '-m', 'galaxy_importer.main', release],
                               capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=900, check=False)
    log = completed.stdout + completed.stderr
    assert completed.returncode == 0, log[-5000:]
    assert 'Importer processing completed successfully' in log, log[-5000:]
    # The importer logs lint findings, a missing changelog or a timed-out check and still exits 0: the gate
    # is that it has nothing to say.
    complaints = [line for line in log.splitlines() if line.startswith(('ERROR', 'WARNING'))]
    assert not complaints, '\n'.join(complaints[:40])
    assert 'Linting collection via ansible-lint' in log and 'Getting doc strings via ansible-doc' in log

    result = json.loads((tmp_path / 'importer_result.json').read_text())
    contents = dict(((c['content_type'], c['name']), c) for c in result['contents'])
    for module in ('certificate_request', 'certificate_renew', 'certificate_retrieve', 'certificate_install',
                   'certificate_info', 'certificate_preflight'):
        assert ('module', module) in contents, module
    assert ('role', 'renewal') in contents
    with open(os.path.join(ROOT, 'meta', 'runtime.yml')) as handle:
        assert result['requires_ansible'] == yaml.safe_load(handle)['requires_ansible']
    # ansible-doc read every module's documentation (Galaxy renders its pages from it).
    documented = [entry for entry in result['docs_blob']['contents'] if entry['content_type'] == 'module']
    assert documented and all(entry['doc_strings'] for entry in documented), [
        entry['content_name'] for entry in documented if not entry['doc_strings']]
