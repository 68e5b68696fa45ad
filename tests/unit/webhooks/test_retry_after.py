"""``Retry-After`` is read strictly: ASCII delta-seconds or an HTTP-date, nothing else.

A receiver's header is hostile input: anything that is not one of the two forms of RFC 9110
§10.2.3 is ignored (the schedule applies) and parsing never raises.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsalert.webhooks.retry import parse_retry_after

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        ("0", 0.0),
        (" 7 ", 7.0),  # optional whitespace around a field value is not part of it
        ("007", 7.0),
        # The three HTTP-date forms a recipient must accept (RFC 9110 §5.6.7).
        ("Thu, 01 Jan 2026 00:01:30 GMT", 90.0),  # IMF-fixdate
        ("Thursday, 01-Jan-26 00:01:30 GMT", 90.0),  # obsolete RFC 850
        ("Thu Jan  1 00:01:30 2026", 90.0),  # obsolete asctime
        ("Wed, 31 Dec 2025 23:00:00 GMT", 0.0),  # in the past: retry at once
        ("Sunday, 06-Nov-94 08:49:37 GMT", 0.0),  # two-digit year in the past century
    ],
)
def test_valid_retry_after(value: str, seconds: float) -> None:
    assert parse_retry_after(value, now=NOW) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "   ",
        "²",  # superscript two: str.isdigit() is true, float() fails
        "¹²",
        "١٢",  # Arabic-Indic digits: str.isdigit() and float() both accept them
        "１２",  # full-width digits
        "𝟗",  # mathematical bold digit
        "1.5",
        "-5",
        "+5",
        "5s",
        "1e3",
        "0x10",
        "1_000",
        "12 13",
        "soon",
        "\ud800",
        "12\x00",
        # Forms email.utils accepts but an HTTP-date does not allow.
        "Thu, 01 Jan 2026 00:01:30 +0000",
        "Thu, 01 Jan 2026 00:01:30 UTC",
        "01 Jan 2026 00:01:30 GMT",
        "Thu, 1 Jan 2026 00:01:30 GMT",
        "thu, 01 jan 2026 00:01:30 GMT",
        "Thu, 01 Jan 2026 00:01 GMT",
        "Thu, 01 Jan 26 00:01:30 GMT",
        # Well-formed but impossible dates.
        "Thu, 32 Jan 2026 00:01:30 GMT",
        "Thu, 29 Feb 2026 00:01:30 GMT",
        "Thu, 01 Jan 2026 24:00:00 GMT",
        "Thu, 01 Jan 2026 23:59:60 GMT",
        "Thu, 01 Jan 0000 00:00:00 GMT",
        "Thu, 01 Jan 2026 00:01:30 GMT, Fri, 02 Jan 2026 00:00:00 GMT",
    ],
)
def test_anything_else_is_ignored(value: str | None) -> None:
    assert parse_retry_after(value, now=NOW) is None


def test_a_huge_delay_is_a_number_not_an_error() -> None:
    # next_delay clamps it to MAX_RETRY_AFTER_S; parsing must not raise on its length.
    assert parse_retry_after("9" * 5000, now=NOW) == float("inf")


@given(st.text(max_size=40))
def test_never_raises_and_never_negative(value: str) -> None:
    seconds = parse_retry_after(value, now=NOW)
    assert seconds is None or seconds >= 0.0


@given(st.from_regex(r"\A[0-9]{1,12}\Z"))
def test_ascii_digits_are_seconds(value: str) -> None:
    assert parse_retry_after(value, now=NOW) == float(int(value))
