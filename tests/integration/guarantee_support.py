"""Helpers for the guarantee tests (no tests here): generated stories, service processes.

The guarantee tests run ``newsalert matcher|dispatcher|run`` as real processes, feed them
articles that each start a distinct story and match a known rule, and compare what a
real HTTP receiver got with the exact set of deliveries the input implies.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook

from newsalert import constants
from newsalert.dedupe import story_id_for
from newsalert.kafka import make_producer, send_all
from newsalert.models import Article, delivery_id
from newsalert.receiver import ReceivedRequest, WebhookInbox
from newsalert.settings import Settings
from newsalert.stack.process import free_port
from tests.integration.sentinel import Sentinels, settle

NEWSALERT = str(Path(sys.executable).with_name("newsalert"))
#: The API read token of the service processes the tests start.
READ_TOKEN = "guarantee-read-token-0123456789"

#: rule id -> (phrase that fires it, tags)
RULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "port-strike": ("port strike", ("trade",)),
    "summit-talks": ("summit talks", ("politics",)),
    "river-flood": ("river flood", ()),
}
#: subscription id -> (webhook path, rule selector)
SUBSCRIPTIONS: dict[str, tuple[str, str]] = {
    "all-desk": ("/all", "*"),
    "politics-desk": ("/politics", "tag:politics"),
}
EXTRA_RULE = ("glacier-melt", "glacier melt")


def config_yaml(url: str, secret: str, *, extra_rule: bool = False) -> str:
    """The rules + subscriptions file (optionally with :data:`EXTRA_RULE`)."""
    lines = ["version: 1", "rules:"]
    rules = [(rule_id, phrase, tags) for rule_id, (phrase, tags) in RULES.items()]
    if extra_rule:
        rules.append((EXTRA_RULE[0], EXTRA_RULE[1], ()))
    for rule_id, phrase, tags in rules:
        lines += [f"  - id: {rule_id}", f"    all: [{json.dumps(phrase)}]"]
        if tags:
            lines.append(f"    tags: [{', '.join(tags)}]")
    lines.append("subscriptions:")
    for sub_id, (path, selector) in SUBSCRIPTIONS.items():
        lines += [
            f"  - id: {sub_id}",
            f"    url: {url}{path}",
            f"    secret: {secret}",
            f"    rules: [{json.dumps(selector)}]",
        ]
    return "\n".join(lines) + "\n"


_SYLLABLES = [
    "ba", "ko", "ri", "mu", "te", "lan", "dor", "vi", "sel", "qua", "ny", "zo", "pe",
    "gu", "ash", "em", "ol", "fi", "ra", "tho", "ck", "und", "bel", "xa", "mir", "jo",
]  # fmt: skip


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))


def _sentence(rng: random.Random, words: int = 9, middle: str | None = None) -> str:
    parts = [_word(rng) for _ in range(words)]
    if middle is not None:
        parts.insert(words // 2, middle)
    return " ".join(parts).capitalize() + "."


def make_articles(
    count: int,
    rule_ids: Sequence[str],
    *,
    seed: int,
    tag: str,
    start: int = 0,
    phrases: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """``count`` articles, each a distinct story firing ``rule_ids[i % len]`` (and no other).

    Bodies are random pseudo-words (no real word, so no other rule fires) around the
    rule's phrase (from :data:`RULES`, or ``phrases`` for rules of another config); four
    random sentences keep any two articles far from near-duplicates.
    """
    phrases = {
        **{rid: phrase for rid, (phrase, _tags) in RULES.items()},
        EXTRA_RULE[0]: EXTRA_RULE[1],
        **(phrases or {}),
    }
    rng = random.Random(seed)
    base = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
    out = []
    for n in range(start, start + count):
        rule_id = rule_ids[n % len(rule_ids)]
        sentences = [_sentence(rng) for _ in range(4)]
        sentences.insert(2, _sentence(rng, 8, phrases[rule_id]))
        out.append(
            {
                "id": f"{tag}-{n}",
                "title": f"{_word(rng).capitalize()} {_word(rng)} {n}",
                "body": " ".join(sentences),
                "url": f"https://wire.example.org/{tag}/{n}",
                "source": "Guarantee Wire",
                "language": "en",
                "published_at": (base + timedelta(seconds=n)).isoformat(),
                "expect_rule": rule_id,
            }
        )
    return out


def expected_deliveries(articles: Iterable[dict[str, Any]]) -> set[tuple[str, str]]:
    """``(path, webhook-id)`` of every delivery the articles must produce, exactly once."""
    out: set[tuple[str, str]] = set()
    for raw in articles:
        rule_id = raw["expect_rule"]
        tags = RULES[rule_id][1] if rule_id in RULES else ()
        story = story_id_for(Article.model_validate(raw))
        for sub_id, (path, selector) in SUBSCRIPTIONS.items():
            if selector == "*" or selector.removeprefix("tag:") in tags:
                out.add((path, delivery_id(sub_id, rule_id, story)))
    return out


def delivery_counts(received: Sequence[ReceivedRequest], secret: str) -> Counter[tuple[str, str]]:
    """How often each ``(path, webhook-id)`` arrived; every signature is verified."""
    verifier = Webhook(secret)
    counts: Counter[tuple[str, str]] = Counter()
    for request in received:
        verifier.verify(request.body, request.headers)  # raises on a bad signature
        counts[(request.path, request.headers["webhook-id"])] += 1
    return counts


async def publish_articles(
    settings: Settings, articles: Sequence[dict[str, Any]], *, pace_s: float = 0.0
) -> None:
    """Put ``articles`` on the articles topic keyed by id; ``pace_s`` between records."""
    producer = make_producer(settings)
    await producer.start()
    topic = settings.topic(constants.TOPIC_ARTICLES)
    try:
        for raw in articles:
            value = json.dumps(raw).encode()
            await send_all(producer, [(topic, str(raw["id"]).encode(), value, None)])
            if pace_s:
                await asyncio.sleep(pace_s)
    finally:
        await producer.stop()


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout_s: float, every_s: float = 0.2
) -> bool:
    """Poll ``check`` until it is true (True) or ``timeout_s`` passed (False)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(every_s)
    return await check()


