"""``newsalert demo`` and ``newsalert receiver``: see alerts arrive, end to end, in a minute.

The demo starts the embedded stack, a webhook inbox on loopback, the matcher and the
dispatcher in this process, publishes ``seeds/articles.jsonl``, prints every delivery as
the inbox receives it (signature checked), then a summary, and stops everything.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import tempfile
import time
from collections import Counter
from pathlib import Path

from prometheus_client import REGISTRY

from newsalert import constants
from newsalert.errors import NewsalertError
from newsalert.kafka import ensure_topics, group_caught_up
from newsalert.lifecycle import configure_logging, stop_on_signals
from newsalert.publishing import publish_file
from newsalert.receiver import ReceivedRequest, Reply, WebhookInbox
from newsalert.runner import Roles, run_until_stopped
from newsalert.settings import Settings
from newsalert.stack import EmbeddedStack
from newsalert.webhooks.signing import SignatureError, verify


def describe(request: ReceivedRequest, secret: str | None) -> tuple[str, bool]:
    """One line about a received webhook, and whether its signature verified."""
    verified = False
    status = "signature not checked"
    if secret is not None:
        try:
            verify(secret, request.headers, request.body, now=int(time.time()))
        except SignatureError as exc:
            status = f"SIGNATURE INVALID ({exc})"
        else:
            verified, status = True, "signature verified"
    try:
        data = json.loads(request.body)["data"]
        rule = data["rule"]["id"]
        headline = data["article"]["title"]
        sub = data["subscription_id"]
        folded = data.get("duplicates_folded", 0)
    except (ValueError, KeyError, TypeError):
        return f"{request.method} {request.path}: not a newsalert payload; {status}", verified
    extra = f" (+{folded} copies folded)" if folded else ""
    return f"[{sub}] {rule}: {headline}{extra} — {status}", verified


async def serve_receiver(host: str, port: int, secret: str | None) -> None:
    """Print every webhook POSTed to ``host:port`` until SIGINT or SIGTERM."""

    def show(request: ReceivedRequest) -> Reply:
        line, _ = describe(request, secret)
        print(line, flush=True)
        return Reply()

    inbox = WebhookInbox(show, keep=0)  # printed, not kept: it runs for as long as you like
    url = await inbox.start(host, port)
    print(f"webhook inbox listening on {url}", flush=True)
    stop = asyncio.Event()
    try:
        with stop_on_signals(stop):  # also as PID 1 in a container, which ignores SIGTERM
            await stop.wait()
    finally:
        await inbox.stop()


async def run_demo(seeds: Path, timeout_s: float) -> int:
    """The whole demo; returns the process exit code."""
    rules_file, articles = seeds / "rules.yaml", seeds / "articles.jsonl"
    for needed in (rules_file, articles):
        if not needed.exists():
            print(f"error: {needed} not found (run from the repository root or pass --seeds)")
            return 2
    configure_logging("warning", "  (%(levelname)s) %(message)s")
    stack = EmbeddedStack(Path(tempfile.mkdtemp(prefix="newsalert-demo-")))
    print("starting the embedded stack (tansu broker + redis) ...", flush=True)
    info = stack.up()
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    delivered: list[tuple[str, bool]] = []

    def show(request: ReceivedRequest) -> Reply:
        line, ok = describe(request, secret)
        delivered.append((request.path, ok))
        print(f"  alert {len(delivered)}: {line}", flush=True)
        return Reply()

    inbox = WebhookInbox(show)
    await inbox.start()
    tag = f"demo{int(time.time())}"
    settings = Settings(
        kafka_bootstrap=info.kafka_bootstrap,
        redis_url=info.redis_url,
        topic_prefix=f"{tag}.",
        redis_prefix=f"na:{tag}:",
        webhook_allow_networks=["127.0.0.0/8"],
    )
    env = dict(os.environ, DEMO_WEBHOOK_URL=inbox.url, DEMO_WEBHOOK_SECRET=secret)
    stop = asyncio.Event()
    try:
        await ensure_topics(settings)
        service = asyncio.create_task(
            run_until_stopped(settings, rules_file, env, Roles(), stop, handle_signals=False)
        )
        sent = await publish_file(settings, articles, settings.topic(constants.TOPIC_ARTICLES))
        print(f"published {sent} records from {articles}; waiting for alerts ...", flush=True)
        done = await _wait_until_settled(settings, inbox, timeout_s, service)
        stop.set()
        await service
        # Counted by the matcher as it wrote them: tansu's end offsets can lag a batch.
        dlq = int(_metric("invalid"))
    except NewsalertError as exc:
        print(f"error: {exc}")
        return 1
    finally:
        stop.set()
        await inbox.stop()
        stack.down()
    per_path = Counter(path for path, _ in delivered)
    bad = sum(1 for _, ok in delivered if not ok)
    print("\nsummary")
    print(f"  records published     {sent}")
    print(f"  sent to articles.dlq  {dlq} (malformed input, with the reason in a header)")
    print(f"  repeats skipped       {_metric('duplicate'):.0f} (same id, canonical URL or body)")
    print(
        f"  webhooks delivered    {len(delivered)}  "
        + ", ".join(f"{p}: {n}" for p, n in sorted(per_path.items()))
    )
    print(f"  signatures verified   {len(delivered) - bad}/{len(delivered)}")
    if not done:
        print(f"error: the pipeline did not settle within {timeout_s:.0f}s")
        return 1
    return 0 if delivered and bad == 0 else 1


def _metric(outcome: str) -> float:
    return REGISTRY.get_sample_value("newsalert_articles_total", {"outcome": outcome}) or 0.0


async def _wait_until_settled(
    settings: Settings, inbox: WebhookInbox, timeout_s: float, service: asyncio.Task[None]
) -> bool:
    """True once both consumer groups caught up and no webhook arrived for a moment."""
    deadline = time.monotonic() + timeout_s
    last_count, quiet_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        if service.done():
            service.result()  # surface the service's error
            return False
        await asyncio.sleep(0.5)
        if len(inbox.received) != last_count:
            last_count, quiet_since = len(inbox.received), time.monotonic()
            continue
        if time.monotonic() - quiet_since < 1.5:
            continue
        if await group_caught_up(
            settings,
            settings.group(constants.MATCHER_GROUP),
            settings.topic(constants.TOPIC_ARTICLES),
        ) and await group_caught_up(
            settings,
            settings.group(constants.DISPATCHER_GROUP),
            settings.topic(constants.TOPIC_ALERTS),
        ):
            return True
    return False
