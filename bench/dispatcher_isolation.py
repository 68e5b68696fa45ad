"""Benchmark the dispatcher: latency under a steady load, backlog throughput, isolation.

Starts the embedded stack (tansu + Redis) and loopback receivers. Every scenario has a
fast endpoint plus a second endpoint that is ``healthy`` (answers 200 at once: the
baseline), ``hanging`` (never answers within its
60 s timeout) or ``failing`` (answers 500, retried every 100 ms without pausing: harsher
than any real schedule).

Two measurements per scenario, interleaved over rounds so machine noise hits all alike:

- latency: alerts published at a steady ``--rate`` (below capacity); for the fast
  endpoint, time from the alert's Kafka send to the POST arriving, p50/p95;
- backlog: ``--alerts`` alerts already on the topic when the dispatcher starts; rate at
  which the fast endpoint receives them, first to last delivery (deliveries/s).

Prints medians over rounds and the ratios against ``healthy`` in this run; target:
ratios <= ~1 (a slow or dead endpoint does not slow a fast one).

    .venv/bin/python bench/dispatcher_isolation.py [--alerts 300] [--rate 40] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from newsalert import constants
from newsalert.dispatcher.service import DispatcherService
from newsalert.kafka import ensure_topics, make_producer, send_all
from newsalert.models import Alert, ArticleRef, RuleRef, alert_id
from newsalert.receiver import ReceivedRequest, Reply, WebhookInbox
from newsalert.settings import Settings
from newsalert.stack import EmbeddedStack
from newsalert.subscriptions import Subscription

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
KINDS = ("healthy", "hanging", "failing")


def _alert(n: int) -> Alert:
    story = f"bench-{uuid.uuid4().hex[:10]}-{n}"
    return Alert(
        alert_id=alert_id("bench", story),
        rule=RuleRef(id="bench", title="Bench"),
        article=ArticleRef(id=f"a{n}", title=f"Headline {n}"),
        story_id=story,
        created_at=datetime.now(UTC),
    )


def _sub(sub_id: str, url: str, **policy: object) -> Subscription:
    return Subscription.model_validate({"id": sub_id, "url": url, "secret": SECRET, **policy})


@asynccontextmanager
async def _endpoints(kind: str) -> AsyncIterator[tuple[WebhookInbox, list[Subscription]]]:
    release = asyncio.Event()

    async def hang(_req: ReceivedRequest) -> Reply:
        await release.wait()
        return Reply(200)

    answers = {"hanging": hang, "failing": lambda _r: Reply(500)}
    fast = WebhookInbox()
    other = WebhookInbox(answers.get(kind, lambda _r: Reply(200)))
    await fast.start()
    await other.start()
    policies: dict[str, dict[str, object]] = {
        "healthy": {},
        "hanging": {"timeout": "60s"},
        "failing": {"retry_schedule": ["100ms"] * 50, "pause_after_failures": None,
                    "pause_after": None},
    }  # fmt: skip
    policy = policies[kind]
    try:
        yield fast, [_sub("fast", fast.url), _sub(kind, other.url, **policy)]
    finally:
        release.set()
        await asyncio.sleep(0.1)
        await fast.stop()
        await other.stop()


def _isolated(base: Settings) -> Settings:
    tag = uuid.uuid4().hex[:8]
    return base.model_copy(
        update={"topic_prefix": f"bench{tag}.", "redis_prefix": f"na:bench:{tag}:"}
    )


async def _latency(base: Settings, kind: str, alerts: int, rate: float) -> list[float]:
    settings = _isolated(base)
    topic = settings.topic(constants.TOPIC_ALERTS)
    await ensure_topics(settings, [topic, settings.topic(constants.TOPIC_ALERTS_DLQ)])
    sent: dict[str, float] = {}
    async with _endpoints(kind) as (fast, subs):
        service = DispatcherService(settings, lambda: subs)
        await service.start()
        producer = make_producer(settings)
        await producer.start()
        try:
            for n in range(alerts):
                alert = _alert(n)
                sent[alert.story_id] = time.time()
                value = alert.model_dump_json().encode()
                await send_all(producer, [(topic, alert.alert_id.encode(), value, None)])
                await asyncio.sleep(1.0 / rate)
            got = await fast.wait_for(alerts, timeout_s=300)
        finally:
            await producer.stop()
            await service.stop()
    story = [json.loads(r.body)["data"]["story_id"] for r in got]
    return [(r.received_at - sent[s]) * 1000 for r, s in zip(got, story, strict=True)]


async def _backlog(base: Settings, kind: str, alerts: int) -> float:
    settings = _isolated(base)
    topic = settings.topic(constants.TOPIC_ALERTS)
    await ensure_topics(settings, [topic, settings.topic(constants.TOPIC_ALERTS_DLQ)])
    producer = make_producer(settings, linger_ms=5)
    await producer.start()
    batch = [_alert(n) for n in range(alerts)]
    await send_all(
        producer, [(topic, a.alert_id.encode(), a.model_dump_json().encode(), None) for a in batch]
    )
    await producer.stop()
    async with _endpoints(kind) as (fast, subs):
        service = DispatcherService(settings, lambda: subs)
        await service.start()
        try:
            got = await fast.wait_for(alerts, timeout_s=300)
        finally:
            await service.stop()
    # From the first delivery to the last: the consumer-group join before it is not counted.
    return (alerts - 1) / (got[-1].received_at - got[0].received_at)


async def _main(alerts: int, rate: float, rounds: int) -> None:
    p50: dict[str, list[float]] = {kind: [] for kind in KINDS}
    p95: dict[str, list[float]] = {kind: [] for kind in KINDS}
    drain: dict[str, list[float]] = {kind: [] for kind in KINDS}
    with tempfile.TemporaryDirectory() as tmp:
        stack = EmbeddedStack(Path(tmp))
        info = stack.up()
        try:
            base = Settings(
                kafka_bootstrap=info.kafka_bootstrap,
                redis_url=info.redis_url,
                webhook_allow_networks=["127.0.0.0/8"],
            )
            for _round in range(rounds):
                for kind in KINDS:
                    latencies = await _latency(base, kind, min(alerts, int(rate * 5)), rate)
                    p50[kind].append(statistics.median(latencies))
                    p95[kind].append(statistics.quantiles(latencies, n=20)[18])
                    drain[kind].append(await _backlog(base, kind, alerts))
        finally:
            stack.down()
    med = statistics.median
    print(f"\nfast endpoint; latency at {rate:g} alerts/s, backlog of {alerts} alerts;")
    print(f"medians over {rounds} rounds (second endpoint in brackets)")
    for kind in KINDS:
        print(f"fast + [{kind:<7}]  latency p50 {med(p50[kind]):7.1f} ms  "
              f"p95 {med(p95[kind]):7.1f} ms   "
              f"backlog {med(drain[kind]):6.1f} deliveries/s")  # fmt: skip
    for kind in ("hanging", "failing"):
        print(f"ratio {kind:<7} vs healthy: latency p50 x{med(p50[kind]) / med(p50['healthy']):.2f}"
              f"  p95 x{med(p95[kind]) / med(p95['healthy']):.2f}"
              f"  backlog throughput x{med(drain[kind]) / med(drain['healthy']):.2f}")  # fmt: skip


def main() -> None:
    """Parse arguments, run the scenarios, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=300)
    parser.add_argument("--rate", type=float, default=40.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(_main(args.alerts, args.rate, args.rounds))


if __name__ == "__main__":
    main()