def service_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment a service process reads its settings from."""
    env = dict(os.environ)
    env.update(
        NEWSALERT_KAFKA_BOOTSTRAP=settings.kafka_bootstrap,
        NEWSALERT_REDIS_URL=settings.redis_url,
        NEWSALERT_TOPIC_PREFIX=settings.topic_prefix,
        NEWSALERT_REDIS_PREFIX=settings.redis_prefix,
        NEWSALERT_WEBHOOK_ALLOW_NETWORKS="127.0.0.0/8",
        NEWSALERT_RELOAD_INTERVAL_S=str(settings.reload_interval_s),
        NEWSALERT_API_READ_TOKENS=READ_TOKEN,
    )
    env.update(extra)
    return env


_SAMPLE = re.compile(r"^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$")


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text exposition -> ``{'name{labels}': value}``."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        found = _SAMPLE.match(line)
        if found and not line.startswith("#"):
            out[found.group(1) + (found.group(2) or "")] = float(found.group(3))
    return out


@dataclass
class ServiceProcess:
    """One ``newsalert <role>`` process with its API on a free port and its log file."""

    role: str
    config: Path
    env: dict[str, str]
    log: Path
    api_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServiceProcess:
        """Spawn the process (stderr and stdout to :attr:`log`)."""
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [NEWSALERT, self.role, "--config", str(self.config),
                 "--api-port", str(self.api_port)],
                env=self.env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        return self

    @property
    def base(self) -> str:
        """Base URL of the process's API."""
        return f"http://127.0.0.1:{self.api_port}"

    async def get(self, path: str) -> httpx.Response | None:
        """GET ``path`` on the API; ``None`` when it does not answer (yet)."""
        try:
            auth = {"Authorization": f"Bearer {READ_TOKEN}"}
            async with httpx.AsyncClient(timeout=3.0, headers=auth) as client:
                return await client.get(self.base + path)
        except httpx.HTTPError:
            return None

    async def ready_status(self) -> int | None:
        """HTTP status of ``/readyz`` (``None`` when the API does not answer)."""
        response = await self.get("/readyz")
        return None if response is None else response.status_code

    async def metrics(self) -> dict[str, float]:
        """The process's metrics (empty when the API does not answer)."""
        response = await self.get("/metrics")
        return {} if response is None else parse_metrics(response.text)

    async def wait_ready(self, timeout_s: float = 60.0) -> None:
        """Wait until ``/readyz`` answers 200; fail with the log tail otherwise."""

        async def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"{self.role} exited early:\n{self.log_tail()}")
            return await self.ready_status() == 200

        if not await eventually(ready, timeout_s):
            raise AssertionError(f"{self.role} not ready in {timeout_s}s:\n{self.log_tail()}")

    def signal(self, sig: signal.Signals) -> None:
        """Send ``sig`` to the process."""
        assert self.process is not None
        self.process.send_signal(sig)

    async def wait(self, timeout_s: float = 60.0) -> int:
        """Wait for the exit code (SIGKILL after ``timeout_s``)."""
        assert self.process is not None
        try:
            return await asyncio.to_thread(self.process.wait, timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            await asyncio.to_thread(self.process.wait, 10)
            raise AssertionError(f"{self.role} did not exit:\n{self.log_tail()}") from None

    async def close(self) -> None:
        """SIGTERM (if still running) and reap; never leaves a process behind."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.process.wait, 30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                await asyncio.to_thread(self.process.wait, 10)

    def log_tail(self, lines: int = 40) -> str:
        """The end of the process's log."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def counted(metrics: dict[str, float], name: str, **labels: str) -> float:
    """One sample's value (0 when absent); labels are matched exactly."""
    inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return metrics.get(f"{name}{{{inner}}}" if inner else name, 0.0)


def missing_and_repeated(
    counts: Counter[tuple[str, str]], expected: set[tuple[str, str]]
) -> tuple[set[tuple[str, str]], dict[tuple[str, str], int], set[tuple[str, str]]]:
    """(expected but not delivered, delivered more than once, delivered but unexpected)."""
    missing = expected - set(counts)
    repeated = {key: n for key, n in counts.items() if n > 1}
    unexpected = set(counts) - expected
    return missing, repeated, unexpected


async def settle_desks(settings: Settings, inbox: WebhookInbox) -> Sentinels:
    """Sentinels behind everything published so far (see :mod:`tests.integration.sentinel`).

    They are new ``summit-talks`` stories, which every subscription of :func:`config_yaml`
    selects; leave them out with ``Sentinels.others`` before comparing deliveries.
    """

    def article(n: int) -> dict[str, Any]:
        return make_articles(1, ["summit-talks"], seed=1000 + n, tag="sentinel", start=n)[0]

    return await settle(settings, inbox, list(SUBSCRIPTIONS), article)
