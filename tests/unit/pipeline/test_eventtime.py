"""Event times far from the matcher's clock are clamped for the windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from newsalert.models import Article
from newsalert.pipeline.eventtime import EventTimeBounds, bounded_event_time
from newsalert.settings import Settings

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
BOUNDS = EventTimeBounds(max_future=timedelta(days=1), max_past=timedelta(days=3650))


@pytest.mark.parametrize(
    ("published_at", "kafka_ms", "expected", "clamped"),
    [
        ("2026-12-04T10:00:00Z", None, datetime(2026, 12, 4, 10, tzinfo=UTC), False),
        ("2026-12-05T11:59:00Z", None, datetime(2026, 12, 5, 11, 59, tzinfo=UTC), False),
        ("9999-12-31T23:59:59Z", None, NOW + timedelta(days=1), True),
        ("9999-12-31T23:59:59-23:59", None, NOW + timedelta(days=1), True),
        ("0001-01-01T00:00:00Z", None, NOW - timedelta(days=3650), True),
        ("0001-01-01T00:00:00+23:59", None, NOW - timedelta(days=3650), True),
        (None, int(NOW.timestamp() * 1000), NOW, False),
        (None, 2**62, NOW, True),  # a record time datetime cannot hold
        (None, 32503680000000, NOW + timedelta(days=1), True),  # a record time in 3000
    ],
)
def test_clamped_into_bounds(
    published_at: str | None, kafka_ms: int | None, expected: datetime, clamped: bool
) -> None:
    article = Article.model_validate({"id": "a", "published_at": published_at})
    assert bounded_event_time(article, kafka_ms, NOW, BOUNDS) == (expected, clamped)


def test_bounds_from_settings() -> None:
    settings = Settings(event_time_max_future_s=60, event_time_max_past_s=120)
    bounds = EventTimeBounds.from_settings(settings)
    assert bounds == EventTimeBounds(timedelta(seconds=60), timedelta(seconds=120))
