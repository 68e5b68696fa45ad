"""The pure retry policy: durations, classification, schedule, jitter, Retry-After."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsalert.timespec import TimeSpecError
from newsalert.timespec import duration_s as parse_duration
from newsalert.webhooks.retry import (
    DEFAULT_RETRY_SCHEDULE,
    MAX_RETRY_AFTER_S,
    THROTTLE_FACTOR,
    Verdict,
    classify,
    next_delay,
    parse_retry_after,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("5s", 5.0), ("30s", 30.0), ("2m", 120.0), ("1h", 3600.0), ("1d", 86400.0),
     ("500ms", 0.5), ("7", 7.0), (" 1.5m ", 90.0)],
)  # fmt: skip
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5x", "-1s", "m", "1h30m"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(TimeSpecError):
        parse_duration(text)


def test_default_schedule_is_the_documented_one() -> None:
    assert [parse_duration(d) for d in DEFAULT_RETRY_SCHEDULE] == [
        5, 30, 120, 600, 1800, 3600, 10800
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("status", "verdict"),
    [(200, Verdict.DELIVERED), (204, Verdict.DELIVERED), (299, Verdict.DELIVERED),
     (301, Verdict.FAILED), (302, Verdict.FAILED), (400, Verdict.FAILED),
     (404, Verdict.FAILED), (410, Verdict.GONE), (429, Verdict.THROTTLED),
     (500, Verdict.FAILED), (502, Verdict.THROTTLED), (503, Verdict.THROTTLED),
     (504, Verdict.THROTTLED), (None, Verdict.THROTTLED)],
)  # fmt: skip
def test_classify(status: int | None, verdict: Verdict) -> None:
    assert classify(status) is verdict


def test_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("120", now=NOW) == 120.0
    date = format_datetime(NOW + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(date, now=NOW) == pytest.approx(90.0)
    past = format_datetime(NOW - timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(past, now=NOW) == 0.0
    assert parse_retry_after("soon", now=NOW) is None
    assert parse_retry_after(None, now=NOW) is None


@given(seed=st.integers(0, 2**32), attempt=st.integers(1, 7))
def test_jitter_stays_within_20_percent(seed: int, attempt: int) -> None:
    schedule = [parse_duration(d) for d in DEFAULT_RETRY_SCHEDULE]
    delay = next_delay(
        schedule, attempt, Verdict.FAILED, retry_after_s=None, rng=random.Random(seed)
    )
    assert delay is not None
    base = schedule[attempt - 1]
    assert base * 0.8 <= delay <= base * 1.2


def test_jitter_actually_varies() -> None:
    rng = random.Random(1)
    delays = {next_delay([10.0], 1, Verdict.FAILED, retry_after_s=None, rng=rng) for _ in range(20)}
    assert len(delays) > 10


def test_schedule_exhaustion_and_success_end_retrying() -> None:
    rng = random.Random(0)
    assert next_delay([1.0, 2.0], 3, Verdict.FAILED, retry_after_s=None, rng=rng) is None
    assert next_delay([1.0, 2.0], 2, Verdict.FAILED, retry_after_s=None, rng=rng) is not None
    assert next_delay([1.0], 1, Verdict.DELIVERED, retry_after_s=None, rng=rng) is None
    assert next_delay([], 1, Verdict.FAILED, retry_after_s=None, rng=rng) is None


def test_throttling_backs_off_harder_and_honours_clamped_retry_after() -> None:
    rng = random.Random(0)
    plain = next_delay([10.0], 1, Verdict.THROTTLED, retry_after_s=None, rng=rng)
    assert plain is not None
    assert 10.0 * 0.8 * THROTTLE_FACTOR <= plain <= 10.0 * 1.2 * THROTTLE_FACTOR
    honoured = next_delay([1.0], 1, Verdict.THROTTLED, retry_after_s=60.0, rng=rng)
    assert honoured == 60.0
    clamped = next_delay([1.0], 1, Verdict.THROTTLED, retry_after_s=10**9, rng=rng)
    assert clamped == MAX_RETRY_AFTER_S
    # Retry-After is a throttling signal; a plain failure keeps the schedule.
    failed = next_delay([1.0], 1, Verdict.FAILED, retry_after_s=60.0, rng=rng)
    assert failed is not None
    assert failed < 2.0
