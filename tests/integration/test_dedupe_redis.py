"""The dedupe contract on real Redis (the embedded valkey), plus Redis-only properties:
every key has a TTL, replicas on separate connections race correctly, Redis down is a
retryable ``DedupeUnavailableError``."""

from __future__ import annotations

import asyncio
import random
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from redis.asyncio import Redis

from newsalert.dedupe import (
    AlertKey,
    ClaimRequest,
    DedupeConfig,
    DedupeStore,
    DedupeUnavailableError,
    MemoryDedupe,
    story_id_for,
)
from newsalert.dedupe.redis_store import RedisDedupe, open_redis_dedupe
from newsalert.models import Article
from newsalert.settings import Settings
from tests.unit.dedupe.batch_parity import Item, batched, one_by_one, parity_pool, streams
from tests.unit.dedupe.contract_cases import Backend, DedupeContract, publish_and_commit
from tests.unit.dedupe.texts import (
    DAY,
    HOUR,
    STORY,
    T0,
    article,
    syndicated,
)

pytestmark = pytest.mark.integration


class RedisBackend:
    """Each ``new`` store gets its own key prefix; ``peer`` opens a second connection pool."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.stores: list[RedisDedupe] = []

    def new(self, config: DedupeConfig | None = None) -> DedupeStore:
        prefix = f"na:test:{uuid.uuid4().hex[:10]}:"
        store = RedisDedupe.from_url(self.url, prefix=prefix, config=config)
        self.stores.append(store)
        return store

    def peer(self, store: DedupeStore) -> DedupeStore:
        assert isinstance(store, RedisDedupe)
        other = RedisDedupe.from_url(self.url, prefix=store.prefix, config=store.config)
        self.stores.append(other)
        return other

    async def aclose(self) -> None:
        for store in self.stores:
            await store.aclose()


@pytest.fixture
async def redis_backend(redis_url: str) -> AsyncIterator[RedisBackend]:
    backend = RedisBackend(redis_url)
    yield backend
    await backend.aclose()


class TestRedisDedupe(DedupeContract):
    @pytest.fixture
    def backend(self, redis_backend: RedisBackend) -> Backend:
        return redis_backend


async def test_every_key_has_a_ttl(redis_backend: RedisBackend) -> None:
    store = redis_backend.new()
    assert isinstance(store, RedisDedupe)
    await publish_and_commit(store, article("a1", STORY, url="https://n.example/a"), ["r1"])
    copy = article("c1", syndicated(STORY), source="c", at=T0)
    await publish_and_commit(store, copy, ["r1", "r2"])
    keys = [key async for key in store.client.scan_iter(match=f"{store.prefix}*")]
    kinds = {key.decode().removeprefix(store.prefix).split(":")[0] for key in keys}
    assert kinds == {"seen", "story", "line", "alerted"}
    for key in keys:
        ttl = await store.client.pttl(key)
        assert ttl > 0, key
        assert ttl <= (3 * DAY + 2 * DAY).total_seconds() * 1000


async def test_many_replicas_racing_send_one_alert(redis_backend: RedisBackend) -> None:
    first = redis_backend.new()
    replicas = [first] + [redis_backend.peer(first) for _ in range(5)]
    copies = [
        article(f"outlet-{i}", syndicated(STORY) if i % 2 else STORY, source=f"s{i}")
        for i in range(6)
    ]

    async def matcher(store: DedupeStore, art: Article) -> tuple[str, int]:
        verdict = await store.check_article(art, T0)
        claims = await store.claim_alerts(verdict.story_id, ["r1", "r2"], T0, DAY)
        await asyncio.sleep(0.02)
        await store.commit(verdict, claims)
        return verdict.story_id, sum(claim.send for claim in claims)

    results = await asyncio.gather(*(matcher(s, a) for s, a in zip(replicas, copies, strict=True)))
    assert len({story for story, _ in results}) == 1
    assert sum(sent for _, sent in results) == 2  # one alert per rule


async def test_exact_copy_whose_mark_vanished_is_fingerprinted_after_all(
    redis_backend: RedisBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The MGET saw a committed exact mark, the script no longer does (it expired in
    between): the store falls back to the full check instead of inventing a story."""
    store = redis_backend.new()
    assert isinstance(store, RedisDedupe)
    monkeypatch.setattr(store, "_committed", lambda *_: ("body", "story_gone"))
    copy = article("d-1", STORY, source="dpa")
    verdict = await store.check_article(copy, T0)
    assert (verdict.duplicate, verdict.story_id, verdict.reason) == (
        False,
        story_id_for(copy),
        None,
    )
    bands = [key async for key in store.client.scan_iter(match=f"{store.prefix}story:*")]
    assert bands, "the fallback must write the band marks of a new story"


@pytest.fixture
def dead_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


