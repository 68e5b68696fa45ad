"""Benchmark the product paths against the raw Kafka consume of the same topic, in one run.

Starts the embedded stack (tansu + Redis) and a fast local webhook receiver
(``bench/fastinbox.py``), then measures, each on fresh topics and Redis prefix:

* ``raw``: a plain aiokafka consumer reading and JSON-decoding the articles topic (the
  reference for every other figure);
* ``index``: the rule index alone in this process (normalise + ``CompiledRules.match``
  after a warm-up pass), on the same rules and articles;
* ``dispatcher``: ``newsalert dispatcher`` alone draining a backlog of alerts to one
  subscription, then the same alerts fanned out to ``--fanout`` subscriptions;
* ``matcher``: ``newsalert matcher`` alone draining the articles topic to lag 0, with its
  CPU time and Redis's (``INFO cpu``) and Redis commands (``INFO commandstats``) per article;
* ``run``: one ``newsalert run`` process, live: publish -> last webhook delivered;
* ``latency``: one ``newsalert run`` process fed a steady ``--latency-rate`` articles/s for
  ``--latency-seconds``; p50/p95/p99 from each article's publish to each of its webhooks
  arriving (the receiver reads the article id in the payload; one clock, this process);
* ``scale``: one vs two ``newsalert matcher`` processes in one group on the 3-partition
  articles topic (backlog published once the group settled, timed to lag 0), then one vs
  two ``newsalert dispatcher`` processes on an alerts backlog (timed to the last webhook),
  with Redis commands and CPU per delivery.

The run ends with the issue's table: every figure measured, against its target, with
the raw consume of the same run as the reference.

Articles: ``--articles`` Reuters-21578 articles (skips without the corpus); rules from
``tests.rule_generator.dense_generator``, one subscription to each.

    .venv/bin/python bench/e2e.py                          # every phase, 10,000 articles
    .venv/bin/python bench/e2e.py --phases raw,dispatcher --alerts 20000
    .venv/bin/python bench/e2e.py --articles 3000 --phases raw,index,matcher,latency,scale

``NEWSALERT_BENCH_PROFILE=DIR`` runs each service under cProfile; ``NEWSALERT_BENCH_PYSPY=DIR``
samples each (wall clock, idle included) with ``py-spy`` (``pip install py-spy``);
``NEWSALERT_BENCH_PYINSTRUMENT=DIR`` runs each under ``pyinstrument`` (``pip install
pyinstrument``; a call tree with wall time per frame, for where py-spy cannot attach).
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
from redis.asyncio import Redis

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.rule_generator

from fastinbox import FastInbox
from tests.rule_generator import dense_generator

from newsalert import constants
from newsalert.config import load_config
from newsalert.kafka import ensure_topics, make_producer
from newsalert.models import Alert, Article, ArticleRef, RuleRef, alert_id
from newsalert.rules import Document
from newsalert.settings import Settings
from newsalert.stack import EmbeddedStack
from newsalert.stack.process import free_port
from newsalert.text import Stemmer

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("NEWSALERT_CORPUS_DIR", REPO.parent / "shared" / "corpus"))
NEWSALERT = str(Path(sys.executable).with_name("newsalert"))
SECRET = "whsec_" + base64.b64encode(b"newsalert-bench-secret-0123456789").decode()
_SAMPLE = re.compile(r"^(newsalert_[\w]+)(\{[^}]*\})?\s+(\S+)$")
_TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")


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
    stemmer = Stemmer()  # one for the run, as the matcher's pipeline keeps one
    for article in articles[:500]:
        compiled.match(Document.from_article(article, stemmer))
    started = time.perf_counter()
    matches = sum(len(compiled.match(Document.from_article(a, stemmer))) for a in articles)
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
        sampled = os.environ.get("NEWSALERT_BENCH_PYINSTRUMENT")  # a folder: sample each process
        if sampled:
            out_file = Path(sampled) / f"{role}-{self.port}.txt"
            instrument = str(Path(sys.executable).with_name("pyinstrument"))
            command = [instrument, "-i", "0.0005", "-r", "text", "--show-all", "-o", str(out_file)]
            command += ["-m", "newsalert"]
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
            [
                spy,
                "record",
                "--pid",
                str(self.process.pid),
                "--rate",
                "250",
                "--idle",
                "--format",
                "raw",
                "-o",
                str(out_file),
            ],
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

    def cpu_s(self) -> float:
        """CPU seconds (user + system) the process has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * _TICK_S

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


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def dispatcher_phase(
    base: Settings,
    folder: Path,
    inbox: FastInbox,
    alerts: int,
    subs: int,
    rules: list[dict[str, Any]],
    src: str | None = None,
    meter: RedisMeter | None = None,
) -> dict[str, Any]:
    """``newsalert dispatcher`` draining ``alerts`` alerts to ``subs`` subscriptions
    (with ``meter``: Redis's commands and CPU over the same span)."""
    settings = settings_for(base, f"disp{subs}x{int(time.time())}")
    await ensure_topics(settings)
    config = write_config(folder, rules, inbox.url, subs)
    await publish(settings, settings.topic(constants.TOPIC_ALERTS), make_alerts(alerts))
    inbox.reset()
    service = Service("dispatcher", config, settings, folder / f"dispatcher-{subs}.log", src)
    expected = alerts * subs
    cpu_s = 0.0
    redis_use: dict[str, Any] = {}
    try:
        await service.ready()
        cpu_at_ready = process_cpu_s(service.process.pid)
        if meter is not None:
            await meter.mark()
        deadline = time.monotonic() + 600
        # Polling: the inbox is a plain counter with no event to wait on.
        while len(inbox.seen) < expected and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        cpu_s = process_cpu_s(service.process.pid) - cpu_at_ready
        if meter is not None:
            redis_use = await meter.since()
    finally:
        code = await service.stop()
    elapsed = (inbox.last_at or 0.0) - (inbox.first_at or 0.0)
    return {
        "cpu_s": cpu_s,
        "cpu_us_per_webhook": cpu_s / len(inbox.seen) * 1e6 if inbox.seen else 0.0,
        "redis": redis_use,
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
    meter: RedisMeter,
) -> dict[str, Any]:
    """``newsalert matcher`` draining the topic (backlog), or ``newsalert run`` live; with
    the process's CPU time and Redis's use up to lag 0."""
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
    cpu_s = 0.0
    redis_use: dict[str, Any] = {}
    try:
        await service.ready()
        service.sample()
        cpu_s = service.cpu_s()
        await meter.mark()
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
                cpu_s = service.cpu_s() - cpu_s
                redis_use = await meter.since()
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
        "cpu_s_to_lag_zero": cpu_s,
        "redis_to_lag_zero": redis_use,
        "exit": code,
    }


