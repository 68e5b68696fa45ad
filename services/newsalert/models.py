"""The records that cross process boundaries: articles in, alerts out, webhook payloads.

Pure pydantic models; JSON Schemas in ``schemas/`` are generated from them
(``newsalert schemas write``) and a test fails when they drift.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from newsalert.timespec import aware, from_ms


class Article(BaseModel):
    """One news article as crawlers and wire feeds publish it. Extra fields are kept."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1, max_length=512, description="Publisher-unique article id.")
    title: str = Field("", description="Headline.")
    body: str = Field("", description="Article text.")
    url: str | None = Field(None, description="Canonical or crawled URL.")
    source: str | None = Field(None, description="Publisher or wire, e.g. 'AFP'.")
    language: str | None = Field(None, description="ISO 639-1 code, e.g. 'en'.")
    published_at: datetime | None = Field(None, description="Publication time (ISO 8601).")

    @field_validator("id")
    @classmethod
    def _id_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("id must not be blank")
        return value

    @field_validator("published_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        # Naive times are taken as UTC so that windows and backtests agree across hosts.
        return None if value is None else aware(value)


class RuleRef(BaseModel):
    """The rule an alert is about."""

    id: str
    title: str | None = None


def article_time(article: Article, record_ms: int | None, now: datetime | None = None) -> datetime:
    """The one "article time" of newsalert: windows, story ids and backtests all use it.

    ``published_at`` (naive is UTC) when the article has one; else the Kafka record's
    timestamp ``record_ms`` (epoch ms, ignored when missing or not positive); else ``now``
    (default: the current time).
    """
    published = article.published_at
    if published is not None:
        return aware(published)
    if record_ms is not None and record_ms > 0:
        return from_ms(record_ms)
    return now if now is not None else datetime.now(tz=UTC)


class ArticleRef(BaseModel):
    """The article fields an alert carries (never the full body)."""

    id: str
    title: str
    url: str | None = None
    source: str | None = None
    published_at: datetime | None = None

    @classmethod
    def of(cls, article: Article) -> ArticleRef:
        """The reference of ``article``."""
        return cls(
            id=article.id,
            title=article.title,
            url=article.url,
            source=article.source,
            published_at=article.published_at,
        )


class Alert(BaseModel):
    """One rule matched one story: the record on the ``alerts`` topic.

    The dispatcher fans it out to every subscription that selects the rule; each delivery
    gets its own deterministic id (:func:`delivery_id`).
    """

    alert_id: str = Field(description="Deterministic: hash of rule id and story id.")
    rule: RuleRef
    article: ArticleRef
    story_id: str = Field(description="Story the article belongs to (itself if new).")
    matched: list[str] = Field(default_factory=list, description="Keywords that matched.")
    tags: list[str] = Field(default_factory=list, description="Tags of the rule.")
    duplicates_folded: int = Field(0, ge=0, description="Copies of the story folded in.")
    created_at: datetime = Field(description="When the matcher emitted the alert.")
    event_time_clamped: bool = Field(
        False,
        description="The article's time was implausibly far from the matcher's clock; "
        "story and repeat windows used the nearest plausible time instead.",
    )
    repeat_interval_ms: int | None = Field(
        None,
        ge=0,
        description="Repeat lane: the alert is for the subscriptions whose own "
        "repeat_interval is this (ms); null: those without one (the service default).",
    )


class WebhookAlertData(BaseModel):
    """The ``data`` object of a webhook POST."""

    alert_id: str = Field(description="Delivery id; equals the webhook-id header.")
    subscription_id: str
    rule: RuleRef
    article: ArticleRef
    story_id: str
    matched: list[str]
    duplicates_folded: int = 0
    event_time_clamped: bool = Field(
        False, description="Windows used a clamped article time (see the alert schema)."
    )


class WebhookPayload(BaseModel):
    """The JSON body POSTed to subscribers (Standard Webhooks event envelope)."""

    type: Literal["news.alert"] = "news.alert"
    timestamp: datetime
    data: WebhookAlertData


def stable_id(prefix: str, *parts: str) -> str:
    """A short deterministic id from ``parts`` (sha256, hex, 24 chars)."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]
    return f"{prefix}_{digest}"


def alert_id(rule_id: str, story_id: str) -> str:
    """The id of the alert for ``rule_id`` on ``story_id``."""
    return stable_id("alrt", rule_id, story_id)


def delivery_id(subscription_id: str, rule_id: str, story_id: str) -> str:
    """The webhook-id of one alert delivered to one subscription (stable across retries)."""
    return stable_id("msg", subscription_id, rule_id, story_id)


def schema_models() -> dict[str, type[BaseModel]]:
    """The models whose JSON Schemas are published under ``schemas/``."""
    return {"article": Article, "alert": Alert, "webhook-payload": WebhookPayload}
