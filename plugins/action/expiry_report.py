# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""expiry_report: the audit's report, built and written on the controller (docs: plugins/modules/expiry_report.py)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.incomes_register.certificates.plugins.module_utils import argspec
from ansible_collections.incomes_register.certificates.plugins.plugin_utils import expiry_report as report
from ansible_collections.incomes_register.certificates.plugins.plugin_utils.report_action import ReportAction
from ansible_collections.incomes_register.certificates.plugins.plugin_utils.report_formats import plural


def _message(summary):
    parts = ['%d %s' % (summary['counts'][status], status) for status in report.STATUSES if summary['counts'][status]]
    return '%s on %s%s' % (plural(summary['total'], 'certificate'), plural(summary['hosts'], 'host'),
                           (': ' + ', '.join(parts)) if parts else '')


class ActionModule(ReportAction):

    ARGUMENT_SPEC = dict(
        argspec.WINDOW,
        basename=dict(type='str', default='certificate-expiry'),
        critical_days=dict(type='int', default=14),
        fail_within_days=dict(type='int'),
        title=dict(type='str', default='Incomes Register certificate expiry'),
    )

    def build(self, params, generated_at):
        rows = report.build_rows(params['host_results'], critical_days=params['critical_days'],
                                 renew_before_days=params['renew_before_days'])
        summary = report.summarize(rows)
        gate_failed, gate_reasons = report.gate(rows, params['fail_within_days'])
        return dict(rows=rows, summary=summary, gate_failed=gate_failed, gate_reasons=gate_reasons,
                    msg=_message(summary), comparable=report.comparable,
                    render=lambda fmt: report.render(fmt, rows, summary, generated_at, params['title'],
                                                     critical_days=params['critical_days'],
                                                     renew_before_days=params['renew_before_days']))
