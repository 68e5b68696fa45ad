"""The retry policy, pure: the schedule with jitter, status classification.

Durations (``"5s"``, ``"2m"``) are read by :mod:`newsalert.timespec`.

An attempt's outcome is one of :class:`Verdict`; :func:`next_delay` turns a failed attempt
into the delay before the next one, or ``None`` when the schedule is exhausted.
"""

from __future__ import annotations

import enum
import random
import re
from collections.abc import Sequence
from datetime import datetime

from newsalert.webhooks.httpdate import parse_http_date

#: now, 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 3 h — one entry per retry after the first try.
DEFAULT_RETRY_SCHEDULE: tuple[str, ...] = ("5s", "30s", "2m", "10m", "30m", "1h", "3h")
JITTER = 0.2
#: Throttling and timeouts back off harder than the plain schedule.
THROTTLE_FACTOR = 2.0
#: A receiver's Retry-After is honoured up to this many seconds.
MAX_RETRY_AFTER_S = 3 * 3600.0
#: No retry is scheduled further ahead than this: a subscription's queue expires after 30
#: days untouched, and a date past the calendar's end could not even be recorded.
MAX_RETRY_DELAY_S = 7 * 86400.0

_DELTA_SECONDS = re.compile(r"[0-9]+")
_THROTTLE_STATUSES = frozenset({429, 502, 503, 504})


class Verdict(enum.Enum):
    """What one attempt's result means for the delivery."""

    DELIVERED = "delivered"  # 2xx
    GONE = "gone"  # 410: the endpoint asks us to stop; the subscription is paused
    THROTTLED = "throttled"  # 429/502/503/504, timeouts, connection errors: back off harder
    FAILED = "failed"  # any other status (3xx included: redirects are never followed)


def classify(status: int | None) -> Verdict:
    """The verdict for an HTTP ``status`` (``None``: timeout or connection failure)."""
    if status is None or status in _THROTTLE_STATUSES:
        return Verdict.THROTTLED
    if 200 <= status < 300:
        return Verdict.DELIVERED
    if status == 410:
        return Verdict.GONE
    return Verdict.FAILED


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds asked by a ``Retry-After`` header, or ``None`` when it is not a valid one.

    Only the two forms of RFC 9110 §10.2.3 count: ASCII delta-seconds (``str.isdigit``
    also takes ``²`` or Arabic-Indic digits) or an HTTP-date; a date in the past is 0.
    Anything else is the receiver's mistake and the schedule applies.
    """
    if value is None:
        return None
    text = value.strip(" \t")
    if _DELTA_SECONDS.fullmatch(text):
        return float(text)  # a huge value becomes inf; next_delay clamps it
    when = parse_http_date(text, now=now)
    if when is None:
        return None
    return max(0.0, (when - now).total_seconds())


def jittered(delay_s: float, rng: random.Random, jitter: float = JITTER) -> float:
    """``delay_s`` moved uniformly by up to ±``jitter`` (20 %) so retries don't stampede."""
    return delay_s * rng.uniform(1.0 - jitter, 1.0 + jitter)


def next_delay(
    schedule: Sequence[float],
    attempts_made: int,
    verdict: Verdict,
    *,
    retry_after_s: float | None,
    rng: random.Random,
    max_retry_after_s: float = MAX_RETRY_AFTER_S,
) -> float | None:
    """Seconds until the next attempt after ``attempts_made`` attempts, ``None`` when done.

    ``schedule[i]`` is the delay before retry ``i + 1``; throttled attempts wait
    :data:`THROTTLE_FACTOR` times longer, and at least the receiver's ``Retry-After``
    clamped to ``[0, max_retry_after_s]``; no delay exceeds :data:`MAX_RETRY_DELAY_S`.
    """
    if verdict is Verdict.DELIVERED or attempts_made < 1:
        return None
    index = attempts_made - 1
    if index >= len(schedule):
        return None
    delay = jittered(schedule[index], rng)
    if verdict is Verdict.THROTTLED:
        delay *= THROTTLE_FACTOR
        if retry_after_s is not None:
            delay = max(delay, min(max(retry_after_s, 0.0), max_retry_after_s))
    return min(delay, MAX_RETRY_DELAY_S)
