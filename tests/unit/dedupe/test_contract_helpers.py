"""Helpers of the dedupe port: ids, article time, intervals; MemoryDedupe's lease clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from newsalert.dedupe import (
    AlertKey,
    DedupeConfig,
    DedupeError,
    DedupeStore,
    DedupeUnavailableError,
    MemoryDedupe,
    article_time,
    claim_alert_id,
    owner_token,
    story_id_for,
)
from newsalert.dedupe.contract import intervals_for, to_ms
from newsalert.errors import NewsalertError
from newsalert.models import Article, alert_id
from newsalert.settings import Settings
from tests.unit.dedupe.texts import DAY, HOUR, STORY, T0, article, syndicated


def test_first_alert_id_is_the_models_alert_id_and_repeats_differ() -> None:
    assert claim_alert_id("r", "s") == alert_id("r", "s")
    ids = {claim_alert_id("r", "s", n) for n in range(4)}
    assert len(ids) == 4
    assert claim_alert_id("r", "s", 2) == claim_alert_id("r", "s", 2)


def test_owner_token_is_stable_per_article_and_time() -> None:
    art = Article(id="1", source="AFP")
    assert owner_token(art, T0) == owner_token(art.model_copy(), T0)
    assert owner_token(art, T0) != owner_token(art, T0 + DAY)
    assert owner_token(art, T0) != owner_token(Article(id="1", source="DPA"), T0)


def test_story_id_is_stable_and_source_scoped() -> None:
    a = Article(id="1", source="AFP")
    assert story_id_for(a) == story_id_for(Article(id="1", source="AFP", body="x"))
    assert story_id_for(a) != story_id_for(Article(id="1", source="DPA"))


def test_article_time_prefers_published_at_then_the_record_time_then_now() -> None:
    kafka = datetime(2026, 1, 1, tzinfo=UTC)
    kafka_ms = to_ms(kafka)
    assert article_time(Article(id="1", published_at=T0), kafka_ms) == T0
    assert article_time(Article(id="1"), kafka_ms) == kafka
    assert article_time(Article(id="1"), None, now=T0) == T0
    assert article_time(Article(id="1"), 0, now=T0) == T0  # no timestamp on the record
    assert article_time(Article(id="1"), None).tzinfo is not None


def test_to_ms_is_exact() -> None:
    assert to_ms(datetime(1970, 1, 1, 0, 0, 1, 999_999, tzinfo=UTC)) == 1999
    assert to_ms(datetime(1987, 2, 26, tzinfo=UTC)) == 541_296_000_000


def test_intervals_for_dedupes_rules_and_checks_mapping() -> None:
    assert [key.rule_id for key in intervals_for(["b", "a", "b"], DAY)] == ["b", "a"]
    lanes = intervals_for(["a", AlertKey("a", HOUR), AlertKey("a"), AlertKey("a", HOUR)], DAY)
    assert lanes == {AlertKey("a"): DAY, AlertKey("a", HOUR): HOUR}
    with pytest.raises(DedupeError, match="no repeat interval"):
        intervals_for(["a"], {"b": DAY})
    with pytest.raises(DedupeError, match="negative"):
        intervals_for(["a"], -DAY)


def test_errors_belong_to_the_tree_and_unavailable_is_retryable() -> None:
    assert issubclass(DedupeError, NewsalertError)
    assert issubclass(DedupeUnavailableError, DedupeError)
    assert issubclass(DedupeUnavailableError, OSError)


def test_memory_store_satisfies_the_protocol() -> None:
    assert isinstance(MemoryDedupe(), DedupeStore)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_lease_expiry_follows_the_clock_not_article_time() -> None:
    clock = FakeClock()
    store = MemoryDedupe(DedupeConfig(pending_ttl=timedelta(seconds=30)), clock=clock)
    verdict = await store.check_article(article("a1", STORY), T0)
    claims = await store.claim_alerts(verdict.story_id, ["r"], T0, DAY)
    assert claims[0].send
    clock.now += 31  # the owner died 31 s ago
    again = await store.claim_alerts(verdict.story_id, ["r"], T0, DAY)
    assert again[0].send


async def test_memory_store_forgets_marks_outside_every_window() -> None:
    store = MemoryDedupe(DedupeConfig(story_window=timedelta(hours=1)))
    for day in range(3):
        at = T0 + timedelta(days=day)
        verdict = await store.check_article(article(f"a{day}", STORY, at=at), at)
        claims = await store.claim_alerts(verdict.story_id, ["r"], at, timedelta(hours=1))
        await store.commit(verdict, claims)
    before = len(store)
    late = T0 + timedelta(days=30)
    for i in range(5000):  # enough operations to trigger the periodic sweep
        await store.check_article(Article(id=f"x{i}"), late)  # one id mark each
    assert before > 3
    assert len(store) == 5000
    fresh = await store.check_article(article("z", syndicated(STORY), source="z", at=late), late)
    assert fresh.reason is None


def test_config_from_settings_reads_the_windows() -> None:
    settings = Settings(story_window_s=3600, repeat_interval_s=600)
    config = DedupeConfig.from_settings(settings)
    assert config.story_window == timedelta(hours=1)
    assert config.repeat_interval == timedelta(minutes=10)
    with pytest.raises(ValueError, match="positive"):
        DedupeConfig(story_window=timedelta(0))