class RedisMeter:
    """Redis's command counts (``INFO commandstats``) and CPU (``INFO cpu``) between marks.

    Commands a script runs count in commandstats as well as the ``EVALSHA`` itself:
    ``calls`` is every command Redis executed, ``round_trips`` those a client sent.
    """

    def __init__(self, url: str) -> None:
        self._client = Redis.from_url(url)
        self._calls: dict[str, int] = {}
        self._cpu = 0.0

    async def _read(self) -> tuple[dict[str, int], float]:
        stats = await self._client.info("commandstats")
        cpu = await self._client.info("cpu")
        calls = {
            name.removeprefix("cmdstat_"): int(value["calls"])
            for name, value in stats.items()
            if not name.startswith(("cmdstat_info", "cmdstat_ping"))
        }
        return calls, float(cpu["used_cpu_sys"]) + float(cpu["used_cpu_user"])

    async def mark(self) -> None:
        """Start counting from now."""
        self._calls, self._cpu = await self._read()

    async def since(self) -> dict[str, Any]:
        """Commands (by name) and Redis CPU seconds since :meth:`mark`."""
        calls, cpu = await self._read()
        delta = {k: v - self._calls.get(k, 0) for k, v in calls.items()}
        delta = {k: v for k, v in sorted(delta.items(), key=lambda kv: -kv[1]) if v > 0}
        scripts = sum(v for k, v in delta.items() if k in ("evalsha", "eval", "fcall"))
        inner = sum(v for k, v in delta.items() if k not in ("evalsha", "eval", "fcall"))
        return {"commands": delta, "calls": inner + scripts, "cpu_s": cpu - self._cpu}

    async def aclose(self) -> None:
        """Close the connection."""
        await self._client.aclose()


