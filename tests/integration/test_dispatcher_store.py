"""The Redis delivery store on a real Redis: idempotent enqueue, leases, pause, log, CLI."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from newsalert.dispatcher.records import AttemptRecord, DeliveryStatus
from newsalert.dispatcher.store import DeliveryStore, NewDelivery
from newsalert.settings import Settings
from tests.integration.test_dispatcher_support import SECRET, make_alert

pytestmark = pytest.mark.integration


class _Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def redis(redis_settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_settings.redis_url, decode_responses=True)
    yield client
    await client.aclose()


def _new(n: int, sub: str = "s", order: float | None = None) -> NewDelivery:
    alert = make_alert(n)
    return NewDelivery(f"msg_{n}", sub, alert, order if order is not None else 1000.0 + n)


async def test_enqueue_is_idempotent_and_skips_delivered(
    redis: Redis, redis_settings: Settings
) -> None:
    store = DeliveryStore(redis, redis_settings.redis_prefix)
    first = [_new(1), _new(2)]
    assert await store.enqueue(first) == 2
    assert await store.enqueue(first) == 0  # a replayed alert record is not scheduled twice
    assert await store.queued("s") == 2
    [claimed] = await store.claim("s", 1, lease_s=30)
    item = await store.load(claimed)
    assert item is not None
    attempt = AttemptRecord(number=1, at=first[0].alert.created_at, status=200, verdict="delivered")
    await store.finish(item, DeliveryStatus.DELIVERED, attempt, attempts=1)
    assert await store.is_delivered("s", claimed)
    record = await store.log.get(claimed)
    assert record is not None
    assert record.status is DeliveryStatus.DELIVERED
    assert [a.status for a in record.history] == [200]


async def test_a_dead_processes_leases_come_back_after_they_expire(
    redis: Redis, redis_settings: Settings
) -> None:
    clock = _Clock()
    store = DeliveryStore(redis, redis_settings.redis_prefix, clock=clock)
    clock.now = 1_000.0
    await store.enqueue([_new(1, order=1_000_000.0)])
    assert await store.claim("s", 10, lease_s=5) == ["msg_1"]
    assert await store.claim("s", 10, lease_s=5) == []  # leased: nobody else gets it
    clock.now += 4
    assert await store.reap("s") == 0
    clock.now += 2
    assert await store.reap("s") == 1  # the holder died; the lease ran out
    assert await store.claim("s", 10, lease_s=5) == ["msg_1"]


async def test_resume_requeues_kept_deliveries_oldest_first(
    redis: Redis, redis_settings: Settings
) -> None:
    store = DeliveryStore(redis, redis_settings.redis_prefix)
    assert await store.pause("s", "test")
    assert not await store.pause("s", "again")
    assert await store.paused_reason("s") == "test"
    await store.enqueue([_new(3, order=3.0), _new(1, order=1.0), _new(2, order=2.0)])
    assert await store.resume("s") == 3
    assert await store.paused_reason("s") is None
    assert await store.claim("s", 10, lease_s=5) == ["msg_1", "msg_2", "msg_3"]


async def test_failure_streak_counts_and_resets(redis: Redis, redis_settings: Settings) -> None:
    store = DeliveryStore(redis, redis_settings.redis_prefix)
    first = await store.note_failure("s")
    second = await store.note_failure("s")
    assert (first.count, second.count) == (1, 2)
    assert first.since_ms == second.since_ms
    assert await store.note_success("s") == 2
    assert (await store.note_failure("s")).count == 1
    assert (await store.note_failure("s")).count == 2
    # A delivered attempt ends the streak in the same MULTI that records it.
    await store.enqueue([_new(1)])
    [claimed] = await store.claim("s", 1, lease_s=30)
    item = await store.load(claimed)
    assert item is not None
    ok = AttemptRecord(number=1, at=item.alert.created_at, status=204, verdict="delivered")
    assert await store.finish(item, DeliveryStatus.DELIVERED, ok, attempts=1) == 2
    assert (await store.note_failure("s")).count == 1


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A config naming the subscriptions alpha, beta and gamma (state changes need one)."""
    subs = "".join(
        f"  - {{id: {sub}, url: 'https://{sub}.example.org/hook', secret: '{SECRET}', "
        "rules: ['*']}\n"
        for sub in ("alpha", "beta", "gamma")
    )
    path = tmp_path / "config.yaml"
    path.write_text(f"version: 1\nrules: []\nsubscriptions:\n{subs}")
    return path


async def _cli(settings: Settings, *args: str, config: Path | None = None) -> tuple[int, str]:
    env = {
        **os.environ,
        "NEWSALERT_REDIS_URL": settings.redis_url,
        "NEWSALERT_REDIS_PREFIX": settings.redis_prefix,
    }
    env.pop("NEWSALERT_CONFIG", None)
    if config is not None:
        env["NEWSALERT_CONFIG"] = str(config)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "newsalert", "deliveries", *args,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode()


