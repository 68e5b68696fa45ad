"""Cost of a story's copies in the dedupe store: new article, exact copy, redelivery.

Every copy of a story is matched now (only a redelivery of the same record is skipped),
so what a copy costs the store matters. Per article, on MemoryDedupe and on RedisDedupe
(a throw-away valkey from ``bench/dedupe_redis.py``), the time of ``check_article`` +
``claim_alerts`` (one rule) + ``commit`` -- the matcher's whole store traffic -- for:

* **new**: an article of a story not seen before (fingerprint, bands, boilerplate);
* **exact copy**: the same body under another id and source (no fingerprint, no bands);
* **redelivery**: the same record again (one ``MGET`` on Redis, nothing else).

Project-generated text (random words), seeded. Prints a markdown table (µs per article,
median of ``--repeat`` runs). ``PYTHONPATH=<old checkout>/services`` runs the same table
against older code.

Usage: ``.venv/bin/python bench/dedupe_copies.py [--articles 2000] [--redis-url URL]``
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dedupe_redis import ValkeyServer
from redis.asyncio import Redis

from newsalert.dedupe import DedupeStore, MemoryDedupe
from newsalert.dedupe.redis_store import RedisDedupe
from newsalert.models import Article

T0 = datetime(2026, 3, 1, tzinfo=UTC)
DAY = timedelta(hours=24)
WORDS = [f"w{n}" for n in range(5000)]


def body(rnd: random.Random, sentences: int = 12) -> str:
    """A random news-length body (about 200 words)."""
    return " ".join(
        " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(12, 22))) + "."
        for _ in range(sentences)
    )


async def timed(store: DedupeStore, articles: list[Article]) -> float:
    """Microseconds per article for the matcher's store calls (one matched rule)."""
    started = time.perf_counter()
    for art in articles:
        at = art.published_at or T0
        verdict = await store.check_article(art, at)
        if verdict.duplicate:
            continue
        claims = await store.claim_alerts(verdict.story_id, ["r1"], at, DAY, owner=verdict.token)
        await store.commit(verdict, claims)
    return (time.perf_counter() - started) / len(articles) * 1e6


async def one_run(store: DedupeStore, count: int, seed: int) -> dict[str, float]:
    rnd = random.Random(seed)
    originals = [
        Article(
            id=f"o{seed}-{n}",
            source="wire",
            title=f"Story {n}",
            body=body(rnd),
            published_at=T0 + timedelta(seconds=n),
        )
        for n in range(count)
    ]
    copies = [
        art.model_copy(update={"id": f"c-{art.id}", "source": "outlet", "title": "Other"})
        for art in originals
    ]
    return {
        "new": await timed(store, originals),
        "exact copy": await timed(store, copies),
        "redelivery": await timed(store, copies),
    }


async def run(args: argparse.Namespace) -> None:
    server = None if args.redis_url else ValkeyServer()
    url = args.redis_url or (server.url if server else "")
    try:
        rows: dict[str, dict[str, list[float]]] = {}
        for repeat in range(args.repeat):
            client = Redis.from_url(url)
            stores: dict[str, DedupeStore] = {
                "MemoryDedupe": MemoryDedupe(),
                "RedisDedupe": RedisDedupe(client, prefix=f"bench:{repeat}:"),
            }
            for name, store in stores.items():
                figures = await one_run(store, args.articles, repeat)
                for kind, value in figures.items():
                    rows.setdefault(name, {}).setdefault(kind, []).append(value)
            await client.aclose()
    finally:
        if server is not None:
            server.stop()
    kinds = ["new", "exact copy", "redelivery"]
    print(
        f"| store ({args.articles} articles, median of {args.repeat}) | " + " | ".join(kinds) + " |"
    )
    print("|---" * (len(kinds) + 1) + "|")
    for name, figures in rows.items():
        cells = [f"{statistics.median(figures[kind]):.0f} µs" for kind in kinds]
        print(f"| {name} | " + " | ".join(cells) + " |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--redis-url", default=None, help="use this Redis (keys bench:*)")
    asyncio.run(run(parser.parse_args()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