def per(value: float, count: float) -> float:
    """``value / count`` (0 when nothing was counted)."""
    return value / count if count else 0.0


def quantile(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] if ordered else 0.0


async def latency_phase(
    base: Settings,
    folder: Path,
    inbox: FastInbox,
    records: list[bytes],
    rules: list[dict[str, Any]],
    rate: float,
    seconds: float,
    role: str = "run",
) -> dict[str, Any]:
    """One ``newsalert <role>`` fed ``rate`` articles/s: publish -> each webhook (``run``)
    and publish -> each alert on the alerts topic, in seconds.

    A few articles from the end of ``records`` go first, until their webhooks arrive, so
    group joins and connections are behind us; the measured ones are the first
    ``rate * seconds`` (fewer when the corpus is smaller).
    """
    settings = settings_for(base, f"latx{int(time.time() * 1000) % 10**9}")
    await ensure_topics(settings)
    config = write_config(folder, rules, inbox.url, 1)
    topic = settings.topic(constants.TOPIC_ARTICLES)
    keyed = [(json.loads(r)["id"], r) for r in records]
    warm, measured = keyed[-20:], keyed[: min(len(keyed) - 20, int(rate * seconds))]
    inbox.reset()
    inbox.bodies = []
    service = Service(role, config, settings, folder / f"latency-{role}.log")
    producer = make_producer(settings)
    sent: dict[str, float] = {}
    alerted: list[tuple[float, str]] = []  # (arrival on the alerts topic, article id)
    watcher = asyncio.create_task(watch_alerts(settings, alerted), name="bench-alerts-watcher")
    try:
        await service.ready()
        await producer.start()
        for key, value in warm:
            await producer.send(topic, value=value, key=key.encode())
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            metrics = await service.metrics()
            alerts = metrics.get("newsalert_alerts_published_total", 1.0)
            hooks = len(inbox.seen) if role == "run" else len(alerted)
            if consumed(metrics) >= len(warm) and hooks >= alerts:
                break
            await asyncio.sleep(0.1)
        inbox.reset()
        alerted.clear()
        warm_alerts = (await service.metrics()).get("newsalert_alerts_published_total", 0.0)
        service.sample()
        futures = []
        started = time.perf_counter()
        for n, (key, value) in enumerate(measured):
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent[key] = time.perf_counter()
            futures.append(await producer.send(topic, value=value, key=key.encode()))
        await asyncio.gather(*futures)
        publish_s = time.perf_counter() - started
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            metrics = await service.metrics()
            alerts = metrics.get("newsalert_alerts_published_total", 0.0) - warm_alerts
            hooks = len(inbox.seen) if role == "run" else len(alerted)
            if consumed(metrics) >= len(warm) + len(measured) and hooks >= alerts:
                break
            await asyncio.sleep(0.1)
    finally:
        watcher.cancel()
        await producer.stop()
        code = await service.stop()
    matched = [arrived - sent[key] for arrived, key in alerted if key in sent]
    latencies: list[float] = []
    for arrived, body in inbox.bodies or []:
        published = sent.get(json.loads(body)["data"]["article"]["id"])
        if published is not None:
            latencies.append(arrived - published)
    inbox.bodies = None
    return {
        "role": role,
        "articles": len(measured),
        "rate": len(measured) / publish_s if publish_s else 0.0,
        "webhooks": len(latencies),
        "p50_ms": 1000 * quantile(latencies, 0.50),
        "p95_ms": 1000 * quantile(latencies, 0.95),
        "p99_ms": 1000 * quantile(latencies, 0.99),
        "max_ms": 1000 * max(latencies, default=0.0),
        "alert_p50_ms": 1000 * quantile(matched, 0.50),
        "alert_p99_ms": 1000 * quantile(matched, 0.99),
        "exit": code,
    }


