"""Dedupe per Kafka batch vs per article, on a throw-away valkey: articles/s and Redis
round trips per article.

BBC articles, each followed within the next records by a syndicated copy from another
outlet, and every 20th record a redelivery of an earlier one, so batches hold copies of
each other. Each article matches two rules. ``--mode one`` runs check, claim and commit
per article (also on a tree without the batch API: ``PYTHONPATH=<tree>/services``);
``--mode batch`` runs ``check_articles``, ``claim_batch`` and ``commit_batch`` per
``--batch`` records. Round trips are counted by the server (``INFO commandstats``: calls
of ``EVALSHA``, ``EVAL``, ``MGET``, ``SCRIPT``).

    .venv/bin/python bench/dedupe_batch.py --mode batch --articles 2000 --batch 200
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from corpus import read_bbc
from dedupe import variant
from dedupe_redis import ValkeyServer
from redis.asyncio import Redis

from newsalert.dedupe import DedupeStore
from newsalert.dedupe.redis_store import RedisDedupe
from newsalert.models import Article

T0 = datetime(2026, 3, 1, tzinfo=UTC)
DAY = timedelta(hours=24)
RULES = ["rule-a", "rule-b"]
COUNTED = ("cmdstat_evalsha", "cmdstat_eval", "cmdstat_mget", "cmdstat_script")


def stream(originals: list[Article], seed: int) -> list[tuple[Article, datetime]]:
    """Originals a minute apart, a copy of each a few records later, some redeliveries."""
    rnd = random.Random(seed)
    out: list[tuple[Article, datetime]] = []
    for i, art in enumerate(originals):
        at = T0 + timedelta(minutes=i)
        out.insert(len(out) - rnd.randint(0, min(len(out), 5)), (art, at))
        out.append((variant(art, i % 7, rnd), at + timedelta(seconds=30)))
        if i % 10 == 9:
            out.append(out[rnd.randrange(len(out))])
    return out


async def one_by_one(store: DedupeStore, items: list[tuple[Article, datetime]]) -> None:
    """Check, claim and commit each article before the next."""
    for art, at in items:
        verdict = await store.check_article(art, at)
        if verdict.duplicate:
            continue
        claims = await store.claim_alerts(verdict.story_id, RULES, at, DAY, owner=verdict.token)
        await store.commit(verdict, claims)


async def batched(store: Any, items: list[tuple[Article, datetime]], size: int) -> None:
    """One check, one claim and one commit call per ``size`` records."""
    from newsalert.dedupe import ClaimRequest

    for start in range(0, len(items), size):
        verdicts = await store.check_articles(items[start : start + size])
        fresh = [v for v in verdicts if not v.duplicate]
        claims = await store.claim_batch(
            [ClaimRequest(v.story_id, RULES, v.event_time, DAY, v.token) for v in fresh]
        )
        await store.commit_batch(list(zip(fresh, claims, strict=True)))


async def round_trips(client: Redis) -> int:
    """Calls of the commands the store sends, counted by the server."""
    stats = await client.info("commandstats")
    return sum(int(stats[name]["calls"]) for name in COUNTED if name in stats)


async def measure(
    url: str, items: list[tuple[Article, datetime]], args: argparse.Namespace
) -> None:
    client = Redis.from_url(url)
    store = RedisDedupe(client, prefix="na:bench:")
    try:
        await client.flushall()
        await client.config_resetstat()
        started, cpu = time.perf_counter(), time.process_time()
        if args.mode == "one":
            await one_by_one(store, items)
        else:
            await batched(store, items, args.batch)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        calls = await round_trips(client)
    finally:
        await client.aclose()
    mode = "one by one" if args.mode == "one" else f"batches of {args.batch}"
    print(
        f"| {args.label or mode} | {len(items)} | {len(items) / seconds:,.0f} "
        f"| {cpu / len(items) * 1e6:,.0f} | {calls / len(items):.3f} |"
    )


def main() -> int:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mode", choices=["one", "batch"], default="batch")
    parser.add_argument("--articles", type=int, default=2000, help="BBC originals")
    parser.add_argument("--batch", type=int, default=200, help="records per batch")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--label", default="", help="first column of the printed row")
    parser.add_argument("--header", action="store_true", help="print the table header first")
    parser.add_argument("--url", help="a Redis to use (FLUSHALLed!) instead of a throw-away one")
    args = parser.parse_args()
    originals = read_bbc()
    if originals is None:
        return 0
    items = stream(originals[: args.articles], args.seed)
    if args.header:
        print("| run | records | records/s | client CPU µs/record | Redis round trips/record |")
        print("|---|---|---|---|---|")
    server = None if args.url else ValkeyServer()
    try:
        asyncio.run(measure(args.url or server.url, items, args))  # type: ignore[union-attr]
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
