"""Run the real services in-process against a real broker, Redis and webhook inbox."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaConsumer, ConsumerRecord

from newsalert.kafka import ensure_topics, make_producer
from newsalert.receiver import WebhookInbox
from newsalert.runner import Roles, run_until_stopped
from newsalert.settings import Settings


def new_secret() -> str:
    """A fresh Standard Webhooks secret."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


RULES_YAML = """
version: 1
rules:
  - id: kr-summons-russia
    title: Seoul summons Russian envoy over military ties
    all: ["ambassador summoned", "military cooperation"]
    tags: [korea]
  - id: port-strike
    all: ["port"]
    any: ["strike", "walkout"]
subscriptions:
  - id: asia-desk
    url: {url}/asia
    secret: {secret}
    rules: ["tag:korea"]
  - id: ops-desk
    url: {url}/ops
    secret: {secret}
    rules: ["*"]
"""


@dataclass
class Pipeline:
    """Handles a running pipeline test: where to publish, what arrived."""

    settings: Settings
    inbox: WebhookInbox
    secret: str
    config_path: Path

    async def publish(self, topic: str, *values: bytes, key: bytes | None = None) -> None:
        """Put raw records on ``topic`` (prefix added) and wait until stored."""
        producer = make_producer(self.settings)
        await producer.start()
        try:
            for value in values:
                await producer.send_and_wait(self.settings.topic(topic), value=value, key=key)
        finally:
            await producer.stop()

    async def publish_articles(self, topic: str, *articles: dict[str, object]) -> None:
        """Publish articles as JSON."""
        await self.publish(topic, *(json.dumps(a).encode() for a in articles))

    async def read_topic(
        self, topic: str, count: int, timeout_s: float = 20
    ) -> list[ConsumerRecord[bytes, bytes]]:
        """Read ``count`` records of ``topic`` from the beginning."""
        return await read_topic(self.settings, topic, count, timeout_s)


async def read_topic(
    settings: Settings, topic: str, count: int, timeout_s: float = 20
) -> list[ConsumerRecord[bytes, bytes]]:
    """The first ``count`` records of ``topic`` (prefix added), read from the beginning
    by a consumer outside any group."""
    consumer = AIOKafkaConsumer(
        settings.topic(topic),
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    got: list[ConsumerRecord[bytes, bytes]] = []
    try:
        async with asyncio.timeout(timeout_s):
            while len(got) < count:
                batch = await consumer.getmany(timeout_ms=200)
                for records in batch.values():
                    got.extend(records)
    finally:
        await consumer.stop()
    return got


@contextlib.asynccontextmanager
async def running_pipeline(
    settings: Settings, tmp_path: Path, rules_yaml: str = RULES_YAML, roles: Roles | None = None
) -> AsyncIterator[Pipeline]:
    """Start inbox + matcher + dispatcher; stop them (gracefully) at the end."""
    inbox = WebhookInbox()
    await inbox.start()
    secret = new_secret()
    config_path = tmp_path / "rules.yaml"
    config_path.write_text(rules_yaml.format(url=inbox.url, secret=secret))
    await ensure_topics(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_until_stopped(
            settings, config_path, dict(os.environ), roles or Roles(), stop, handle_signals=False
        )
    )
    try:
        yield Pipeline(settings, inbox, secret, config_path)
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)
        await inbox.stop()