async def watch_alerts(settings: Settings, alerted: list[tuple[float, str]]) -> None:
    """Append ``(arrival, article id)`` for every alert on the alerts topic, until cancelled
    (where the matcher's share of the latency ends)."""
    consumer = AIOKafkaConsumer(
        settings.topic(constants.TOPIC_ALERTS),
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=10,
    )
    await consumer.start()
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=100)
            now = time.perf_counter()
            for records in batches.values():
                alerted += [(now, json.loads(r.value or b"")["article"]["id"]) for r in records]
    finally:
        await consumer.stop()


async def settle(services: list[Service], seconds: float) -> None:
    """Every process ready, then ``seconds`` for the consumer group to settle."""
    await asyncio.gather(*(service.ready() for service in services))
    await asyncio.sleep(seconds)


async def scale_matchers(
    base: Settings,
    folder: Path,
    inbox: FastInbox,
    records: list[bytes],
    rules: list[dict[str, Any]],
    count: int,
    meter: RedisMeter,
) -> dict[str, Any]:
    """``count`` matcher processes in one group: backlog published after the group settled,
    timed from the first publish to lag 0 (every article consumed by one of them)."""
    settings = settings_for(base, f"scm{count}x{int(time.time() * 1000) % 10**9}")
    await ensure_topics(settings)
    config = write_config(folder, rules, inbox.url, 1)
    topic = settings.topic(constants.TOPIC_ARTICLES)
    keyed = [(json.loads(r)["id"].encode(), r) for r in records]
    services = [
        Service("matcher", config, settings, folder / f"scale-matcher{count}-{n}.log")
        for n in range(count)
    ]
    counts: list[float] = []
    cpu: list[float] = []
    elapsed = None
    try:
        await settle(services, 8.0)
        cpu = [service.cpu_s() for service in services]
        await meter.mark()
        started = time.perf_counter()
        await publish(settings, topic, keyed)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            counts = [consumed(await service.metrics()) for service in services]
            if sum(counts) >= len(records):
                elapsed = time.perf_counter() - started
                break
            await asyncio.sleep(0.05)
        cpu = [service.cpu_s() - before for service, before in zip(services, cpu, strict=True)]
        redis_use = await meter.since()
    finally:
        codes = [await service.stop() for service in services]
    return {
        "processes": count,
        "seconds": elapsed,
        "rate": len(records) / elapsed if elapsed else 0.0,
        "per_process": counts,
        "cpu_s": cpu,
        "redis": redis_use,
        "exit": codes,
    }


async def scale_dispatchers(
    base: Settings,
    folder: Path,
    inbox: FastInbox,
    rules: list[dict[str, Any]],
    alerts: int,
    count: int,
    meter: RedisMeter,
) -> dict[str, Any]:
    """``count`` dispatcher processes on one subscription: an alerts backlog published after
    the group settled, timed from the first publish to the last webhook."""
    settings = settings_for(base, f"scd{count}x{int(time.time() * 1000) % 10**9}")
    await ensure_topics(settings)
    config = write_config(folder, rules, inbox.url, 1)
    services = [
        Service("dispatcher", config, settings, folder / f"scale-dispatcher{count}-{n}.log")
        for n in range(count)
    ]
    inbox.reset()
    elapsed = None
    try:
        await settle(services, 8.0)
        cpu = [service.cpu_s() for service in services]
        await meter.mark()
        started = time.perf_counter()
        await publish(settings, settings.topic(constants.TOPIC_ALERTS), make_alerts(alerts))
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if len(inbox.seen) >= alerts:
                elapsed = (inbox.last_at or 0.0) - started
                break
            await asyncio.sleep(0.05)
        cpu = [service.cpu_s() - before for service, before in zip(services, cpu, strict=True)]
        redis_use = await meter.since()
    finally:
        codes = [await service.stop() for service in services]
    return {
        "processes": count,
        "seconds": elapsed,
        "delivered": len(inbox.seen),
        "rate": len(inbox.seen) / elapsed if elapsed else 0.0,
        "cpu_s": cpu,
        "redis": redis_use,
        "exit": codes,
    }


