"""Command-line times: now, relative, ISO 8601 with and without zone; durations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from newsalert.backtest.timespec import TimeSpecError, parse_duration, parse_time

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


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