async def test_redis_down_is_a_retryable_error(dead_port: int) -> None:
    store = RedisDedupe(Redis(host="127.0.0.1", port=dead_port, socket_connect_timeout=1))
    try:
        with pytest.raises(DedupeUnavailableError) as caught:
            await store.check_article(article("a1", STORY), T0)
        assert isinstance(caught.value, OSError)  # the matcher retries OSErrors
        with pytest.raises(DedupeUnavailableError):
            await store.ping()
    finally:
        await store.aclose()


async def test_open_from_settings(redis_settings: Settings) -> None:
    store = open_redis_dedupe(redis_settings)
    try:
        assert store.prefix == redis_settings.redis_prefix
        assert store.config.story_window.total_seconds() == redis_settings.story_window_s
        assert await publish_and_commit(store, article("a1", STORY), ["r"]) == [True]
    finally:
        await store.aclose()


@pytest.mark.parametrize("seed", range(12))
async def test_redis_and_memory_decide_alike(redis_backend: RedisBackend, seed: int) -> None:
    """The Lua scripts mirror MemoryDedupe: same verdicts and claims on random streams."""
    rnd = random.Random(seed)
    config = DedupeConfig(story_window=timedelta(hours=72))
    stores: list[DedupeStore] = [MemoryDedupe(config), redis_backend.new(config)]
    pool = parity_pool()
    for _ in range(40):
        art = rnd.choice(pool)
        # Whole hours on the window edges (1 h, 24 h, 48 h, 72 h) so boundaries get hit.
        at = T0 + timedelta(hours=rnd.choice([0, 1, 2, 23, 24, 25, 48, 72, 73, 74, 97, 150]))
        groups: list[str | AlertKey] = ["a", "b", "c", AlertKey("a", 6 * HOUR), AlertKey("b", HOUR)]
        rules = rnd.sample(groups, rnd.randint(1, 4))
        choices: list[timedelta | dict[str, timedelta]] = [
            HOUR,
            DAY,
            {"a": DAY, "b": 2 * DAY, "c": HOUR},
        ]
        interval = rnd.choice(choices)
        succeed = rnd.random() < 0.8
        seen = []
        for store in stores:
            verdict = await store.check_article(art, at)
            claims = []
            if not verdict.duplicate:
                claims = await store.claim_alerts(
                    verdict.story_id, rules, at, interval, owner=verdict.token
                )
                await (store.commit if succeed else store.abandon)(verdict, claims)
            seen.append(
                (
                    verdict.duplicate,
                    verdict.story_id,
                    verdict.reason,
                    [(c.rule_id, c.lane, c.send, c.duplicates_folded, c.alert_id) for c in claims],
                )
            )
        assert seen[0] == seen[1], (art.id, at)


@hypothesis_settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(stream=streams)
def test_batches_decide_like_one_by_one_on_both_stores(
    redis_url: str, stream: list[list[Item]]
) -> None:
    """check_articles / claim_batch / commit_batch on real Redis decide what one-by-one
    processing decides, and what MemoryDedupe decides either way."""

    async def run() -> list[object]:
        prefixes = [f"na:test:{uuid.uuid4().hex[:10]}:" for _ in range(2)]
        stores = [RedisDedupe.from_url(redis_url, prefix=prefix) for prefix in prefixes]
        try:
            return [
                await one_by_one(stores[0], stream),
                await batched(stores[1], stream),
                await one_by_one(MemoryDedupe(), stream),
                await batched(MemoryDedupe(), stream),
            ]
        finally:
            for store in stores:
                await store.aclose()

    sequential, *others = asyncio.run(run())
    assert others == [sequential] * 3


async def test_a_batch_costs_one_round_trip_per_stage(
    redis_backend: RedisBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Copies of each other in one batch: one MGET + one script to check them all (no
    second round), one script to claim, one to commit."""
    store = redis_backend.new()
    assert isinstance(store, RedisDedupe)
    round_trips: list[str] = []
    original = store._call

    async def counted(pending: Awaitable[Any]) -> Any:
        round_trips.append("call")
        return await original(pending)

    monkeypatch.setattr(store, "_call", counted)
    pool = parity_pool()
    items = [(art, T0 + timedelta(minutes=n)) for n, art in enumerate(pool + pool[:5])]
    verdicts = await store.check_articles(items)
    assert sum(v.duplicate for v in verdicts) >= 5
    assert len(round_trips) == 2
    fresh = [v for v in verdicts if not v.duplicate]
    claims = await store.claim_batch(
        [ClaimRequest(v.story_id, ["r1", "r2"], v.event_time, DAY, v.token) for v in fresh]
    )
    assert len(round_trips) == 3
    await store.commit_batch(list(zip(fresh, claims, strict=True)))
    assert len(round_trips) == 4
