# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The renewal role's install plan: which certificate_install targets a host gets after its renewal.

Behind the install_plan filter (plugins/filter/install_plan.py), which imports it when called."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type


def _ended_well(renewed, waved):
    if waved is not None:
        return waved.get('action', '') == 'retrieved'
    return not renewed.get('failed', False)


def install_plan(certificates, renew_result, wave_outcomes=None):
    results = (renew_result or {}).get('results')
    results = results if isinstance(results, list) else []
    plan = []
    for position, certificate in enumerate(certificates):
        renewed = results[position] if position < len(results) else {'failed': True}
        if not _ended_well(renewed, (wave_outcomes or {}).get(str(position))):
            continue
        base = {'certificate_path': certificate['certificate_path'], 'private_key_path': certificate['private_key_path'],
                'chain_path': certificate['issuing_ca_path'], 'owner': certificate.get('owner') or None,
                'group': certificate.get('group') or None,
                'private_key_passphrase': certificate.get('private_key_passphrase') or None}
        for target in certificate.get('install_targets') or []:
            deployment = dict(base)
            deployment.update(target)
            plan.append(deployment)
    return plan