def resources_line(role: str, run: dict[str, Any], articles: int) -> str:
    """The process's CPU and Redis's use per article up to lag 0."""
    used = run["redis_to_lag_zero"]
    return (
        f"  to lag 0: {role} CPU {1e6 * per(run['cpu_s_to_lag_zero'], articles):,.0f} µs/article;"
        f" Redis {per(used.get('calls', 0), articles):.1f} commands and "
        f"{1e6 * per(used.get('cpu_s', 0.0), articles):,.0f} µs CPU per article "
        f"({used.get('commands')})"
    )


def latency_line(lat: dict[str, Any]) -> str:
    """The latency phase in one line (a matcher alone delivers no webhooks: only its
    publish -> alert figures)."""
    head = f"latency, newsalert {lat['role']} at {lat['rate']:,.0f} articles/s"
    topic = (
        f"on the alerts topic p50 {lat['alert_p50_ms']:.0f} ms, "
        f"p99 {lat['alert_p99_ms']:.0f} ms; exit {lat['exit']}"
    )
    if not lat["webhooks"]:
        return f"{head} ({lat['articles']} articles): {topic}"
    return (
        f"{head} ({lat['articles']} articles, {lat['webhooks']} webhooks): "
        f"p50 {lat['p50_ms']:.0f} ms, p95 {lat['p95_ms']:.0f} ms, "
        f"p99 {lat['p99_ms']:.0f} ms, max {lat['max_ms']:.0f} ms; {topic}"
    )


def scale_line(role: str, one: dict[str, Any], expected: int) -> str:
    """One scale measurement in one line."""
    used = one["redis"]
    done = one.get("delivered", expected)
    unit = "webhooks" if role == "dispatcher" else "articles"
    split = f", consumed {one['per_process']}" if "per_process" in one else ""
    return (
        f"{one['processes']} {role}(s): {done}/{expected} {unit}, {one['rate']:,.0f}/s{split}; "
        f"CPU s {[round(c, 1) for c in one['cpu_s']]}; Redis {per(used.get('calls', 0), done):.1f}"
        f" commands and {1e6 * per(used.get('cpu_s', 0.0), done):,.0f} µs CPU per "
        f"{unit[:-1]} ({used.get('commands')}); exit {one['exit']}"
    )


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
        meter = RedisMeter(info.redis_url)
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
                        run = await dispatcher_phase(
                            base, folder, inbox, alerts, subs, rules, src, meter
                        )
                        label = "before" if src else "this tree"
                        results.setdefault(f"dispatcher{subs}", {})[label] = run
                        hooks = max(1, run["distinct"])
                        print(
                            f"dispatcher ({label}), {subs} subscription(s): {run['distinct']}/"
                            f"{run['expected']} webhooks in {run['seconds']:.2f}s = "
                            f"{run['rate']:,.0f}/s ({run['requests']} requests, "
                            f"{run['cpu_us_per_webhook']:,.0f} µs dispatcher CPU per webhook, "
                            f"exit {run['exit']}); Redis per webhook "
                            f"{run['redis'].get('calls', 0) / hooks:.1f} commands, "
                            f"{1e6 * run['redis'].get('cpu_s', 0.0) / hooks:,.0f} µs CPU "
                            f"({run['redis'].get('commands')})",
                            flush=True,
                        )
            for role in ("matcher", "run"):
                if role not in phases:
                    continue
                for src in trees:
                    run = await service_phase(role, base, folder, inbox, records, rules, src, meter)
                    label = "before" if src else "this tree"
                    results.setdefault(role, {})[label] = run
                    clock = run["lag_zero_s"] if role == "matcher" else run["delivered_s"]
                    rate = len(records) / clock if clock else 0.0
                    hooks = run["webhooks"] / clock if clock and role == "run" else 0.0
                    lag_zero = run["lag_zero_s"]
                    lag = "never" if lag_zero is None else f"after {lag_zero:.1f}s"
                    delivered = (
                        f", last webhook after {run['delivered_s']:.1f}s"
                        if role == "run" and run["delivered_s"] is not None
                        else ""
                    )
                    hooks_text = (
                        f", {hooks:,.0f} webhooks/s; alerts {run['alerts']:.0f}, "
                        f"webhooks {run['webhooks']}"
                        if role == "run"
                        else f"; alerts {run['alerts']:.0f}"
                    )
                    print(
                        f"{role} ({label}): lag 0 {lag}{delivered}: {rate:,.0f} articles/s"
                        f"{hooks_text}, repeats {run['duplicates']:.0f}, exit {run['exit']}",
                        flush=True,
                    )
                    print(resources_line(role, run, len(records)), flush=True)
            if "latency" in phases:
                for role in ("matcher", "run"):
                    lat = await latency_phase(
                        base,
                        folder,
                        inbox,
                        records,
                        rules,
                        args.latency_rate,
                        args.latency_seconds,
                        role,
                    )
                    results["latency" if role == "run" else "latency_matcher"] = lat
                    print(latency_line(lat), flush=True)
            if "scale" in phases:
                for count in (1, 2):
                    one = await scale_matchers(base, folder, inbox, records, rules, count, meter)
                    results.setdefault("scale_matchers", []).append(one)
                    print(scale_line("matcher", one, len(records)), flush=True)
                for count in (1, 2):
                    one = await scale_dispatchers(
                        base, folder, inbox, rules, args.alerts, count, meter
                    )
                    results.setdefault("scale_dispatchers", []).append(one)
                    print(scale_line("dispatcher", one, args.alerts), flush=True)
        finally:
            await meter.aclose()
            await inbox.stop()
            stack.down()
    print_table(results)
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


