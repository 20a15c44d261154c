# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action plugin behind certificate_renew: the service's trust files from the controller first
(trust_src_dir), then the module.

The files are what the module reads to trust the service, so bringing them belongs to the task that talks to
it. The renewal role used to copy them in a task of its own, which every host paid on every run, also with
nothing to copy: ansible-core computes the host's variables, forks a worker and handles its result for each
task (~20 ms of the controller's CPU per host, docs/benchmarks.md). Each file is copied by
ansible.builtin.copy's own action, so what differs is written, atomically, and check and diff mode are
copy's, as in the enroll playbook's task (roles/renewal/tasks/trust.yml)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.utils.vars import merge_hash

from ansible_collections.incomes_register.certificates.plugins.plugin_utils.role_action import RoleVariablesAction

# The module's documented defaults (service_options.TRUST_COPY, doc_fragments/service.py TRUST_COPY).
DEFAULT_FILES = ('service-signing-ca.pem', 'issuing-ca.pem')
DEFAULT_DIR = '/etc/incomes-register/trust'
FILE_MODE = '0644'
DIRECTORY_MODE = '0755'


class TrustCopyAction(RoleVariablesAction):
    """The trust files first, then the module (RoleVariablesAction.execute), with the options module_args
    completed.

    TRANSFERS_FILES stays False (RoleVariablesAction's): True makes ansible-core create a temporary directory on the
    host before run() and remove it after, two more commands per host on every run, which with pipelining are the
    only ones the task would send besides the module. copy's action makes and removes its own for a copy, and the
    module gets one from _execute_module when pipelining is off."""

    def run_module(self, result, args, task_vars):
        source = args.pop('trust_src_dir', None)
        names = args.pop('trust_files', None)
        directory = args.pop('trust_dir', None)
        copied, diffs = [], []
        if source:
            copied, diffs = self._copy(source, DEFAULT_FILES if names is None else names, directory or DEFAULT_DIR,
                                       task_vars)
            result['trust_files'] = copied
        copies_changed = any(entry['changed'] for entry in copied)
        broken = [entry for entry in copied if entry.get('failed')]
        if broken:
            # Nothing else runs: without its trust files the module could not check the service's answers.
            result.update(failed=True, changed=copies_changed,
                          msg='trust_src_dir: ' + '; '.join(entry['msg'] for entry in broken)
                          + ' The module did not run; nothing was sent to the service.')
            if diffs:
                result['diff'] = diffs
            return result
        module = self.execute(args, task_vars)
        result = merge_hash(result, module)
        if copied:
            result['changed'] = bool(module.get('changed')) or copies_changed
            if self._task.check_mode and module.get('failed'):
                # The copies were only predicted, so the module found the host's files as they are: say so,
                # where its message names one, rather than let it read as the real run's failure.
                unmade = [entry['dest'] for entry in copied if entry['changed'] and entry['dest'] in module.get('msg', '')]
                if unmade:
                    result['msg'] = module['msg'] + (' (Check mode: trust_src_dir would first copy %s, which it does'
                                                     ' not in check mode.)' % ', '.join(unmade))
        if diffs:
            result['diff'] = diffs + _as_list(module.get('diff'))
        return result

    def _copy(self, source, names, directory, task_vars):
        """Each of names from the controller's source directory into directory on the host, by copy's action:
        its entries (name, dest, changed, and failed with msg) and diffs."""
        # Absolute: copy looks a relative src up in the role's and the playbook's own directories, which are
        # inside the installed collection when the collection's playbooks run; the user means the directory
        # where ansible-playbook runs.
        root = os.path.realpath(os.path.expanduser(source))
        copied, diffs = [], []
        for name in names:
            task = self._task.copy()
            task.async_val = 0
            task.args = dict(src=os.path.join(root, name), dest=directory.rstrip('/') + '/', mode=FILE_MODE,
                             directory_mode=DIRECTORY_MODE)
            copy = self._shared_loader_obj.action_loader.get(
                'ansible.legacy.copy', task=task, connection=self._connection, play_context=self._play_context,
                loader=self._loader, templar=self._templar, shared_loader_obj=self._shared_loader_obj)
            try:
                outcome = copy.run(task_vars=task_vars)
            except AnsibleError as error:
                # copy's action raises for a source it cannot find, where a failed copy on the host returns.
                outcome = dict(failed=True, msg=to_text(error.message))
            entry = dict(name=name, dest=outcome.get('dest', os.path.join(directory, name)),
                         changed=bool(outcome.get('changed')))
            if outcome.get('failed'):
                entry.update(failed=True, msg='%s: %s' % (name, outcome.get('msg', 'the copy failed')))
            copied.append(entry)
            diffs.extend(_as_list(outcome.get('diff')))
        return copied, diffs


def _as_list(diff):
    """A result's diff, which an action returns as one dict or as a list of them, as a list."""
    return diff if isinstance(diff, list) else [diff] if diff else []