async def test_deliveries_cli_lists_filters_and_redelivers(
    redis: Redis, redis_settings: Settings, config: Path
) -> None:
    store = DeliveryStore(redis, redis_settings.redis_prefix)
    ok, bad = _new(1, "alpha"), _new(2, "beta")
    await store.enqueue([ok, bad])
    for sub, status in (("alpha", DeliveryStatus.DELIVERED), ("beta", DeliveryStatus.FAILED)):
        [claimed] = await store.claim(sub, 1, lease_s=30)
        item = await store.load(claimed)
        assert item is not None
        attempt = AttemptRecord(
            number=1, at=ok.alert.created_at, status=200 if sub == "alpha" else 500, verdict="x"
        )
        await store.finish(
            item, status, attempt, attempts=1, error="boom" if sub == "beta" else None
        )

    code, out = await _cli(redis_settings, "list")
    assert code == 0
    assert "msg_1" in out
    assert "msg_2" in out
    code, out = await _cli(redis_settings, "list", "--status", "failed", "--json")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["delivery_id"], r["last_error"]) for r in rows] == [("msg_2", "boom")]
    code, out = await _cli(redis_settings, "list", "--subscription", "alpha")
    assert "msg_1" in out
    assert "msg_2" not in out
    code, out = await _cli(redis_settings, "show", "msg_2")
    assert code == 0
    assert json.loads(out)["history"][0]["status"] == 500

    # redeliver by alert id: the delivered one is sent again (same id), mark cleared.
    code, out = await _cli(redis_settings, "redeliver", ok.alert.alert_id, config=config)
    assert code == 0, out
    assert "msg_1" in out
    assert not await store.is_delivered("alpha", "msg_1")
    assert await store.claim("alpha", 5, lease_s=5) == ["msg_1"]
    code, out = await _cli(
        redis_settings, "recover", "--subscription", "beta", "--since", "1h", config=config
    )
    assert code == 0
    assert "recovering 1 failed" in out
    assert await store.claim("beta", 5, lease_s=5) == ["msg_2"]
    code, out = await _cli(redis_settings, "redeliver", "msg_unknown", config=config)
    assert code == 1


async def test_recover_since_reads_durations_as_backtest_from_does(
    redis: Redis, redis_settings: Settings, config: Path
) -> None:
    store = DeliveryStore(redis, redis_settings.redis_prefix)
    failed = _new(3, "gamma")
    await store.enqueue([failed])
    [claimed] = await store.claim("gamma", 1, lease_s=30)
    item = await store.load(claimed)
    assert item is not None
    attempt = AttemptRecord(number=1, at=failed.alert.created_at, status=500, verdict="x")
    await store.finish(item, DeliveryStatus.FAILED, attempt, attempts=1, error="boom")
    # `w` and a signed `-1w` read as `backtest --from` reads them (one parser); a week is
    # what the delivery log keeps, so `-2w` is refused (see the limits test below).
    for since in ("1w", "-1w"):
        code, out = await _cli(
            redis_settings, "recover", "-s", "gamma", "--since", since, config=config
        )
        assert code == 0, out
        assert "recovering 1 failed deliveries of gamma" in out
        assert await store.claim("gamma", 5, lease_s=5) == ["msg_3"]
        await store.finish(item, DeliveryStatus.FAILED, attempt, attempts=1, error="boom")
    code, out = await _cli(redis_settings, "recover", "-s", "gamma", "--since", "7q", config=config)
    assert code == 2
    assert "cannot read time '7q'" in out


async def _snapshot(settings: Settings) -> dict[bytes, bytes | None]:
    # Every key of the test's prefix with its serialised value: "nothing written" is exact.
    raw = Redis.from_url(settings.redis_url)
    try:
        keys = [key async for key in raw.scan_iter(match=f"{settings.redis_prefix}*")]
        return {key: await raw.dump(key) for key in sorted(keys)}
    finally:
        await raw.aclose()


async def test_deliveries_cli_applies_the_api_limits_and_writes_nothing_when_refused(
    redis: Redis, redis_settings: Settings, config: Path
) -> None:
    store = DeliveryStore(redis, redis_settings.redis_prefix)
    known, ghost = _new(4, "alpha"), _new(5, "ghost")  # ghost: not in the config
    await store.enqueue([known, ghost])
    for sub in ("alpha", "ghost"):
        [claimed] = await store.claim(sub, 1, lease_s=30)
        item = await store.load(claimed)
        assert item is not None
        attempt = AttemptRecord(number=1, at=known.alert.created_at, status=500, verdict="x")
        await store.finish(item, DeliveryStatus.FAILED, attempt, attempts=1, error="boom")
    before = await _snapshot(redis_settings)

    refused = [
        (("pause", "-s", "alpha", "--reason", "x" * 201), 2, "1 to 200 characters"),
        (("pause", "-s", "alpha", "--reason", ""), 2, "1 to 200 characters"),
        (("pause", "-s", "ghost"), 1, "no subscription 'ghost' in the config"),
        (("resume", "-s", "ghost"), 1, "no subscription 'ghost' in the config"),
        (("recover", "-s", "ghost", "--since", "1h"), 1, "no subscription 'ghost'"),
        (("recover", "-s", "alpha", "--since", "30d"), 2, "older than the delivery log keeps"),
        (("redeliver", "msg_5"), 1, "nothing to redeliver for msg_5"),
        (("redeliver", ghost.alert.alert_id), 1, "nothing to redeliver"),
    ]
    for args, code, message in refused:
        got, out = await _cli(redis_settings, *args, config=config)
        assert (got, message in out) == (code, True), (args, out)
    got, out = await _cli(redis_settings, "pause", "-s", "alpha")  # no config at all
    assert got == 2
    assert "NEWSALERT_CONFIG" in out
    assert await _snapshot(redis_settings) == before

    # Within the limits the same commands act: a reason of exactly the cap, a recent since.
    got, out = await _cli(
        redis_settings, "pause", "-s", "alpha", "--reason", "r" * 200, config=config
    )
    assert got == 0, out
    assert await store.paused_reason("alpha") == "r" * 200
    got, out = await _cli(redis_settings, "recover", "-s", "alpha", "--since", "6d", config=config)
    assert got == 0, out
    assert "recovering 1 failed deliveries of alpha" in out
