"""Benchmark the dispatcher: delivery latency and throughput, and endpoint isolation.

Starts the embedded stack (tansu + Redis) and loopback receivers, then runs three
scenarios in one process, each on its own topics and Redis prefix:

- ``fast + healthy``: two endpoints answering 200 at once (the baseline: same fan-out);
- ``fast + hanging``: the second endpoint never answers within its 60 s timeout;
- ``fast + failing``: the second endpoint answers 500 and is retried every 100 ms (a
  stress case: real schedules start at 5 s).

For the fast endpoint it prints end-to-end latency (alert put on Kafka -> POST received)
p50/p95 and deliveries/s, medians over interleaved rounds, then the ratios against the
baseline measured in this run. Target: the hanging ratio stays near 1 (a slow or dead
endpoint does not slow a fast one).

    .venv/bin/python bench/dispatcher_isolation.py [--alerts 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Sequence
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


async def _scenario(base: Settings, extra: str, alerts: int) -> tuple[list[float], float]:
    tag = uuid.uuid4().hex[:8]
    settings = base.model_copy(
        update={"topic_prefix": f"bench{tag}.", "redis_prefix": f"na:bench:{tag}:"}
    )
    published: dict[str, float] = {}
    fast = WebhookInbox()
    release = asyncio.Event()

    async def hang(_req: ReceivedRequest) -> Reply:
        await release.wait()
        return Reply(200)

    other = WebhookInbox(
        {"hanging": hang, "failing": lambda _r: Reply(500)}.get(extra, lambda _r: Reply(200))
    )
    await fast.start()
    await other.start()
    subs = [_sub("fast", fast.url)]
    if extra == "healthy":
        subs.append(_sub("healthy", other.url))
    elif extra == "hanging":
        subs.append(_sub("hanging", other.url, timeout="60s"))
    elif extra == "failing":
        subs.append(_sub("failing", other.url, retry_schedule=["100ms"] * 50,
                         pause_after_failures=None, pause_after=None))  # fmt: skip
    topic = settings.topic(constants.TOPIC_ALERTS)
    await ensure_topics(settings, [topic, settings.topic(constants.TOPIC_ALERTS_DLQ)])
    service = DispatcherService(settings, lambda: subs)
    await service.start()
    producer = make_producer(settings)
    await producer.start()
    started = time.time()
    try:
        batch = [_alert(n) for n in range(alerts)]
        for alert in batch:  # one by one, as the matcher produces them
            published[alert.story_id] = time.time()
            await send_all(
                producer, [(topic, alert.alert_id.encode(), alert.model_dump_json().encode(), None)]
            )
        got = await fast.wait_for(alerts, timeout_s=300)
        elapsed = time.time() - started
    finally:
        release.set()
        await producer.stop()
        await service.stop()
        await fast.stop()
        await other.stop()
    latencies = [
        (req.received_at - published[json.loads(req.body)["data"]["story_id"]]) * 1000.0
        for req in got
    ]
    return latencies, alerts / elapsed


def _p95(values: Sequence[float]) -> float:
    return statistics.quantiles(values, n=20)[18]


async def _main(alerts: int, rounds: int) -> None:
    names = {"fast + healthy": "healthy", "fast + hanging": "hanging", "fast + failing": "failing"}
    p50s: dict[str, list[float]] = {name: [] for name in names}
    p95s: dict[str, list[float]] = {name: [] for name in names}
    rates: dict[str, list[float]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as tmp:
        stack = EmbeddedStack(Path(tmp))
        info = stack.up()
        try:
            base = Settings(
                kafka_bootstrap=info.kafka_bootstrap,
                redis_url=info.redis_url,
                webhook_allow_networks=["127.0.0.0/8"],
            )
            for _round in range(rounds):  # interleaved, so machine noise hits all alike
                for name, extra in names.items():
                    latencies, rate = await _scenario(base, extra, alerts)
                    p50s[name].append(statistics.median(latencies))
                    p95s[name].append(_p95(latencies))
                    rates[name].append(rate)
        finally:
            stack.down()
    med = statistics.median
    print(f"\n{alerts} alerts x {rounds} rounds; fast endpoint, Kafka produce -> POST received")
    print("(medians over rounds)")
    for name in names:
        print(f"{name:<16} p50 {med(p50s[name]):7.1f} ms  p95 {med(p95s[name]):7.1f} ms  "
              f"{med(rates[name]):7.1f} deliveries/s")  # fmt: skip
    for name in ("fast + hanging", "fast + failing"):
        print(f"ratio {name:<16} p50 x{med(p50s[name]) / med(p50s['fast + healthy']):.2f}  "
              f"p95 x{med(p95s[name]) / med(p95s['fast + healthy']):.2f}  "
              f"throughput x{med(rates[name]) / med(rates['fast + healthy']):.2f}")  # fmt: skip


def main() -> None:
    """Parse arguments, run the scenarios, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(_main(args.alerts, args.rounds))


if __name__ == "__main__":
    main()
