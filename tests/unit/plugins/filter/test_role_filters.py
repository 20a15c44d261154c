import os
import subprocess
import sys

from ansible_collections.incomes_register.certificates.plugins.filter import install_plan, renewal_outcome
from ansible_collections.incomes_register.certificates.plugins.plugin_utils import install_plan as plan_implementation
from ansible_collections.incomes_register.certificates.plugins.plugin_utils import renewal_outcome as outcome_implementation

CERTIFICATES = [
    {'certificate_path': '/a.pem', 'private_key_path': '/a.key', 'issuing_ca_path': '/ca.pem', 'customer_id': '1234567-8',
     'install_targets': [{'dest': '/srv/a.pem'}]},
    {'certificate_path': '/b.pem', 'private_key_path': '/b.key', 'issuing_ca_path': '/ca.pem', 'customer_id': '1234567-8',
     'install_targets': [{'dest': '/srv/b.pem'}]},
]
RENEWED = {'results': [{'action': 'none', 'msg': 'valid', 'certificate': {'not_after': '2027-01-01', 'days_remaining': 400}},
                       {'action': 'pending', 'msg': 'submitted'}]}
WAVE = {'1': {'action': 'retrieved', 'certificate': {'not_after': '2028-01-01', 'days_remaining': 730}}}
INSTALLED = {'results': [{'certificate_path': '/b.pem', 'changed': True}]}


def test_each_role_filter_is_registered_under_its_name():
    assert install_plan.FilterModule().filters() == {'install_plan': install_plan.install_plan}
    assert renewal_outcome.FilterModule().filters() == {'renewal_outcome': renewal_outcome.renewal_outcome}


def test_the_filters_give_what_their_implementations_give_for_every_argument():
    # Every argument differs from its default, so one passed to the wrong parameter or dropped changes the answer.
    plan = install_plan.install_plan(CERTIFICATES, RENEWED, WAVE)
    assert plan == plan_implementation.install_plan(CERTIFICATES, RENEWED, WAVE)
    assert [target['dest'] for target in plan] == ['/srv/a.pem', '/srv/b.pem']
    summary = renewal_outcome.renewal_outcome(CERTIFICATES, RENEWED, WAVE, INSTALLED, 'web1')
    assert summary == outcome_implementation.renewal_outcome(CERTIFICATES, RENEWED, WAVE, INSTALLED, 'web1')
    assert summary['certificates'][1]['status'] == 'renewed' and summary['certificates'][1]['installed_changed'] == 1
    assert summary['certificates'][0]['host'] == 'web1'


LOADING = '''
import importlib, sys
prefix = 'ansible_collections.incomes_register.certificates.plugins.'
for name in ('certificate_entries', 'install_plan', 'renewal_outcome'):
    importlib.import_module(prefix + 'filter.' + name).FilterModule().filters()
print(' '.join(sorted(name[len(prefix):] for name in sys.modules if name.startswith(prefix + 'plugin_utils.'))))
'''


def test_loading_the_filter_files_imports_no_implementation():
    # ansible-core loads every filter file of the collection, in every worker, to look up any one of them
    # (docs/benchmarks.md): the audit, which uses only certificate_entries, must not compile the role's two.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path for path in sys.path if path))
    out = subprocess.run([sys.executable, '-c', LOADING], env=env, check=True, stdout=subprocess.PIPE,
                         universal_newlines=True).stdout
    assert out.split() == []
