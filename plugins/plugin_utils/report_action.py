# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action plugin behind every controller-side report (the audit's, the preflight's).

A report is built from what every host returned and written where the person or the CI job running
the playbook reads it, so it runs in the controller's process: no module is sent anywhere, no
`delegate_to: localhost` (which would need Python libraries, and with play-level `become` sudo, on
the controller as a host), and a relative output_dir is relative to where ansible-playbook started.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.incomes_register.certificates.plugins.module_utils import argspec
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import CertificateServiceError
from ansible_collections.incomes_register.certificates.plugins.plugin_utils import report_files
from ansible_collections.incomes_register.certificates.plugins.plugin_utils.report_formats import (
    FORMAT_EXTENSIONS, FORMATS, iso)

# Options of every report; each report adds its own (ARGUMENT_SPEC) and its defaults.
COMMON_SPEC = dict(
    host_results=dict(type='dict', required=True),
    output_dir=dict(type='path', required=True),
    formats=dict(type='list', elements='str', choices=sorted(FORMAT_EXTENSIONS), default=FORMATS),
)


class ReportAction(ActionBase):
    """Validate the options, build the report, write its files on the controller, return it.

    A subclass sets ARGUMENT_SPEC (basename and title with their defaults, its own options) and
    implements build(params, generated_at).
    """

    TRANSFERS_FILES = False
    _requires_connection = False
    ARGUMENT_SPEC = {}

    def build(self, params, generated_at):
        """dict(rows, summary, gate_failed, gate_reasons, msg, render=fmt -> text, comparable=None or
        (fmt, text) -> text). Raises CertificateServiceError for unusable input."""
        raise NotImplementedError

    def run(self, tmp=None, task_vars=None):
        result = super(ReportAction, self).run(tmp, task_vars)
        spec = dict(COMMON_SPEC)
        spec.update(self.ARGUMENT_SPEC)
        try:
            dummy, params = self.validate_argument_spec(argument_spec=spec)
        except AnsibleActionFail as error:
            result.update(failed=True, msg=str(error))
            return result
        problem = report_files.basename_problem(params['basename'])
        if not params['output_dir']:
            # An empty directory would be the one ansible-playbook was started in, which nobody means.
            problem = 'output_dir must name a directory, not an empty string. No report was written.'
        if problem:
            result.update(failed=True, msg=problem)
            return result
        output_dir = os.path.abspath(params['output_dir'])
        files = report_files.report_paths(output_dir, params['basename'], FORMAT_EXTENSIONS, params['formats'])
        generated_at = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        try:
            argspec.check_numbers(params, consequence=' No report was written.')
            report = self.build(params, generated_at)
            changed = report_files.write_reports(output_dir, files, report['render'],
                                                 comparable=report['comparable'], check_mode=self._task.check_mode)
        except CertificateServiceError as error:
            result.update(error.details())
            result.update(failed=True, msg=error.message, files=files)
            return result
        except OSError as error:
            result.update(failed=True, files=files,
                          msg='Could not write the report in %s: %s' % (output_dir, error.strerror or error))
            return result
        result.update(changed=changed, files=files, rows=report['rows'], summary=report['summary'],
                      gate_failed=report['gate_failed'], gate_reasons=report['gate_reasons'],
                      generated_at=iso(generated_at), msg=report['msg'])
        return result
