"""The article time the windows use, kept within a plausible distance of the clock.

Story windows, repeat windows and the near-duplicate band keys compare *article* times
(``published_at``, else the Kafka record time). An article dated in the year 9999 would
pin band keys (a newer-dated entry is never replaced) and its story's repeat window far
ahead of every real article; one dated in the year 1 sits outside every window and near
the limits of date arithmetic. So the live matcher clamps the event time into
``[now - max_past, now + max_future]`` and says so in the alerts (``event_time_clamped``).
The article itself, and the ``published_at`` its alerts carry, are not changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from newsalert.models import Article, article_time
from newsalert.settings import Settings


@dataclass(frozen=True)
class EventTimeBounds:
    """How far an event time may lie ahead of or behind the matcher's clock."""

    max_future: timedelta
    max_past: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> EventTimeBounds:
        """``event_time_max_future_s`` and ``event_time_max_past_s``."""
        return cls(
            timedelta(seconds=settings.event_time_max_future_s),
            timedelta(seconds=settings.event_time_max_past_s),
        )


def bounded_event_time(
    article: Article, kafka_timestamp_ms: int | None, now: datetime, bounds: EventTimeBounds
) -> tuple[datetime, bool]:
    """The event time of ``article`` clamped to ``bounds`` around ``now``; True if clamped."""
    try:
        moment = article_time(article, kafka_timestamp_ms, now)
    except (ValueError, OverflowError, OSError):  # a record time beyond what datetime holds
        return now, True
    now = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    earliest, latest = now - bounds.max_past, now + bounds.max_future
    if moment > latest:
        return latest, True
    if moment < earliest:
        return earliest, True
    return moment, False
