# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""When a certificate may, must or can no longer be renewed.

Pure date arithmetic, kept apart from storage and the network so the rules can be tested alone.
The service renews at the earliest 60 days before expiry and never after expiry.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import collections
import datetime

from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import RenewalNotAllowed

MAX_RENEW_BEFORE_DAYS = 60

VALID = 'valid'
RENEW = 'renew'
EXPIRED = 'expired'

Decision = collections.namedtuple('Decision', ['action', 'message'])


def validate_renew_before_days(days):
    """days as an int in 1..60; RenewalNotAllowed otherwise."""
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_RENEW_BEFORE_DAYS:
        raise RenewalNotAllowed(
            'renew_before_days must be a whole number from 1 to %d, not %r: the certificate service '
            'refuses renewal earlier than %d days before the certificate expires'
            % (MAX_RENEW_BEFORE_DAYS, days, MAX_RENEW_BEFORE_DAYS))
    return days


def _require_aware(value, what):
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError('%s must be a timezone-aware datetime' % what)


def _date_text(value):
    return value.astimezone(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')


def earliest_renewal_date(not_after):
    """The first moment the service accepts a renewal of a certificate that expires at not_after."""
    _require_aware(not_after, 'not_after')
    return not_after - datetime.timedelta(days=MAX_RENEW_BEFORE_DAYS)


def decide(not_after, now, renew_before_days):
    """Decision(action, message) with action 'valid', 'renew' or 'expired'.

    The window is measured exactly (not in rounded days), so a certificate 60 days and one hour
    from expiry is still outside a 60-day window: the service would refuse it.
    """
    _require_aware(not_after, 'not_after')
    _require_aware(now, 'now')
    validate_renew_before_days(renew_before_days)
    remaining = not_after - now
    # At the expiry instant itself nothing can reach the service in time, so it counts as expired.
    if remaining <= datetime.timedelta(0):
        return Decision(EXPIRED, (
            'The certificate expired on %s. An expired certificate cannot be renewed: apply for a new '
            'certificate in the Incomes Register e-service and sign it with the new one-time transfer '
            'credentials.' % _date_text(not_after)))
    if remaining <= datetime.timedelta(days=renew_before_days):
        return Decision(RENEW, (
            'The certificate expires on %s, %d days from now, inside the %d-day renewal window: '
            'renew it now.' % (_date_text(not_after), remaining.days, renew_before_days)))
    opens = not_after - datetime.timedelta(days=renew_before_days)
    return Decision(VALID, (
        'The certificate is valid until %s; renewal is due from %s (%d days before expiry).'
        % (_date_text(not_after), _date_text(opens), renew_before_days)))
