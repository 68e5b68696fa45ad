"""Durations and times, written one way everywhere, and the datetime <-> epoch-ms helpers.

A duration is a non-negative number with a unit, ``ms s m h d w y`` (``y`` = 365 days),
or a bare number of seconds: ``500ms``, ``30s``, ``1.5m``, ``2h``, ``7d``, ``2w``, ``90``.
Subscriptions (``retry_schedule``, ``max_alert_age``, ...), ``backtest --from/--to/
--allowed-lateness`` and ``deliveries recover --since`` all read them with
:func:`parse_duration`. A time is ``now``, a signed duration from now (``-7d``, ``+2h``)
or ISO 8601; :func:`parse_since` also takes an unsigned duration as "that long ago".
Naive ISO times and naive datetimes are UTC, as everywhere in newsalert.
"""

from __future__ import annotations

import re
import reprlib
from datetime import UTC, datetime, timedelta

from newsalert.errors import NewsalertError

UNITS: dict[str, timedelta] = {
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
    "y": timedelta(days=365),
}
_AMOUNT = r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w|y)?"
_DURATION = re.compile(rf"^\s*{_AMOUNT}\s*$")
_RELATIVE = re.compile(rf"^\s*([+-])\s*{_AMOUNT}\s*$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


class TimeSpecError(NewsalertError, ValueError):
    """A duration or time (command line or config) cannot be understood."""


def parse_duration(text: str | float) -> timedelta:
    """The duration ``text`` stands for (see the module docstring); a number is seconds."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        if text < 0:
            raise TimeSpecError(f"duration {reprlib.repr(text)} must not be negative")
        return timedelta(seconds=text)
    found = _DURATION.match(text) if isinstance(text, str) else None
    if not found:
        raise TimeSpecError(
            f"cannot read duration {reprlib.repr(text)}: use a number and a unit "
            "(ms, s, m, h, d, w, y), e.g. '500ms', '30s', '15m', '2h', '7d'"
        )
    amount, unit = found.groups()
    try:
        return UNITS[unit or "s"] * float(amount)
    except OverflowError:
        raise TimeSpecError(f"duration {reprlib.repr(text)} is out of range") from None


def duration_s(text: str | float) -> float:
    """:func:`parse_duration` in seconds."""
    return parse_duration(text).total_seconds()


def parse_time(text: str, now: datetime | None = None) -> datetime:
    """An aware UTC datetime for ``now``, ``-7d``/``+2h``/``-90m`` or an ISO 8601 time."""
    current = now or datetime.now(tz=UTC)
    value = text.strip()
    if value.lower() == "now":
        return current
    relative = _RELATIVE.match(value)
    if relative:
        sign, amount, unit = relative.groups()
        if unit is not None:  # "-7" is more likely a typo than seven seconds ago
            return _shift(current, parse_duration(f"{amount}{unit}"), sign)
    else:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            pass
        else:
            return as_utc(moment)
    raise TimeSpecError(
        f"cannot read time {reprlib.repr(text)}: use 'now', a relative time like '-7d' or '-36h', "
        "or ISO 8601 like '2026-11-20T08:00:00Z'"
    )


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """:func:`parse_time`, or an unsigned duration meaning that long before ``now``."""
    current = now or datetime.now(tz=UTC)
    if _DURATION.match(text):
        return _shift(current, parse_duration(text), "-")
    return parse_time(text, current)


def _shift(moment: datetime, delta: timedelta, sign: str) -> datetime:
    try:
        return moment - delta if sign == "-" else moment + delta
    except OverflowError:
        raise TimeSpecError(f"{sign}{delta} from {moment:%Y-%m-%d} is out of range") from None


def aware(moment: datetime) -> datetime:
    """``moment`` with a zone: naive is taken as UTC, an aware one keeps its own zone.

    Keeping the zone matters at the calendar's edges: converting 9999-12-31T23:59-01:00
    to UTC overflows, comparing it does not.
    """
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (naive is taken as UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def to_ms(moment: datetime) -> int:
    """Whole epoch milliseconds of ``moment`` (naive = UTC), exact (no float rounding)."""
    return (aware(moment) - _EPOCH) // _MS


def epoch_ms(seconds: float) -> int:
    """Whole epoch milliseconds of an epoch time in seconds (a ``time.time()`` reading)."""
    return int(seconds * 1000)


def from_ms(ms: float | str) -> datetime:
    """The aware UTC datetime of epoch milliseconds (a Redis string is fine too)."""
    return _EPOCH + timedelta(milliseconds=float(ms))


def delta_ms(delta: timedelta) -> int:
    """Whole milliseconds of ``delta``."""
    return delta // _MS
