"""Benchmark the whole pipeline: BBC articles through the real services on the embedded stack.

Starts the embedded stack (tansu + Redis) and a webhook inbox, runs the services as
separate processes on generated rules (one subscription to every rule), publishes N
articles of ``../shared/corpus/bbc.jsonl.gz`` and prints, for each process layout
(``--layouts``; default: one ``newsalert run``, then 1 and 2 ``newsalert matcher``
processes + one ``newsalert dispatcher``, each layout on fresh topics):

* end to end: articles/s from the first publish to matcher lag 0 and to the last alert;
* the matcher's per-article cost in this process, on the same rules and articles:
  decode + match only, and decode + match + Redis dedupe (check, claim, commit), with
  the MinHash fingerprint's share and one Redis round trip for scale.

Skips cleanly (exit 0, a note) when the corpus is absent; the rules come from
``tests.rule_generator`` (seeded, 10 % anchored on real articles).

    .venv/bin/python bench/pipeline.py                    # all 2,225 BBC articles, 1,000 rules
    .venv/bin/python bench/pipeline.py --articles 500 --rules 10000 --layouts run
    .venv/bin/python bench/pipeline.py --backlog        # drain a full topic instead
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gzip
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml
from redis.asyncio import Redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.rule_generator

from tests.rule_generator import RuleGenerator, Vocabulary

from newsalert import constants
from newsalert.config import load_config
from newsalert.dedupe import DedupeConfig, RedisDedupe
from newsalert.dedupe.fingerprint import fingerprint
from newsalert.kafka import ensure_topics, make_producer
from newsalert.models import Article
from newsalert.pipeline.decode import decode_article
from newsalert.pipeline.step import ArticlePipeline
from newsalert.receiver import WebhookInbox
from newsalert.rules import CompiledRules, Document
from newsalert.settings import Settings
from newsalert.stack import EmbeddedStack
from newsalert.stack.process import free_port
from newsalert.text import Stemmer

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("NEWSALERT_CORPUS_DIR", REPO.parent / "shared" / "corpus"))
NEWSALERT = str(Path(sys.executable).with_name("newsalert"))
SECRET = "whsec_" + base64.b64encode(b"newsalert-bench-secret-0123456789").decode()
_SAMPLE = re.compile(r"^(newsalert_[\w]+)(\{[^}]*\})?\s+(\S+)$")


def load_corpus(path: Path, limit: int) -> list[bytes]:
    """The first ``limit`` records of the corpus, as the raw JSON bytes put on Kafka."""
    records: list[bytes] = []
    with gzip.open(path, "rb") as lines:
        for line in lines:
            if line.strip():
                records.append(line.strip())
            if len(records) >= limit:
                break
    return records


def write_config(folder: Path, articles: list[Article], count: int, seed: int, url: str) -> Path:
    """Generated rules plus one subscription to every rule."""
    rules = RuleGenerator(Vocabulary.of(articles), seed=seed).rules(count)
    config = {
        "version": 1,
        "rules": rules,
        "subscriptions": [{"id": "bench", "url": f"{url}/bench", "secret": SECRET, "rules": ["*"]}],
    }
    path = folder / "rules.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


async def scrape(client: httpx.AsyncClient, port: int) -> dict[str, float]:
    """The service's ``newsalert_*`` metrics."""
    reply = await client.get(f"http://127.0.0.1:{port}/metrics")
    out: dict[str, float] = {}
    for line in reply.text.splitlines():
        found = _SAMPLE.match(line)
        if found:
            out[found.group(1) + (found.group(2) or "")] = float(found.group(3))
    return out


def consumed(metrics: dict[str, float]) -> float:
    """Articles the matcher finished, whatever the outcome."""
    return sum(
        value for key, value in metrics.items() if key.startswith("newsalert_articles_total{")
    )


