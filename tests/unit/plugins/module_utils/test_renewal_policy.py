import datetime

import pytest

from ansible_collections.incomes_register.certificates.plugins.module_utils import renewal_policy
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import RenewalNotAllowed

NOW = datetime.datetime(2025, 6, 1, 12, 0, tzinfo=datetime.timezone.utc)
DAY = datetime.timedelta(days=1)


@pytest.mark.parametrize('days_left, expected', [
    (61, 'valid'),
    (60, 'renew'),
    (59, 'renew'),
    (1, 'renew'),
    (0, 'expired'),
    (-1, 'expired'),
])
def test_decisions_at_the_window_edges(days_left, expected):
    decision = renewal_policy.decide(NOW + days_left * DAY, NOW, 60)
    assert decision.action == expected
    action, message = decision
    assert action == expected and message


def test_sixty_days_and_one_minute_is_still_outside_the_window():
    assert renewal_policy.decide(NOW + 60 * DAY + datetime.timedelta(minutes=1), NOW, 60).action == 'valid'


def test_hours_before_expiry_is_still_renewable():
    assert renewal_policy.decide(NOW + datetime.timedelta(hours=3), NOW, 60).action == 'renew'


def test_a_shorter_window_is_respected():
    assert renewal_policy.decide(NOW + 31 * DAY, NOW, 30).action == 'valid'
    assert renewal_policy.decide(NOW + 30 * DAY, NOW, 30).action == 'renew'


def test_expired_message_sends_the_user_to_the_e_service():
    message = renewal_policy.decide(NOW - DAY, NOW, 60).message
    assert 'cannot be renewed' in message and 'e-service' in message


def test_renew_and_valid_messages_name_the_dates():
    assert '2025-07-11' in renewal_policy.decide(NOW + 40 * DAY, NOW, 60).message
    valid = renewal_policy.decide(NOW + 100 * DAY, NOW, 60).message
    assert '2025-09-09' in valid and '2025-07-11' in valid


@pytest.mark.parametrize('days', [1, 30, 60])
def test_validate_accepts_1_to_60(days):
    assert renewal_policy.validate_renew_before_days(days) == days


@pytest.mark.parametrize('days', [0, 61, 90, -5, True, 30.5, '30', None])
def test_validate_refuses_others_naming_the_60_day_rule(days):
    with pytest.raises(RenewalNotAllowed, match='earlier than 60 days'):
        renewal_policy.validate_renew_before_days(days)


def test_decide_validates_its_window():
    with pytest.raises(RenewalNotAllowed):
        renewal_policy.decide(NOW + 80 * DAY, NOW, 90)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match='timezone-aware'):
        renewal_policy.decide(NOW.replace(tzinfo=None), NOW, 60)
    with pytest.raises(ValueError, match='timezone-aware'):
        renewal_policy.decide(NOW, NOW.replace(tzinfo=None), 60)


def test_earliest_renewal_date():
    not_after = NOW + 500 * DAY
    assert renewal_policy.earliest_renewal_date(not_after) == not_after - 60 * DAY
    assert renewal_policy.decide(not_after, renewal_policy.earliest_renewal_date(not_after), 60).action == 'renew'
