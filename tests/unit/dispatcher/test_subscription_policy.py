"""Delivery-policy fields of Subscription, the token bucket and the CLI's --since parser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import typer
from pydantic import ValidationError

from newsalert.dispatcher.cli import parse_since
from newsalert.dispatcher.worker import TokenBucket
from newsalert.subscriptions import Subscription

BASE = {
    "id": "desk",
    "url": "https://example.org/h",
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
}
OLD = "whsec_b2xkLXNlY3JldC1mb3ItdGVzdHM="
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_the_original_fields_still_work_alone() -> None:
    sub = Subscription.model_validate(BASE)
    assert sub.rules == ("*",)
    assert sub.selects("any-rule", [])
    assert sub.signing_secrets(NOW) == [BASE["secret"]]
    assert sub.retry_delays() == (5, 30, 120, 600, 1800, 3600, 10800)
    assert sub.max_alert_age_s() is None
    assert sub.timeout_s(10.0) == 10.0


def test_policy_fields_parse() -> None:
    sub = Subscription.model_validate(
        {**BASE, "retry_schedule": ["500ms", "2m"], "max_alert_age": "6h", "timeout": "3s",
         "rate_limit": 2.5, "max_in_flight": 1, "pause_after": None}
    )  # fmt: skip
    assert sub.retry_delays() == (0.5, 120.0)
    assert sub.max_alert_age_s() == 6 * 3600
    assert sub.timeout_s(10.0) == 3.0
    assert sub.pause_after_s() is None


@pytest.mark.parametrize(
    "bad",
    [{"retry_schedule": ["soon"]}, {"max_alert_age": "6 hours"}, {"max_in_flight": 0},
     {"rate_limit": 0}, {"secrets": [{"secret": "nope"}]}, {"unknown": 1}],
)  # fmt: skip
def test_bad_policy_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Subscription.model_validate({**BASE, **bad})


def test_rotated_secret_signs_for_24_hours_then_stops() -> None:
    sub = Subscription.model_validate(
        {**BASE, "secrets": [{"secret": OLD, "rotated_at": NOW.isoformat()}]}
    )
    assert sub.signing_secrets(NOW + timedelta(hours=23)) == [BASE["secret"], OLD]
    assert sub.signing_secrets(NOW + timedelta(hours=24, seconds=1)) == [BASE["secret"]]


def test_expires_at_wins_and_no_date_means_until_removed() -> None:
    until = NOW + timedelta(hours=2)
    sub = Subscription.model_validate(
        {**BASE, "secrets": [{"secret": OLD, "rotated_at": NOW.isoformat(),
                              "expires_at": until.isoformat()}]}
    )  # fmt: skip
    assert sub.signing_secrets(NOW + timedelta(hours=3)) == [BASE["secret"]]
    forever = Subscription.model_validate({**BASE, "secrets": [{"secret": OLD}]})
    assert forever.signing_secrets(NOW + timedelta(days=400)) == [BASE["secret"], OLD]


def test_token_bucket_limits_bursts_and_refills(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr("newsalert.dispatcher.worker.time.monotonic", lambda: clock[0])
    bucket = TokenBucket(2.0)
    assert bucket.available() == 2
    bucket.take(2)
    assert bucket.available() == 0
    clock[0] += 0.5
    assert bucket.available() == 1
    clock[0] += 10
    assert bucket.available() == 2  # never more than the burst


def test_since_accepts_iso_times_and_durations_ago() -> None:
    assert parse_since("2h", NOW) == NOW - timedelta(hours=2)
    assert parse_since("2026-11-27T08:00:00Z", NOW) == datetime(2026, 11, 27, 8, tzinfo=UTC)
    assert parse_since("2026-11-27T08:00:00", NOW).tzinfo is not None
    with pytest.raises(typer.BadParameter):
        parse_since("yesterday", NOW)