async def wait_ready(
    client: httpx.AsyncClient, port: int, process: subprocess.Popen[bytes], timeout_s: float
) -> None:
    """Wait until the service's ``/readyz`` answers 200."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"newsalert run exited with {process.returncode}")
        try:
            if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.2)
    raise SystemExit("newsalert run did not become ready")


async def publish(settings: Settings, records: list[bytes]) -> float:
    """Publish every record (keyed by article id); seconds it took."""
    producer = make_producer(settings, linger_ms=5)
    await producer.start()
    topic = settings.topic(constants.TOPIC_ARTICLES)
    started = time.perf_counter()
    try:
        futures = []
        for value in records:
            key = json.loads(value)["id"].encode()
            futures.append(await producer.send(topic, value=value, key=key))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return time.perf_counter() - started


def roles_of(layout: str) -> list[str]:
    """``run`` -> one ``newsalert run``; ``N`` -> N ``newsalert matcher`` + one dispatcher."""
    if layout == "run":
        return ["run"]
    return ["matcher"] * int(layout) + ["dispatcher"]


async def end_to_end(
    stack_settings: Settings,
    records: list[bytes],
    folder: Path,
    args: argparse.Namespace,
    layout: str,
) -> dict[str, Any]:
    """Run the service processes of ``layout`` and time the records through them."""
    inbox = WebhookInbox()
    await inbox.start()
    articles = [Article.model_validate_json(r) for r in records]
    config = write_config(folder, articles, args.rules, args.seed, inbox.url)
    await ensure_topics(stack_settings)
    env = dict(os.environ)
    env.update(
        NEWSALERT_KAFKA_BOOTSTRAP=stack_settings.kafka_bootstrap,
        NEWSALERT_REDIS_URL=stack_settings.redis_url,
        NEWSALERT_TOPIC_PREFIX=stack_settings.topic_prefix,
        NEWSALERT_REDIS_PREFIX=stack_settings.redis_prefix,
        NEWSALERT_WEBHOOK_ALLOW_NETWORKS="127.0.0.0/8",
        NEWSALERT_LOG_LEVEL="WARNING",
    )
    services: list[tuple[subprocess.Popen[bytes], int]] = []
    client = httpx.AsyncClient(timeout=5.0)
    publish_s = 0.0
    lag_zero_s = delivered_s = None
    metrics: dict[str, float] = {}
    started: float | None = None
    try:
        if args.backlog:  # the topic is full before any service starts
            publish_s = await publish(stack_settings, records)
        for n, role in enumerate(roles_of(layout)):
            port = free_port()
            with (folder / f"{layout}-{role}-{n}.log").open("wb") as log:
                process = subprocess.Popen(  # noqa: ASYNC220  (reaped in finally)
                    [NEWSALERT, role, "--config", str(config), "--api-port", str(port)],
                    env=env, stdout=log, stderr=subprocess.STDOUT,
                )  # fmt: skip
            services.append((process, port))
        for process, port in services:
            await wait_ready(client, port, process, 120)
        if not args.backlog:
            await asyncio.sleep(3.0)  # consumer-group join and partition assignment
            started = time.perf_counter()
            publish_s = await publish(stack_settings, records)
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            metrics = {}
            for _process, port in services:
                for key, value in (await scrape(client, port)).items():
                    metrics[key] = metrics.get(key, 0.0) + value
            if started is None:  # backlog: the clock starts at the first article consumed
                if consumed(metrics) == 0:
                    await asyncio.sleep(0.02)
                    continue
                started = time.perf_counter()
            now = time.perf_counter() - started
            if lag_zero_s is None and consumed(metrics) >= len(records):
                lag_zero_s = now
            alerts = metrics.get("newsalert_alerts_published_total", 0.0)
            if lag_zero_s is not None and len(inbox.received) >= alerts:
                delivered_s = now
                break
            await asyncio.sleep(0.05)
    finally:
        await client.aclose()
        for process, _port in services:
            process.send_signal(signal.SIGTERM)
        for process, _port in services:
            await asyncio.to_thread(process.wait, 60)
        await inbox.stop()
    return {
        "layout": layout,
        "publish_s": publish_s,
        "lag_zero_s": lag_zero_s,
        "delivered_s": delivered_s,
        "alerts": metrics.get("newsalert_alerts_published_total", 0.0),
        "delivered": len(inbox.received),
        "duplicates": metrics.get('newsalert_articles_total{outcome="duplicate"}', 0.0),
        "exit_codes": [process.returncode for process, _port in services],
    }


async def matcher_cost(
    settings: Settings, records: list[bytes], compiled: CompiledRules
) -> dict[str, float]:
    """Per-article seconds in this process: match only, and match + Redis dedupe."""
    started = time.perf_counter()
    matches = 0
    stemmer = Stemmer()  # one for the run, as the matcher's pipeline keeps one
    for raw in records:
        article = decode_article(raw, settings.max_article_bytes)
        matches += len(compiled.match(Document.from_article(article, stemmer)))
    match_s = (time.perf_counter() - started) / len(records)
    store = RedisDedupe.from_url(
        settings.redis_url,
        prefix=settings.redis_prefix + "cost:",
        config=DedupeConfig.from_settings(settings),
    )
    pipeline = ArticlePipeline(lambda: compiled, store, timedelta(hours=24))
    per_article: list[float] = []
    try:
        for raw in records:
            one = time.perf_counter()
            article = decode_article(raw, settings.max_article_bytes)
            outcome = await pipeline.process(article, article.published_at or datetime.now(tz=UTC))
            await pipeline.commit(outcome)
            per_article.append(time.perf_counter() - one)
    finally:
        await store.aclose()
    started = time.perf_counter()
    params = DedupeConfig().fingerprint
    for raw in records:
        article = decode_article(raw, settings.max_article_bytes)
        fingerprint(article.body or article.title, params)
    fingerprint_s = (time.perf_counter() - started) / len(records)
    client = Redis.from_url(settings.redis_url)
    try:
        started = time.perf_counter()
        for _ in range(500):
            await client.ping()
        ping_s = (time.perf_counter() - started) / 500
    finally:
        await client.aclose()
    return {
        "fingerprint_s": fingerprint_s,
        "ping_s": ping_s,
        "match_s": match_s,
        "full_s": statistics.fmean(per_article),
        "full_p99_s": sorted(per_article)[int(len(per_article) * 0.99) - 1],
        "matches_per_article": matches / len(records),
    }


def _layout_name(layout: str) -> str:
    if layout == "run":
        return "1 × `newsalert run`"
    return f"{layout} × `newsalert matcher` + 1 × `newsalert dispatcher`"


def report(
    args: argparse.Namespace, n: int, runs: list[dict[str, Any]], cost: dict[str, float]
) -> None:
    """Print the figures as markdown tables."""

    def rate(seconds: float | None) -> str:
        return "timed out" if seconds is None else f"{n / seconds:,.0f}"

    def secs(seconds: float | None) -> str:
        return "timed out" if seconds is None else f"{seconds:.2f}"

    mode = "backlog drain, from the first article consumed" if args.backlog else "live"
    print(
        f"# newsalert pipeline ({mode}): {n} BBC articles, {args.rules} generated rules, "
        "1 subscription"
    )
    print()
    print(
        "| processes | publish s | to matcher lag 0: s / articles/s "
        "| to last alert delivered: s / articles/s | alerts / webhooks | repeats skipped "
        "| exit codes after SIGTERM |"
    )
    print("|---|---|---|---|---|---|---|")
    for run in runs:
        print(
            f"| {_layout_name(run['layout'])} | {run['publish_s']:.2f} "
            f"| {secs(run['lag_zero_s'])} / {rate(run['lag_zero_s'])} "
            f"| {secs(run['delivered_s'])} / {rate(run['delivered_s'])} "
            f"| {run['alerts']:.0f} / {run['delivered']} | {run['duplicates']:.0f} "
            f"| {', '.join(str(c) for c in run['exit_codes'])} |"
        )
    print()
    print("| matcher cost in one process, per article | µs |")
    print("|---|---|")
    print(f"| decode + match ({cost['matches_per_article']:.2f} matches/article) "
          f"| {cost['match_s'] * 1e6:,.0f} |")  # fmt: skip
    print(
        f"| decode + match + Redis dedupe (check, claim, commit): mean / p99 "
        f"| {cost['full_s'] * 1e6:,.0f} / {cost['full_p99_s'] * 1e6:,.0f} |"
    )
    print(f"| of which the MinHash fingerprint | {cost['fingerprint_s'] * 1e6:,.0f} |")
    print(f"| one Redis round trip (PING), for scale | {cost['ping_s'] * 1e6:,.0f} |")


async def main_async(args: argparse.Namespace) -> int:
    """Run both measurements on one embedded stack."""
    corpus = args.corpus_dir / "bbc.jsonl.gz"
    if not corpus.exists():
        print(f"corpus not found at {corpus}: nothing to measure (skipped)")
        return 0
    records = load_corpus(corpus, args.articles)
    with tempfile.TemporaryDirectory(prefix="newsalert-bench-") as tmp:
        folder = Path(tmp)
        stack = EmbeddedStack(folder / "stack")
        info = stack.up()
        try:
            runs = []
            for number, layout in enumerate(args.layouts.split(",")):
                tag = f"bench{int(time.time())}x{number}"
                settings = Settings(
                    kafka_bootstrap=info.kafka_bootstrap,
                    redis_url=info.redis_url,
                    topic_prefix=f"{tag}.",
                    redis_prefix=f"na:{tag}:",
                )
                runs.append(await end_to_end(settings, records, folder, args, layout.strip()))
            compiled = load_config(folder / "rules.yaml").rules.compile()
            cost = await matcher_cost(settings, records, compiled)
        finally:
            stack.down()
    report(args, len(records), runs, cost)
    ok = all(r["delivered_s"] is not None and set(r["exit_codes"]) == {0} for r in runs)
    return 0 if ok else 1


def main() -> int:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=2225, help="BBC articles (max 2225)")
    parser.add_argument("--rules", type=int, default=1000, help="generated rules (default 1000)")
    parser.add_argument("--seed", type=int, default=42, help="rule generator seed")
    parser.add_argument(
        "--layouts",
        default="run,1,2",
        help="comma-separated process layouts, each on fresh topics: 'run' = one "
        "`newsalert run`; N = N `newsalert matcher` + one `newsalert dispatcher` (default run,1,2)",
    )
    parser.add_argument(
        "--backlog",
        action="store_true",
        help="publish everything before the services start; time from the first article "
        "consumed (how fast a backlog drains) instead of from the first publish",
    )
    parser.add_argument("--timeout", type=float, default=600.0, help="give up after seconds")
    parser.add_argument("--corpus-dir", type=Path, default=CORPUS, help="corpus folder")
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
