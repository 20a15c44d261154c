"""The collection as users get it: build the Galaxy tarball, install it into a fresh virtual
environment, and run the audit playbook from the installed copy only."""
import json
import os
import subprocess
import sys
import tarfile

import pytest
import yaml

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEV_ONLY = ('.venv/', '.build/', '.git/', 'bench/', 'demo/', 'demo-output/', 'tests/output/', '.pytest_cache/')


def run(command, **kwargs):
    completed = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False, **kwargs)
    assert completed.returncode == 0, '%s\n%s%s' % (command, completed.stdout[-3000:], completed.stderr[-3000:])
    return completed


@pytest.fixture(scope='module')
def tarball(tmp_path_factory):
    out = tmp_path_factory.mktemp('galaxy')
    galaxy = os.path.join(os.path.dirname(sys.executable), 'ansible-galaxy')
    run([galaxy, 'collection', 'build', '--output-path', str(out), ROOT])
    (path,) = [str(p) for p in out.iterdir() if p.name.endswith('.tar.gz')]
    return path


def test_tarball_ships_the_collection_and_no_dev_files(tarball):
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    for required in ('MANIFEST.json', 'FILES.json', 'README.md',
                     'plugins/modules/certificate_renew.py', 'plugins/module_utils/lifecycle.py',
                     'roles/renewal/meta/argument_specs.yml', 'playbooks/audit.yml', 'meta/runtime.yml',
                     'tests/sandbox/irsandbox/server.py'):
        assert required in names, required
    leaked = [name for name in names if name.startswith(DEV_ONLY) or '__pycache__' in name]
    assert not leaked, leaked[:10]


def test_audit_playbook_runs_from_the_installed_tarball_in_a_fresh_venv(tarball, sandbox, tmp_path):
    import ansible.release
    venv = tmp_path / 'venv'
    run([sys.executable, '-m', 'venv', str(venv)])
    python = str(venv / 'bin' / 'python')
    run([python, '-m', 'pip', 'install', '--quiet', 'ansible-core==%s' % ansible.release.__version__,
         'cryptography', 'jmespath'])
    collections = tmp_path / 'collections'
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_LOCALHOST_WARNING='False',
               PATH=str(venv / 'bin') + os.pathsep + os.environ.get('PATH', ''))
    run([str(venv / 'bin' / 'ansible-galaxy'), 'collection', 'install', tarball, '-p', str(collections)], env=env)
    assert (collections / 'ansible_collections' / 'incomes_register' / 'certificates' / 'MANIFEST.json').exists()

    hosts = {}
    for name, days in (('alpha', 300), ('beta', 20)):
        (tmp_path / name / 'private').mkdir(parents=True)
        sandbox.issue('1000020-%d' % len(hosts), new_key_path=str(tmp_path / name / 'private' / 'key.pem'),
                      expires_in_days=days, out=str(tmp_path / name / 'cert.pem'))
        hosts[name] = {'renewal_certificate_path': str(tmp_path / name / 'cert.pem'),
                       'renewal_private_key_path': str(tmp_path / name / 'private' / 'key.pem')}
    inventory = tmp_path / 'inventory.yml'
    inventory.write_text(yaml.safe_dump({'all': {
        'vars': {'ansible_connection': 'local', 'ansible_python_interpreter': python}, 'hosts': hosts}}))
    report = tmp_path / 'report'
    run([str(venv / 'bin' / 'ansible-playbook'), '-i', str(inventory), 'incomes_register.certificates.audit',
         '-e', 'audit_output_dir=%s' % report], env=env, cwd=str(tmp_path))
    rows = json.loads((report / 'certificate-expiry.json').read_text())['certificates']
    assert sorted((row['host'], row['status']) for row in rows) == [('alpha', 'ok'), ('beta', 'renew')]


def test_execution_environment_definition_builds_a_context_with_our_dependencies(tarball, tmp_path):
    """ansible-builder reads the collection's own dependency files; no container engine needed here."""
    import shutil
    builder = os.path.join(os.path.dirname(sys.executable), 'ansible-builder')
    collections = tmp_path / 'collections'
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections))
    run([os.path.join(os.path.dirname(sys.executable), 'ansible-galaxy'), 'collection', 'install', tarball,
         '-p', str(collections)], env=env)
    introspected = yaml.safe_load(run([builder, 'introspect', '--sanitize', str(collections)]).stdout)
    python = ' '.join(introspected['python'])
    for package in ('cryptography', 'lxml', 'signxml', 'requests', 'jmespath'):
        assert package in python, package
    assert any('libxml2' in line for line in introspected['system'])

    (tmp_path / 'dist').mkdir()
    shutil.copy(tarball, str(tmp_path / 'dist' / 'incomes_register-certificates.tar.gz'))
    shutil.copy(os.path.join(ROOT, 'execution-environment.yml'), str(tmp_path))
    run([builder, 'create', '--file', 'execution-environment.yml', '--context', 'context'], cwd=str(tmp_path))
    containerfile = next(p for p in (tmp_path / 'context').iterdir() if p.name in ('Containerfile', 'Dockerfile'))
    assert 'ansible-galaxy collection install' in containerfile.read_text()
    assert (tmp_path / 'context' / '_build' / 'dist' / 'incomes_register-certificates.tar.gz').exists()
    requirements = yaml.safe_load((tmp_path / 'context' / '_build' / 'requirements.yml').read_text())
    assert requirements['collections'][0]['type'] == 'file'
