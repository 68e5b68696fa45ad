"""No webhook URL secret reaches any output of a run.

Two subscriptions whose URLs carry credentials in the userinfo, the path and the query:
one delivers to a real inbox (and takes operational events), one points at a closed
port (fails, raises a "failing" event, is dead-lettered). The run's whole log at DEBUG,
every API answer, the endpoint events, the ``alerts.dlq`` record and the CLI's delivery
listings and backtest report are searched for each secret, and for the API tokens the
test calls with; none may be there.
"""

from __future__ import annotations

import asyncio
import functools
import io
import json
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsalert import constants
from newsalert.receiver import WebhookInbox
from newsalert.settings import Settings
from newsalert.stack.process import free_port
from newsalert.webhooks.redact import display_url
from tests.integration.api_support import ADMIN_TOKEN, READ_TOKEN, api_service, with_tokens
from tests.integration.pipeline_harness import Pipeline, new_secret, read_topic
from tests.integration.test_api_security import routes

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

NEWSALERT = str(Path(sys.executable).with_name("newsalert"))

CONFIG = """
version: 1
rules:
  - id: port-strike
    all: ["port"]
    any: ["strike", "walkout"]
subscriptions:
  - id: ops-desk
    url: {good}
    secret: {secret}
    rules: ["*"]
    operational_events: true
  - id: dead-desk
    url: {dead}
    secret: {secret}
    rules: ["*"]
    retry_schedule: []
"""


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """Everything logged during the test, at DEBUG, by every logger."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def _cli(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    run = functools.partial(subprocess.run, capture_output=True, text=True, check=True)
    return await asyncio.to_thread(run, [NEWSALERT, *argv], env=env)


def _secrets() -> dict[str, str]:
    return {name: f"{name}{uuid.uuid4().hex[:12]}" for name in ("user", "pw", "path", "query")}


async def test_no_url_secret_in_logs_answers_events_dlq_or_cli(
    settings: Settings, tmp_path: Path, debug_log: io.StringIO
) -> None:
    inbox = WebhookInbox()
    await inbox.start()
    good_s, dead_s = _secrets(), _secrets()
    good = (
        f"http://{good_s['user']}:{good_s['pw']}@127.0.0.1:{inbox.port}"
        f"/hooks/{good_s['path']}?token={good_s['query']}"
    )
    dead = (
        f"http://{dead_s['user']}:{dead_s['pw']}@127.0.0.1:{free_port()}"
        f"/hooks/{dead_s['path']}?token={dead_s['query']}"
    )
    secret = new_secret()
    settings = with_tokens(settings)
    outputs: dict[str, str] = {}
    try:
        async with api_service(
            settings, CONFIG.format(good=good, dead=dead, secret=secret), tmp_path, inbox
        ) as api:
            pipe = Pipeline(settings, inbox, secret, tmp_path / "rules.yaml")
            article: dict[str, object] = {
                "id": "a1",
                "title": "Port strike",
                "body": "Dock workers strike.",
            }
            await pipe.publish_articles(constants.TOPIC_ARTICLES, article)
            [letter] = await read_topic(settings, constants.TOPIC_ALERTS_DLQ, 1, timeout_s=60)
            outputs["alerts.dlq"] = repr(letter.value) + repr(letter.headers)
            # The alert to ops-desk and the "failing" event about dead-desk.
            await inbox.wait_for(2, timeout_s=60)

            async with api.client(ADMIN_TOKEN) as client:
                subs = (await client.get("/subscriptions")).json()
                assert {s["url"] for s in subs} == {display_url(good), display_url(dead)}
                listed = (await client.get("/deliveries")).json()
                assert {row["subscription_id"] for row in listed} == {"ops-desk", "dead-desk"}
                paths = [f"/deliveries/{row['delivery_id']}" for row in listed]
                for sub in ("ops-desk", "dead-desk"):
                    paths.append(f"/subscriptions/{sub}/delivery-state")
                for path in paths:
                    outputs[f"GET {path}"] = (await client.get(path)).text
                failed = next(r["delivery_id"] for r in listed if r["status"] == "failed")
                for method, path, kwargs, _expected in routes(failed):
                    answer = await client.request(method, path, **kwargs)
                    outputs[f"{method} {path}"] = answer.text
                    assert answer.status_code == 200, (path, answer.text)

            env = dict(
                os.environ,
                NEWSALERT_REDIS_URL=settings.redis_url,
                NEWSALERT_REDIS_PREFIX=settings.redis_prefix,
            )
            for argv in (
                ["deliveries", "list"],
                ["deliveries", "list", "--json"],
                ["deliveries", "show", failed],
                ["deliveries", "status", "-s", "dead-desk"],
            ):
                done = await _cli(argv, env)
                outputs[" ".join(argv)] = done.stdout + done.stderr
            assert "dead-desk" in outputs["deliveries list"]
    finally:
        await inbox.stop()

    articles = tmp_path / "articles.jsonl"
    articles.write_text(json.dumps(article) + "\n")
    backtest = await _cli(
        ["backtest", "--rules", str(tmp_path / "rules.yaml"), "--input", str(articles)],
        dict(os.environ),
    )
    outputs["backtest"] = backtest.stdout + backtest.stderr
    assert "port-strike" in outputs["backtest"]

    # Bodies only: the receiver's own request line and headers carry its URL by nature.
    outputs["inbox"] = "\n".join(r.body.decode() for r in inbox.received)
    outputs["log"] = debug_log.getvalue()
    assert "endpoint failing: dead-desk" in outputs["log"]  # the log was captured
    assert "newsalert.endpoint.failing" in outputs["inbox"]  # the event was sent

    for token in (READ_TOKEN, ADMIN_TOKEN):
        assert not [where for where, text in outputs.items() if token in text], "token shown"
    for sub, parts in (("ops-desk", good_s), ("dead-desk", dead_s)):
        for name, value in parts.items():
            leaks = [where for where, text in outputs.items() if value in text]
            assert not leaks, f"{sub}'s URL secret ({name}) appears in {leaks}"
