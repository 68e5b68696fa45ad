"""The article time the windows use, kept within a plausible distance of the clock.

Story windows, repeat windows and the near-duplicate band keys compare *article* times
(``published_at``, else the Kafka record time). An article dated in the year 9999 would
pin band keys (a newer-dated entry is never replaced) and its story's repeat window far
ahead of every real article; one dated in the year 1 sits outside every window and near
the limits of date arithmetic. So the live matcher clamps the event time into
``[now - max_past, now + max_future]`` and says so in the alerts (``event_time_clamped``).
The article itself, and the ``published_at`` its alerts carry, are not changed.

The backtest clamps the same way, around :func:`replay_now` (the clock the live matcher
had when it read the record), so its windows agree with the live service's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from newsalert.models import Alert, Article, article_time
from newsalert.settings import Settings
from newsalert.timespec import from_ms


@dataclass(frozen=True)
class EventTimeBounds:
    """How far an event time may lie ahead of or behind the matcher's clock."""

    max_future: timedelta
    max_past: timedelta

    @classmethod
    def defaults(cls) -> EventTimeBounds:
        """The bounds of the settings' defaults (when no settings are at hand)."""
        fields = Settings.model_fields
        return cls(
            timedelta(seconds=fields["event_time_max_future_s"].default),
            timedelta(seconds=fields["event_time_max_past_s"].default),
        )

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


def replay_now(record_ms: int | None, wall: datetime) -> datetime:
    """The clock a live matcher reading a past record on time had: the record's time.

    That is the Kafka record time when there is one not later than ``wall`` (a replayed
    record cannot have been read in the future), else ``wall`` itself.
    """
    if record_ms is not None and record_ms > 0:
        try:
            recorded = from_ms(record_ms)
        except (ValueError, OverflowError, OSError):  # beyond what datetime holds
            return wall
        if recorded <= wall:
            return recorded
    return wall


def marked_clamped(alerts: list[Alert]) -> list[Alert]:
    """``alerts`` saying their article's event time was clamped (``event_time_clamped``)."""
    return [alert.model_copy(update={"event_time_clamped": True}) for alert in alerts]
