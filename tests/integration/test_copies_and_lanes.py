"""Copies of a story from other outlets, and per-subscription repeat intervals, on the real
service: ``newsalert run`` in-process on a real broker (tansu and Apache Kafka), real Redis
and a real HTTP receiver that verifies every signature.

Articles are published one step at a time (each step waits for the deliveries it must
cause), all on one partition (one key), and a *sentinel* article, which every
subscription receives, goes last: each subscription's deliveries are sent in the order
they were scheduled, so once the sentinel reached a subscription nothing scheduled
before it is still on its way. Article times are chosen (``published_at``), so repeat
windows are crossed without waiting.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from newsalert import constants
from newsalert.models import Alert, delivery_id
from newsalert.receiver import ReceivedRequest
from newsalert.settings import Settings
from tests.integration.pipeline_harness import Pipeline, running_pipeline

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

T0 = datetime(2026, 11, 20, 8, tzinfo=UTC)
BODY = (
    "Dock workers at the northern container port began a walkout over pay on Monday. "
    "The union said the strike would last until the port operator made a new offer. "
    "Ships were diverted to the southern terminal, the harbour master said."
)
SENTINEL_RULE = """
  - id: sentinel
    all: ["zebracrossing"]
"""

COPIES_YAML = (
    """
version: 1
rules:
  - id: any-port
    all: ["container port"]
  - id: dpa-port
    all: ["container port"]
    sources: [dpa]
  - id: headline-walkout
    all: ["walkout"]
    fields: [title]
"""
    + SENTINEL_RULE
    + """
subscriptions:
  - id: desk
    url: {url}/desk
    secret: {secret}
"""
)

LANES_YAML = (
    """
version: 1
rules:
  - id: any-port
    all: ["container port"]
"""
    + SENTINEL_RULE
    + """
subscriptions:
  - id: fast-desk
    url: {url}/fast
    secret: {secret}
    repeat_interval: 6h
  - id: daily-desk
    url: {url}/daily
    secret: {secret}
"""
)


def wire(article_id: str, source: str, hours: float, title: str = "Port dispute") -> dict[str, Any]:
    """One article of the port story, ``hours`` after T0 (article time)."""
    return {
        "id": article_id,
        "title": title,
        "body": BODY,
        "source": source,
        "language": "en",
        "url": f"https://{source.lower()}.example/{article_id}",
        "published_at": (T0 + timedelta(hours=hours)).isoformat(),
    }


SENTINEL = {"id": "sentinel-1", "title": "Zebracrossing", "body": "zebracrossing", "source": "s"}


async def step(pipe: Pipeline, article: dict[str, Any], deliveries: int) -> None:
    """Publish ``article`` (key: one partition for all) and wait for ``deliveries`` in all."""
    await pipe.publish(constants.TOPIC_ARTICLES, json.dumps(article).encode(), key=b"port-story")
    await pipe.inbox.wait_for(deliveries, timeout_s=60)


def payloads(pipe: Pipeline) -> list[tuple[str, dict[str, Any], str]]:
    """(path, verified payload data, webhook-id) of everything received, in arrival order."""
    verifier = Webhook(pipe.secret)
    out = []
    request: ReceivedRequest
    for request in pipe.inbox.received:
        payload = verifier.verify(request.body, request.headers)
        out.append((request.path, payload["data"], request.headers["webhook-id"]))
    return out


async def test_copies_from_other_outlets_fire_their_own_rules_once(
    settings: Settings, tmp_path: Path
) -> None:
    async with running_pipeline(settings, tmp_path, COPIES_YAML) as pipe:
        await step(pipe, wire("r-1", "Reuters", 0), 1)
        # dpa's identical text: only the sources: [dpa] rule is new for the story.
        await step(pipe, wire("d-1", "dpa", 1), 2)
        # Same text under another headline: only the fields: [title] rule is new.
        await step(pipe, wire("x-1", "Courier", 2, title="Walkout at the port"), 3)
        # A redelivery of dpa's record: skipped, and not counted as a copy.
        await step(pipe, wire("d-1", "dpa", 1), 3)
        # 25 h later (past the 24 h repeat interval): any-port alerts again and shows the
        # two copies it folded.
        await step(pipe, wire("y-1", "Gazette", 25), 4)
        await step(pipe, SENTINEL, 5)
        alerts = await pipe.read_topic(constants.TOPIC_ALERTS, 5)
        got = payloads(pipe)

    assert [(data["rule"]["id"], data["article"]["id"]) for _, data, _ in got] == [
        ("any-port", "r-1"),
        ("dpa-port", "d-1"),
        ("headline-walkout", "x-1"),
        ("any-port", "y-1"),
        ("sentinel", "sentinel-1"),
    ]
    assert [data["duplicates_folded"] for _, data, _ in got] == [0, 0, 0, 2, 0]
    story = got[0][1]["story_id"]
    assert {data["story_id"] for _, data, _ in got[:4]} == {story}
    assert got[1][2] == delivery_id("desk", "dpa-port", story)
    assert len({webhook_id for _, _, webhook_id in got}) == 5
    assert len({Alert.model_validate_json(a.value).alert_id for a in alerts}) == 5


async def test_each_subscription_gets_a_story_again_after_its_own_interval(
    settings: Settings, tmp_path: Path
) -> None:
    async with running_pipeline(settings, tmp_path, LANES_YAML) as pipe:
        await step(pipe, wire("a-1", "Reuters", 0), 2)  # both desks: the first alert
        await step(pipe, wire("a-2", "dpa", 1), 2)  # folded for both
        await step(pipe, wire("a-3", "AFP", 7), 3)  # fast desk: 6 h passed
        await step(pipe, wire("a-4", "AP", 25), 5)  # both: 18 h and 25 h passed
        await step(pipe, SENTINEL, 7)
        got = payloads(pipe)

    by_desk: dict[str, list[tuple[str, int]]] = {}
    for path, data, _ in got:
        by_desk.setdefault(path, []).append((data["article"]["id"], data["duplicates_folded"]))
    assert by_desk == {
        "/fast": [("a-1", 0), ("a-3", 1), ("a-4", 0), ("sentinel-1", 0)],
        "/daily": [("a-1", 0), ("a-4", 2), ("sentinel-1", 0)],
    }
    story = got[0][1]["story_id"]
    first = {path: webhook_id for path, data, webhook_id in got if data["article"]["id"] == "a-1"}
    assert first == {
        "/fast": delivery_id("fast-desk", "any-port", story),
        "/daily": delivery_id("daily-desk", "any-port", story),
    }
    assert len({webhook_id for _, _, webhook_id in got}) == 7
