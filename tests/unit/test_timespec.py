"""Durations and times: one grammar for the command line and the config; epoch ms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsalert.subscriptions import Subscription
from newsalert.timespec import (
    UNITS,
    TimeSpecError,
    aware,
    epoch_ms,
    from_ms,
    parse_duration,
    parse_since,
    parse_time,
    to_ms,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("NOW", NOW),
        ("-7d", NOW - timedelta(days=7)),
        ("-36h", NOW - timedelta(hours=36)),
        ("-90m", NOW - timedelta(minutes=90)),
        ("-1.5h", NOW - timedelta(minutes=90)),
        ("+2h", NOW + timedelta(hours=2)),
        ("-2w", NOW - timedelta(weeks=2)),
        ("-1y", NOW - timedelta(days=365)),
        ("2026-11-20T08:00:00Z", datetime(2026, 11, 20, 8, tzinfo=UTC)),
        ("2026-11-20T08:00:00", datetime(2026, 11, 20, 8, tzinfo=UTC)),  # naive = UTC
        ("2026-11-20", datetime(2026, 11, 20, tzinfo=UTC)),
        ("2026-11-20T10:00:00+02:00", datetime(2026, 11, 20, 8, tzinfo=UTC)),
    ],
)
def test_parse_time(text: str, expected: datetime) -> None:
    parsed = parse_time(text, now=NOW)
    assert parsed == expected
    assert parsed.tzinfo is not None
    assert parsed.utcoffset() == UTC.utcoffset(None)


@pytest.mark.parametrize("text", ["yesterday", "-7", "7d", "-7q", "2026-13-01", ""])
def test_parse_time_rejects_with_a_hint(text: str) -> None:
    with pytest.raises(TimeSpecError, match="cannot read time"):
        parse_time(text, now=NOW)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", timedelta(0)),
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        ("2d", timedelta(days=2)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["-1h", "1x", "soon"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(TimeSpecError):
        parse_duration(text)


@given(
    amount=st.one_of(st.integers(0, 1000), st.decimals(0, 1000, places=2).map(str)),
    unit=st.sampled_from(sorted(UNITS)),
)
def test_one_grammar_for_since_relative_times_and_config_durations(
    amount: object, unit: str
) -> None:
    text = f"{amount}{unit}"
    ago = parse_since(text, NOW)
    assert ago == parse_time(f"-{text}", now=NOW)
    assert NOW - ago == parse_duration(text)
    subscription = Subscription(
        id="desk", url="https://example.org/h", secret=SECRET, max_alert_age=text
    )
    assert subscription.max_alert_age_s() == (NOW - ago).total_seconds()


def test_epoch_ms_round_trip_is_exact() -> None:
    moment = datetime(2026, 11, 27, 12, 0, 0, 123000, tzinfo=UTC)
    assert to_ms(moment) == 1_795_780_800_123
    assert from_ms(to_ms(moment)) == moment
    assert from_ms("1795780800123") == moment
    assert to_ms(moment.replace(tzinfo=None)) == to_ms(moment)  # naive = UTC


@pytest.mark.parametrize("text", ["-99999y", "99999y", "1e400d"])
def test_out_of_range_times_are_a_clear_error(text: str) -> None:
    with pytest.raises(TimeSpecError):
        parse_since(text, NOW)


def test_aware_takes_naive_as_utc_and_keeps_a_zone() -> None:
    assert aware(datetime(2026, 11, 20, 8)) == datetime(2026, 11, 20, 8, tzinfo=UTC)
    minus_one = timezone(timedelta(hours=-1))
    edge = datetime(9999, 12, 31, 23, 59, tzinfo=minus_one)  # past 9999 in UTC
    assert aware(edge) is edge


def test_epoch_ms_of_a_clock_reading() -> None:
    assert epoch_ms(1_700_000_000.1234) == 1_700_000_000_123
    assert epoch_ms(0.0) == 0
    assert from_ms(epoch_ms(1_700_000_000.5)) == datetime.fromtimestamp(1_700_000_000.5, UTC)
