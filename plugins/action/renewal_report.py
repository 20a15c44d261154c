# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""renewal_report: the renew playbook's outcome, built and written on the controller
(docs: plugins/modules/renewal_report.py).

It runs in the controller's process, as report_action.py's reports do: no module on the controller as a host,
so no `delegate_to: localhost`, which under the renewal's `--become` would escalate on the controller too.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import CertificateServiceError
from ansible_collections.incomes_register.certificates.plugins.plugin_utils import renewal_report as report
from ansible_collections.incomes_register.certificates.plugins.plugin_utils import report_files
from ansible_collections.incomes_register.certificates.plugins.plugin_utils.report_formats import plural


def _message(rows, hosts):
    statuses = [row.get('status') for row in rows]
    counts = ['%d %s' % (statuses.count(status), status) for status in sorted(set(statuses), key=str)]
    return '%s on %s%s' % (plural(len(rows), 'certificate'), plural(hosts, 'host'),
                           (': ' + ', '.join(counts)) if counts else '')


def _write(path, text, check_mode):
    """(changed, why it was not written or None)."""
    if not os.path.isdir(os.path.dirname(path)):
        return False, 'The outcome was not written: the directory %s does not exist.' % os.path.dirname(path)
    try:
        return report_files.write_file(path, text, comparable=lambda fmt, content: content,
                                       check_mode=check_mode), None
    except CertificateServiceError as error:
        return False, 'The outcome was not written: %s' % error.message
    except OSError as error:
        return False, 'The outcome was not written to %s: %s' % (path, error.strerror or error)


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False

    ARGUMENT_SPEC = dict(
        host_outcomes=dict(type='dict', required=True),
        summary_file=dict(type='path'),
        fail_on_attention=dict(type='bool', default=True),
    )

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        try:
            dummy, params = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)
        except AnsibleActionFail as error:
            result.update(failed=True, msg=str(error))
            return result
        if params['summary_file'] is not None and not params['summary_file'].strip():
            # An empty path would be the directory ansible-playbook was started in, which nobody means.
            result.update(failed=True, msg='summary_file must name a file, not an empty string. Nothing was written.')
            return result
        outcomes = report.outcomes(params['host_outcomes'])
        rows = report.certificate_rows(outcomes)
        attention = report.attention(rows)
        gate_reasons = [report.attention_message(attention)] if attention and params['fail_on_attention'] else []
        changed, path = False, None
        if params['summary_file'] is not None:
            # Relative to where ansible-playbook was started, and to the file a link names.
            path = os.path.realpath(params['summary_file'])
            changed, problem = _write(path, report.document(outcomes), self._task.check_mode)
            if problem:
                gate_reasons.append(problem)
        result.update(changed=changed, summary_file=path, outcomes=outcomes, certificates=rows,
                      lines=[report.line(row) for row in rows], attention=attention,
                      gate_failed=bool(gate_reasons), gate_reasons=gate_reasons, msg=_message(rows, len(outcomes)))
        return result