def _ours(results: dict[str, Any], key: str) -> dict[str, Any] | None:
    runs = results.get(key)
    return runs.get("this tree") if isinstance(runs, dict) else None


def print_table(results: dict[str, Any]) -> None:
    """The issue's table: what this run measured, against the targets."""
    raw, count = results.get("raw", 0.0), results["articles"]
    rows: list[tuple[str, str, str]] = [
        ("raw consume of the articles topic (reference)", f"{raw:,.0f} records/s", "")
    ]
    index = results.get("index")
    if index:
        rows.append(
            (
                "the index alone (normalise + match, warm)",
                f"{index:,.0f} articles/s ({results['matches_per_article']:.2f} matches/article)",
                "",
            )
        )
    for subs in sorted(int(k[10:]) for k in results if k.startswith("dispatcher")):
        run = _ours(results, f"dispatcher{subs}")
        if run:
            label = "1 subscription" if subs == 1 else f"{subs} subscriptions (fan-out)"
            rows.append(
                (
                    f"`newsalert dispatcher` alone, {label}",
                    f"{run['rate']:,.0f} webhooks/s",
                    "≥ 5,000 webhooks/s",
                )
            )
    matcher = _ours(results, "matcher")
    if matcher and matcher["lag_zero_s"]:
        rate = count / matcher["lag_zero_s"]
        ratio = f", {per(rate, index):.2f} of the index" if index else ""
        rows.append(
            (
                "`newsalert matcher` alone, to lag 0",
                f"{rate:,.0f} articles/s{ratio}",
                "≥ 50 % of the index",
            )
        )
    run = _ours(results, "run")
    if run and run["delivered_s"]:
        rate = count / run["delivered_s"]
        rows.append(
            (
                "one `newsalert run`, publish → last webhook",
                f"{rate:,.0f} articles/s, {per(run['webhooks'], run['delivered_s']):,.0f} "
                f"webhooks/s, {per(rate, raw):.4f} of raw",
                "≥ 2,000 articles/s and ≥ 10 % of raw"
                + (
                    f" (10 % of raw, {raw / 10:,.0f}/s, is more than the index alone does)"
                    if raw and index and raw / 10 > index
                    else ""
                ),
            )
        )
    lat = results.get("latency")
    if lat:
        rows.append(
            (
                f"latency at a steady {lat['rate']:,.0f} articles/s, publish → webhook",
                f"p50 {lat['p50_ms']:.0f} ms, p95 {lat['p95_ms']:.0f} ms, p99 "
                f"{lat['p99_ms']:.0f} ms ({lat['webhooks']} webhooks; publish → alert on the "
                f"topic p50 {lat['alert_p50_ms']:.0f} ms, p99 {lat['alert_p99_ms']:.0f} ms)",
                "p50 ≤ 50 ms, p99 ≤ 250 ms",
            )
        )
    alone = results.get("latency_matcher")
    if alone:
        rows.append(
            (
                f"`newsalert matcher` alone at {alone['rate']:,.0f} articles/s, publish → alert "
                "on the topic",
                f"p50 {alone['alert_p50_ms']:.0f} ms, p99 {alone['alert_p99_ms']:.0f} ms",
                "",
            )
        )
    for kind, unit in (("matchers", "articles/s"), ("dispatchers", "webhooks/s")):
        scale = results.get(f"scale_{kind}")
        if scale and len(scale) == 2:
            one, two = scale
            rows.append(
                (
                    f"a second {kind[:-1]} process",
                    f"1: {one['rate']:,.0f}, 2: {two['rate']:,.0f} {unit} "
                    f"(×{per(two['rate'], one['rate']):.2f})",
                    "adds, does not contend",
                )
            )
    redis_rows(results, rows)
    print("\n| path | this run | target |\n|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def redis_rows(results: dict[str, Any], rows: list[tuple[str, str, str]]) -> None:
    """Redis commands and CPU per article (matcher) and per delivery (dispatcher), and the
    rate at which they would take all of one Redis core."""
    matcher = _ours(results, "matcher")
    scale = results.get("scale_dispatchers")
    article = delivery = None
    if matcher and matcher["redis_to_lag_zero"]:
        used = matcher["redis_to_lag_zero"]
        article = per(used["cpu_s"], results["articles"])
        rows.append(
            (
                "Redis per article (matcher)",
                f"{per(used['calls'], results['articles']):.1f} commands, "
                f"{1e6 * article:,.0f} µs CPU",
                "",
            )
        )
    if scale:
        used, delivered = scale[0]["redis"], scale[0]["delivered"]
        delivery = per(used["cpu_s"], delivered)
        rows.append(
            (
                "Redis per delivery (dispatcher)",
                f"{per(used['calls'], delivered):.1f} commands, {1e6 * delivery:,.0f} µs CPU",
                "",
            )
        )
    if article and delivery is not None:
        hooks = per(matcher["alerts"], results["articles"]) if matcher else 0.0
        cost = article + hooks * delivery
        rows.append(
            (
                "ceiling of one Redis core (this workload)",
                f"{per(1.0, cost):,.0f} articles/s at {hooks:.2f} deliveries per article",
                "",
            )
        )


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
        "--phases",
        default="raw,index,dispatcher,matcher,run,latency,scale",
        help="comma-separated phases",
    )
    parser.add_argument(
        "--latency-rate", type=float, default=200.0, help="articles/s of the latency phase"
    )
    parser.add_argument(
        "--latency-seconds", type=float, default=30.0, help="length of the latency phase"
    )
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    parser.add_argument(
        "--compare-src",
        help="PYTHONPATH of a baseline tree (e.g. an exported commit's services/): the "
        "dispatcher, matcher and run phases alternate between it and this tree",
    )
    parser.add_argument("--corpus-dir", type=Path, default=CORPUS, help="corpus folder")
    parser.add_argument("--max-in-flight", type=int, help="the subscriptions' max_in_flight")
    args = parser.parse_args()
    MAX_IN_FLIGHT[0] = args.max_in_flight
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
