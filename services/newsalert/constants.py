"""Every Kafka topic name and Redis key shape in one place.

Topic names are the defaults; deployments can prefix them with ``NEWSALERT_TOPIC_PREFIX``.
Redis keys are versioned (``na:v1:``) so a future change of layout can live beside the
old one during a rolling upgrade. Every key that is written carries a TTL.
"""

from __future__ import annotations

TOPIC_ARTICLES = "articles"
TOPIC_ALERTS = "alerts"
TOPIC_ARTICLES_DLQ = "articles.dlq"
TOPIC_ALERTS_DLQ = "alerts.dlq"

MATCHER_GROUP = "newsalert-matcher"
DISPATCHER_GROUP = "newsalert-dispatcher"

REDIS_PREFIX = "na:v1:"

#: Kafka header names set on DLQ records.
HEADER_DLQ_REASON = "newsalert-dlq-reason"
HEADER_DLQ_SOURCE = "newsalert-dlq-source"
#: Short stable code of the reason (``invalid-json``, ``lone-surrogate``, ``poison``...).
HEADER_DLQ_KIND = "newsalert-dlq-kind"
#: Python type of the exception that sent the record to the DLQ.
HEADER_DLQ_ERROR = "newsalert-dlq-error"

#: Largest article body accepted (bytes of the whole JSON record); larger goes to the DLQ.
DEFAULT_MAX_ARTICLE_BYTES = 1_000_000


def seen_article_key(prefix: str, digest: str) -> str:
    """Exact-duplicate mark for an article (id, canonical URL or body hash digest)."""
    return f"{prefix}seen:{digest}"


def story_bands_key(prefix: str) -> str:
    """Near-duplicate LSH band buckets: one hash, field ``<band>:<bucket>`` -> the story
    whose newest article hashed into it (each field has its own TTL, and the hash too)."""
    return f"{prefix}story:bands"


def boilerplate_line_key(prefix: str, digest: str) -> str:
    """One source's edge sentence (byline, footer...): last article that had it, how many."""
    return f"{prefix}line:{digest}"


def alert_group_key(prefix: str, rule_id: str, story_id: str, lane_ms: int | None = None) -> str:
    """Repeat-window mark: one alert per (rule, story) within the repeat interval.

    ``lane_ms``: the repeat lane of subscriptions with their own interval (``None``:
    the default lane, whose key has no suffix).
    """
    if lane_ms is None:
        return f"{prefix}alerted:{rule_id}:{story_id}"
    return f"{prefix}alerted:{rule_id}:{story_id}:{lane_ms}"


def delivered_key(prefix: str, subscription_id: str, delivery_id: str) -> str:
    """Set once a webhook delivery got a 2xx, so a redelivered alert is not sent twice."""
    return f"{prefix}delivered:{subscription_id}:{delivery_id}"
