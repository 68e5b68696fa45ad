"""Times on the command line: ``now``, relative (``-7d``, ``-36h``) or ISO 8601.

Naive ISO times are UTC, as everywhere in newsalert (see ``Article.published_at``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from newsalert.errors import NewsalertError

_RELATIVE = re.compile(r"^\s*([+-])\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w|y)\s*$")
_UNITS = {
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
    "y": timedelta(days=365),
}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")


class TimeSpecError(NewsalertError):
    """A time or duration given on the command line cannot be understood."""


def parse_time(text: str, now: datetime | None = None) -> datetime:
    """An aware UTC datetime for ``now``, ``-7d``/``+2h``/``-90m`` or an ISO 8601 time."""
    current = now or datetime.now(tz=UTC)
    value = text.strip()
    if value.lower() == "now":
        return current
    relative = _RELATIVE.match(value)
    if relative:
        sign, amount, unit = relative.groups()
        delta = _UNITS[unit] * float(amount)
        return current - delta if sign == "-" else current + delta
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise TimeSpecError(
            f"cannot read time {text!r}: use 'now', a relative time like '-7d' or '-36h', "
            "or ISO 8601 like '2026-11-20T08:00:00Z'"
        ) from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_duration(text: str) -> timedelta:
    """A non-negative duration like ``0``, ``90s``, ``15m``, ``1h``, ``2d``."""
    value = text.strip()
    if value == "0":
        return timedelta(0)
    found = _DURATION.match(value)
    if not found:
        raise TimeSpecError(f"cannot read duration {text!r}: use e.g. '0', '30s', '15m', '2h'")
    amount, unit = found.groups()
    return _UNITS[unit] * float(amount)


def to_ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime (Kafka record timestamps)."""
    return int(moment.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    """The aware UTC datetime of epoch milliseconds."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)
