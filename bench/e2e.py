"""Benchmark the product paths against the raw Kafka consume of the same topic, in one run.

Starts the embedded stack (tansu + Redis) and a fast local webhook receiver
(``bench/fastinbox.py``), then measures, each on fresh topics and Redis prefix:

* ``raw``: a plain aiokafka consumer reading and JSON-decoding the articles topic (the
  reference every other figure is compared with, measured in the same run);
* ``index``: the rule index alone in this process (normalise + ``CompiledRules.match``
  after a warm-up pass), on the same rules and articles;
* ``dispatcher``: ``newsalert dispatcher`` alone draining a backlog of alerts to one
  subscription, then the same alerts fanned out to ``--fanout`` subscriptions;
* ``matcher``: ``newsalert matcher`` alone draining the articles topic to lag 0;
* ``run``: one ``newsalert run`` process, live: publish -> last webhook delivered.

Articles: ``--articles`` distinct Reuters-21578 articles (exact repeats dropped) from
``../shared/corpus`` (``$NEWSALERT_CORPUS_DIR``); skips cleanly when it is absent. Rules:
``newsalert.rules.generate.dense_generator`` (about 2 matches per article at 1,000 rules),
one subscription to every rule.

    .venv/bin/python bench/e2e.py                          # every phase, 10,000 articles
    .venv/bin/python bench/e2e.py --phases raw,dispatcher --alerts 20000
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gzip
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml
from aiokafka import AIOKafkaConsumer

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fastinbox import FastInbox

from newsalert import constants
from newsalert.config import load_config
from newsalert.kafka import ensure_topics, make_producer
from newsalert.models import Alert, Article, ArticleRef, RuleRef, alert_id
from newsalert.rules import Document
from newsalert.rules.generate import dense_generator
from newsalert.settings import Settings
from newsalert.stack import EmbeddedStack
from newsalert.stack.process import free_port

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("NEWSALERT_CORPUS_DIR", REPO.parent / "shared" / "corpus"))
NEWSALERT = str(Path(sys.executable).with_name("newsalert"))
SECRET = "whsec_" + base64.b64encode(b"newsalert-bench-secret-0123456789").decode()
_SAMPLE = re.compile(r"^(newsalert_[\w]+)(\{[^}]*\})?\s+(\S+)$")


def distinct_reuters(folder: Path, limit: int) -> list[bytes]:
    """The first ``limit`` Reuters records whose body was not seen before (raw JSON)."""
    records: list[bytes] = []
    bodies: set[bytes] = set()
    with gzip.open(folder / "reuters21578.jsonl.gz", "rb") as lines:
        for line in lines:
            line = line.strip()
            if not line:
                continue
            data = json.loads(line)
            digest = hashlib.blake2b(f"{data.get('title')}\n{data.get('body')}".encode()).digest()
            if digest in bodies:
                continue
            bodies.add(digest)
            records.append(line)
            if len(records) >= limit:
                break
    return records


#: ``max_in_flight`` of the bench's subscriptions (``None``: the default).
MAX_IN_FLIGHT: list[int | None] = [None]


def write_config(folder: Path, rules: list[dict[str, Any]], url: str, subs: int) -> Path:
    """Rules plus ``subs`` subscriptions to every rule, each on its own path."""
    extra = {} if MAX_IN_FLIGHT[0] is None else {"max_in_flight": MAX_IN_FLIGHT[0]}
    config = {
        "version": 1,
        "rules": rules,
        "subscriptions": [
            {"id": f"sub{n:02d}", "url": f"{url}/sub{n:02d}", "secret": SECRET, "rules": ["*"]}
            | extra
            for n in range(subs)
        ],
    }
    path = folder / f"config-{subs}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def settings_for(base: Settings, tag: str) -> Settings:
    """Fresh topics and Redis keys for one measurement."""
    return base.model_copy(update={"topic_prefix": f"{tag}.", "redis_prefix": f"na:{tag}:"})


def env_of(settings: Settings, src: str | None = None) -> dict[str, str]:
    """The environment a service process gets (``src``: run that tree's code instead)."""
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src
    env.update(
        NEWSALERT_KAFKA_BOOTSTRAP=settings.kafka_bootstrap,
        NEWSALERT_REDIS_URL=settings.redis_url,
        NEWSALERT_TOPIC_PREFIX=settings.topic_prefix,
        NEWSALERT_REDIS_PREFIX=settings.redis_prefix,
        NEWSALERT_WEBHOOK_ALLOW_NETWORKS="127.0.0.0/8",
        NEWSALERT_LOG_LEVEL="WARNING",
    )
    return env


async def publish(settings: Settings, topic: str, records: list[tuple[bytes, bytes]]) -> float:
    """Publish ``(key, value)`` records; seconds it took."""
    producer = make_producer(settings, linger_ms=5)
    await producer.start()
    started = time.perf_counter()
    try:
        futures = [await producer.send(topic, value=v, key=k) for k, v in records]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return time.perf_counter() - started


async def raw_consume(settings: Settings, topic: str, count: int) -> float:
    """Records/s of a plain aiokafka consumer reading and JSON-decoding ``topic``."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    seen = 0
    try:
        started: float | None = None
        while seen < count:
            batches = await consumer.getmany(timeout_ms=500, max_records=1000)
            if started is None and batches:
                started = time.perf_counter()
            for records in batches.values():
                for record in records:
                    json.loads(record.value or b"")
                    seen += 1
        assert started is not None
        return seen / (time.perf_counter() - started)
    finally:
        await consumer.stop()


def index_rate(config: Path, records: list[bytes]) -> tuple[float, float]:
    """Articles/s of normalise + match (warm), and matches per article."""
    compiled = load_config(config).rules.compile()
    articles = [Article.model_validate_json(r) for r in records]
    for article in articles[:500]:
        compiled.match(Document.from_article(article))
    started = time.perf_counter()
    matches = sum(len(compiled.match(Document.from_article(a))) for a in articles)
    return len(articles) / (time.perf_counter() - started), matches / len(articles)


class Service:
    """One ``newsalert <role>`` process with its API port."""

    def __init__(
        self, role: str, config: Path, settings: Settings, log: Path, src: str | None = None
    ) -> None:
        self.port = free_port()
        command = [NEWSALERT]
        profile = os.environ.get("NEWSALERT_BENCH_PROFILE")  # a folder: cProfile each process
        if profile:
            out_file = Path(profile) / f"{role}-{self.port}.prof"
            command = [sys.executable, "-m", "cProfile", "-o", str(out_file), "-m", "newsalert"]
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [*command, role, "--config", str(config), "--api-port", str(self.port)],
                env=env_of(settings, src),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.client = httpx.AsyncClient(timeout=5.0)
        self.spy: subprocess.Popen[bytes] | None = None
        self._role = role

    def sample(self) -> None:
        """With ``$NEWSALERT_BENCH_PYSPY`` (a folder): py-spy samples the process (wall clock)."""
        folder = os.environ.get("NEWSALERT_BENCH_PYSPY")
        if not folder:
            return
        out_file = Path(folder) / f"{self._role}-{self.port}.txt"
        spy = str(Path(sys.executable).with_name("py-spy"))
        self.spy = subprocess.Popen(
            [spy, "record", "--pid", str(self.process.pid), "--rate", "250", "--idle"]
            + ["--format", "raw", "-o", str(out_file)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    async def ready(self, timeout_s: float = 180.0) -> None:
        """Wait for ``/readyz`` 200."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"service exited with {self.process.returncode}")
            try:
                reply = await self.client.get(f"http://127.0.0.1:{self.port}/readyz")
                if reply.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
        raise SystemExit("service did not become ready")

    async def metrics(self) -> dict[str, float]:
        """The process's ``newsalert_*`` samples."""
        reply = await self.client.get(f"http://127.0.0.1:{self.port}/metrics")
        out: dict[str, float] = {}
        for line in reply.text.splitlines():
            found = _SAMPLE.match(line)
            if found:
                out[found.group(1) + (found.group(2) or "")] = float(found.group(3))
        return out

    async def stop(self) -> int:
        """SIGTERM, wait, exit code."""
        await self.client.aclose()
        if self.spy is not None:
            self.spy.send_signal(signal.SIGINT)  # py-spy writes its samples on SIGINT
            await asyncio.to_thread(self.spy.wait, 30)
        self.process.send_signal(signal.SIGTERM)
        return await asyncio.to_thread(self.process.wait, 90)


def make_alerts(count: int) -> list[tuple[bytes, bytes]]:
    """``count`` distinct alerts (1,000 rules, one story each), as alert-topic records."""
    now = datetime.now(UTC)
    out = []
    for n in range(count):
        rule, story = f"g{n % 1000:06d}", f"story-{n:07d}"
        alert = Alert(
            alert_id=alert_id(rule, story),
            rule=RuleRef(id=rule, title=f"rule {rule}"),
            article=ArticleRef(id=f"a{n}", title=f"Headline number {n}", url="https://x.test/a"),
            story_id=story,
            matched=["word", "other"],
            created_at=now,
        )
        out.append((story.encode(), alert.model_dump_json().encode()))
    return out


async def dispatcher_phase(
    base: Settings,
    folder: Path,
    inbox: FastInbox,
    alerts: int,
    subs: int,
    rules: list[dict[str, Any]],
    src: str | None = None,
) -> dict[str, Any]:
    """``newsalert dispatcher`` draining ``alerts`` alerts to ``subs`` subscriptions."""
    settings = settings_for(base, f"disp{subs}x{int(time.time())}")
    await ensure_topics(settings)
    config = write_config(folder, rules, inbox.url, subs)
    await publish(settings, settings.topic(constants.TOPIC_ALERTS), make_alerts(alerts))
    inbox.reset()
    service = Service("dispatcher", config, settings, folder / f"dispatcher-{subs}.log", src)
    expected = alerts * subs
    try:
        await service.ready()
        deadline = time.monotonic() + 600
        # Polling: the inbox is a plain counter with no event to wait on.
        while len(inbox.seen) < expected and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    finally:
        code = await service.stop()
    elapsed = (inbox.last_at or 0.0) - (inbox.first_at or 0.0)
    return {
        "subs": subs,
        "expected": expected,
        "distinct": len(inbox.seen),
        "requests": inbox.requests,
        "seconds": elapsed,
        "rate": len(inbox.seen) / elapsed if elapsed > 0 else 0.0,
        "exit": code,
    }


def consumed(metrics: dict[str, float]) -> float:
    """Articles the matcher finished, whatever the outcome."""
    return sum(v for k, v in metrics.items() if k.startswith("newsalert_articles_total{"))


async def service_phase(
    role: str,
    base: Settings,
    folder: Path,
    inbox: FastInbox,
    records: list[bytes],
    rules: list[dict[str, Any]],
    src: str | None,
) -> dict[str, Any]:
    """``newsalert matcher`` draining the topic (backlog), or ``newsalert run`` live."""
    settings = settings_for(base, f"{role}x{int(time.time() * 1000) % 10**9}")
    await ensure_topics(settings)
    config = write_config(folder, rules, inbox.url, 1)
    topic = settings.topic(constants.TOPIC_ARTICLES)
    keyed = [(json.loads(r)["id"].encode(), r) for r in records]
    if role == "matcher":
        await publish(settings, topic, keyed)
    inbox.reset()
    service = Service(role, config, settings, folder / f"{role}.log", src)
    started = lag_zero = delivered = None
    metrics: dict[str, float] = {}
    try:
        await service.ready()
        service.sample()
        if role == "run":
            await asyncio.sleep(3.0)  # consumer-group join and partition assignment
            started = time.perf_counter()
            await publish(settings, topic, keyed)
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            metrics = await service.metrics()
            if started is None:
                if consumed(metrics) == 0:
                    await asyncio.sleep(0.02)
                    continue
                started = time.perf_counter()
            now = time.perf_counter() - started
            if lag_zero is None and consumed(metrics) >= len(records):
                lag_zero = now
                if role == "matcher":
                    break
            alerts = metrics.get("newsalert_alerts_published_total", 0.0)
            if lag_zero is not None and len(inbox.seen) >= alerts:
                delivered = now
                break
            await asyncio.sleep(0.05)
    finally:
        code = await service.stop()
    return {
        "lag_zero_s": lag_zero,
        "delivered_s": delivered,
        "alerts": metrics.get("newsalert_alerts_published_total", 0.0),
        "webhooks": len(inbox.seen),
        "duplicates": metrics.get('newsalert_articles_total{outcome="duplicate"}', 0.0),
        "exit": code,
    }


async def main_async(args: argparse.Namespace) -> int:
    """Every requested phase on one embedded stack."""
    if not (args.corpus_dir / "reuters21578.jsonl.gz").exists():
        print(f"corpus not found in {args.corpus_dir}: nothing to measure (skipped)")
        return 0
    records = distinct_reuters(args.corpus_dir, args.articles)
    articles = [Article.model_validate_json(r) for r in records]
    phases = set(args.phases.split(","))
    results: dict[str, Any] = {"articles": len(records)}
    with tempfile.TemporaryDirectory(prefix="newsalert-e2e-") as tmp:
        folder = Path(tmp)
        rules = dense_generator(articles, seed=args.seed).rules(args.rules)
        rules_path = folder / "rules.yaml"
        rules_path.write_text(yaml.safe_dump({"version": 1, "rules": rules}, sort_keys=False))
        stack = EmbeddedStack(folder / "stack")
        info = stack.up()
        inbox = FastInbox()
        await inbox.start()
        try:
            base = Settings(kafka_bootstrap=info.kafka_bootstrap, redis_url=info.redis_url)
            ref = settings_for(base, f"raw{int(time.time())}")
            await ensure_topics(ref)
            topic = ref.topic(constants.TOPIC_ARTICLES)
            keyed = [(json.loads(r)["id"].encode(), r) for r in records]
            await publish(ref, topic, keyed)
            results["raw"] = await raw_consume(ref, topic, len(records))
            print(f"raw consume: {results['raw']:,.0f} records/s", flush=True)
            if "index" in phases:
                rate, per = index_rate(rules_path, records)
                results["index"], results["matches_per_article"] = rate, per
                print(f"index: {rate:,.0f} articles/s, {per:.2f} matches/article", flush=True)
            trees = [None] if args.compare_src is None else [args.compare_src, None] * 2
            if "dispatcher" in phases:
                for subs in (1, args.fanout):
                    for src in trees:
                        alerts = args.alerts if subs == 1 else max(1, args.alerts // subs)
                        run = await dispatcher_phase(base, folder, inbox, alerts, subs, rules, src)
                        label = "before" if src else "this tree"
                        results.setdefault(f"dispatcher{subs}", {})[label] = run
                        print(
                            f"dispatcher ({label}), {subs} subscription(s): {run['distinct']}/"
                            f"{run['expected']} webhooks in {run['seconds']:.2f}s = "
                            f"{run['rate']:,.0f}/s ({run['requests']} requests, "
                            f"exit {run['exit']})",
                            flush=True,
                        )
            for role in ("matcher", "run"):
                if role not in phases:
                    continue
                for src in trees:
                    run = await service_phase(role, base, folder, inbox, records, rules, src)
                    label = "before" if src else "this tree"
                    results.setdefault(role, {})[label] = run
                    clock = run["lag_zero_s"] if role == "matcher" else run["delivered_s"]
                    rate = len(records) / clock if clock else 0.0
                    hooks = run["webhooks"] / clock if clock and role == "run" else 0.0
                    print(
                        f"{role} ({label}): lag 0 after {run['lag_zero_s']}s, last webhook after "
                        f"{run['delivered_s']}s: {rate:,.0f} articles/s, {hooks:,.0f} webhooks/s; "
                        f"alerts {run['alerts']:.0f}, webhooks {run['webhooks']}, "
                        f"repeats {run['duplicates']:.0f}, exit {run['exit']}",
                        flush=True,
                    )
        finally:
            await inbox.stop()
            stack.down()
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


def main() -> int:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=10_000, help="distinct Reuters articles")
    parser.add_argument("--rules", type=int, default=1000, help="generated rules")
    parser.add_argument("--seed", type=int, default=42, help="rule generator seed")
    parser.add_argument("--alerts", type=int, default=20_000, help="dispatcher backlog")
    parser.add_argument("--fanout", type=int, default=20, help="subscriptions in fan-out")
    parser.add_argument(
        "--phases", default="raw,index,dispatcher,matcher,run", help="comma-separated phases"
    )
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    parser.add_argument(
        "--compare-src",
        help="PYTHONPATH of a baseline tree (e.g. an exported commit's services/): the "
        "dispatcher runs alternate between it and this tree",
    )
    parser.add_argument("--corpus-dir", type=Path, default=CORPUS, help="corpus folder")
    parser.add_argument("--max-in-flight", type=int, help="the subscriptions' max_in_flight")
    args = parser.parse_args()
    MAX_IN_FLIGHT[0] = args.max_in_flight
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
