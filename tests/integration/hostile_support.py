"""Helpers for the hostile-input suite and ``bench/fuzz.py`` (no tests here).

Hostile records go to a chosen partition of the real ``articles`` topic, each followed
on the same partition by a *sentinel* article that must alert exactly once: when the
sentinel's webhook arrives, the matcher has moved past the hostile record before it
(processed it or put it on ``articles.dlq``), because a partition is consumed in order.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from newsalert import constants
from newsalert.errors import ArticleError
from newsalert.kafka import make_producer, partitions_of
from newsalert.pipeline.decode import decode_article
from newsalert.receiver import ReceivedRequest
from newsalert.settings import Settings

RULES_YAML = """
version: 1
rules:
  - id: sentinel
    all: ["sentinel beacon"]
  - id: port-strike
    all: ["port"]
    any: ["strike", "walkout"]
subscriptions:
  - id: sentinels
    url: {url}/sentinel
    secret: {secret}
    rules: ["sentinel"]
  - id: hostile
    url: {url}/hostile
    secret: {secret}
    rules: ["port-strike"]
"""
PARTITIONS = 3
_WORDS = [f"w{n:04d}" for n in range(5000)]


def sentinel(number: int, rng: random.Random) -> tuple[str, bytes]:
    """A sentinel article: its own story (random words), matched by the ``sentinel`` rule."""
    article_id = f"sentinel-{number}-{rng.getrandbits(40):x}"
    body = " ".join(rng.sample(_WORDS, 40)) + ". The sentinel beacon is lit."
    value = {"id": article_id, "title": f"sentinel beacon {number}", "body": body}
    return article_id, json.dumps(value).encode()


def edge_kind(value: bytes, max_bytes: int) -> str | None:
    """The DLQ kind the matcher's edge gives ``value``, or None when it decodes."""
    try:
        decode_article(value, max_bytes)
    except ArticleError as exc:
        return exc.kind
    return None


class PartitionPublisher:
    """Puts records on chosen partitions of ``articles`` and remembers their positions."""

    def __init__(self, settings: Settings) -> None:
        self.topic = settings.topic(constants.TOPIC_ARTICLES)
        self._producer: AIOKafkaProducer = make_producer(settings)

    async def __aenter__(self) -> PartitionPublisher:
        await self._producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._producer.stop()

    async def put(
        self, value: bytes, partition: int, headers: list[tuple[str, bytes]] | None = None
    ) -> str:
        """Publish and wait until stored; the record's ``topic/partition@offset``."""
        meta = await self._producer.send_and_wait(
            self.topic, value=value, partition=partition, headers=headers
        )
        return f"{meta.topic}/{meta.partition}@{meta.offset}"


@dataclass(frozen=True)
class DeadLetter:
    """One ``articles.dlq`` record, as the suite checks it."""

    source: str
    kind: str
    error: str
    reason: str
    value: bytes


async def read_dead_letters(settings: Settings) -> list[DeadLetter]:
    """Every record on ``articles.dlq`` up to its current end."""
    topic = settings.topic(constants.TOPIC_ARTICLES_DLQ)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False
    )
    await consumer.start()
    letters: list[DeadLetter] = []
    try:
        partitions = [TopicPartition(topic, p) for p in await partitions_of(settings, topic)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)

        async def behind() -> bool:
            return any([await consumer.position(tp) < end for tp, end in ends.items()])

        while await behind():
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    headers = {name: raw.decode() for name, raw in record.headers}
                    letters.append(
                        DeadLetter(
                            source=headers.get(constants.HEADER_DLQ_SOURCE, ""),
                            kind=headers.get(constants.HEADER_DLQ_KIND, ""),
                            error=headers.get(constants.HEADER_DLQ_ERROR, ""),
                            reason=headers.get(constants.HEADER_DLQ_REASON, ""),
                            value=record.value or b"",
                        )
                    )
    finally:
        await consumer.stop()
    return letters


def delivered_articles(received: Iterable[ReceivedRequest], path: str) -> Counter[str]:
    """How often each article id was delivered to the webhook ``path``."""
    return Counter(
        json.loads(request.body)["data"]["article"]["id"]
        for request in received
        if request.path == path
    )
