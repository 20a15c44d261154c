# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""preflight_report: the preflight's report, built and written on the controller (docs: plugins/modules/preflight_report.py)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.incomes_register.certificates.plugins.plugin_utils import preflight_report as report
from ansible_collections.incomes_register.certificates.plugins.plugin_utils.report_action import ReportAction
from ansible_collections.incomes_register.certificates.plugins.plugin_utils.report_formats import plural


def _message(summary):
    parts = ['%d %s' % (summary['counts'][status], status) for status in report.STATUSES if summary['counts'][status]]
    text = '%s, %s%s' % (plural(summary['hosts'], 'host'), plural(summary['total'], 'check'),
                         (': ' + ', '.join(parts)) if parts else '')
    if summary['failed_hosts']:
        text += '; failed: ' + ', '.join(summary['failed_hosts'])
    return text


class ActionModule(ReportAction):

    ARGUMENT_SPEC = dict(
        basename=dict(type='str', default='preflight'),
        title=dict(type='str', default='Incomes Register preflight'),
    )

    def build(self, params, generated_at):
        rows = report.build_rows(params['host_results'])
        summary = report.summarize(rows)
        gate_failed, gate_reasons = report.gate(rows)
        # Every run checks anew, so every run writes its report (no comparable).
        return dict(rows=rows, summary=summary, gate_failed=gate_failed, gate_reasons=gate_reasons,
                    msg=_message(summary), comparable=None,
                    render=lambda fmt: report.render(fmt, rows, summary, generated_at, params['title']))
