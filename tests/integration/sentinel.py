"""Sentinels: "nothing else arrives" proved by the order records travel in, not by a sleep.

Kafka orders records only within a partition, and an article crosses two topics of
several partitions (articles, keyed by the publisher; alerts, keyed by alert id), so one
sentinel article proves nothing about records in other partitions. What does hold:

* The matcher reads each articles partition in order and handles one batch at a time:
  it fetches the next batch only after the last one returned, i.e. after every alert of
  it was stored on the alerts topic (``acks=all``).
* The dispatcher reads each alerts partition in order and stores the deliveries of an
  alert in that order; each subscription's worker claims its oldest delivery first.

So the sentinels go in two rounds. Round one puts a sentinel article in every articles
partition after the records under test; once all of their alerts are on the alerts
topic, every record under test is in a batch the matcher has fetched. Round two is
published only then, so it lands in later batches and its alerts are stored after every
alert the records under test produced. Round two grows until its alerts sit in every
alerts partition; once each of them was delivered to every subscription, each
subscription's worker has claimed every delivery stored before them. What is left is
one worker's attempts of the same claim running side by side: an unwanted delivery
claimed together with a sentinel is sent alongside it, not after it.

Where only the dispatcher runs, :func:`settle_alerts` skips the matcher's half: one
sentinel alert per alerts partition and per watched subscription.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer

from newsalert import constants
from newsalert.dispatcher.service import webhook_id
from newsalert.kafka import make_producer, partitions_of, send_all
from newsalert.models import Alert
from newsalert.receiver import ReceivedRequest, WebhookInbox
from newsalert.settings import Settings

#: Builds the n-th sentinel: a new story that fires a rule every subscription selects.
ArticleFactory = Callable[[int], dict[str, Any]]


class _AlertsTopic:
    """Every record of the alerts topic, read from the start by a consumer in no group."""

    def __init__(self, settings: Settings) -> None:
        self._consumer = AIOKafkaConsumer(
            settings.topic(constants.TOPIC_ALERTS),
            bootstrap_servers=settings.kafka_bootstrap,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        self.by_article: dict[str, list[tuple[int, Alert]]] = {}

    async def __aenter__(self) -> _AlertsTopic:
        await self._consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._consumer.stop()

    async def until(self, done: Callable[[], bool], timeout_s: float) -> None:
        """Read on until ``done()`` holds; TimeoutError after ``timeout_s``."""
        async with asyncio.timeout(timeout_s):
            while not done():
                batch = await self._consumer.getmany(timeout_ms=200)
                for records in batch.values():
                    for record in records:
                        alert = Alert.model_validate_json(record.value or b"")
                        entry = (record.partition, alert)
                        self.by_article.setdefault(alert.article.id, []).append(entry)


@dataclass
class Sentinels:
    """The sentinel deliveries of one settle: leave them out of what a test compares."""

    delivery_ids: set[str] = field(default_factory=set)

    def others(self, received: Iterable[ReceivedRequest]) -> list[ReceivedRequest]:
        """``received`` without the sentinels' deliveries."""
        return [r for r in received if r.headers.get("webhook-id") not in self.delivery_ids]


async def settle(
    settings: Settings,
    inbox: WebhookInbox,
    subscriptions: Sequence[str],
    article: ArticleFactory,
    *,
    timeout_s: float = 60.0,
) -> Sentinels:
    """Publish sentinels behind everything published so far and wait for them.

    ``subscriptions``: the ids of the subscriptions a test watches; every sentinel must
    be delivered to each of them (``article`` must fire a rule they all select). When
    this returns, whatever the earlier records make the pipeline deliver has been sent
    (see the module docstring for the one exception).
    """
    articles_topic = settings.topic(constants.TOPIC_ARTICLES)
    article_partitions = await partitions_of(settings, articles_topic)
    alert_partitions = set(await partitions_of(settings, settings.topic(constants.TOPIC_ALERTS)))
    made = 0

    def next_article() -> dict[str, Any]:
        nonlocal made
        made += 1
        return article(made - 1)

    sentinels = Sentinels()
    async with _AlertsTopic(settings) as alerts:
        first = [(partition, next_article()) for partition in article_partitions]
        await publish_at(settings, articles_topic, first)
        ids = [str(raw["id"]) for _, raw in first]
        await alerts.until(lambda: all(i in alerts.by_article for i in ids), timeout_s)

        second: list[str] = []
        covered: set[int] = set()
        while covered != alert_partitions:
            raw = next_article()
            await publish_at(settings, articles_topic, [(None, raw)])
            await alerts.until(lambda raw=raw: raw["id"] in alerts.by_article, timeout_s)
            second.append(str(raw["id"]))
            covered.update(partition for partition, _ in alerts.by_article[raw["id"]])

        def deliveries(article_ids: Iterable[str]) -> set[str]:
            return {
                webhook_id(sub, alert)
                for article_id in article_ids
                for _, alert in alerts.by_article[article_id]
                for sub in subscriptions
            }

        awaited = deliveries(second)
        sentinels.delivery_ids = deliveries(ids) | awaited

    await _arrive(inbox, awaited, timeout_s)
    return sentinels


async def settle_alerts(
    settings: Settings,
    inbox: WebhookInbox,
    alerts: Mapping[str, Callable[[int], Alert]],
    *,
    timeout_s: float = 60.0,
) -> Sentinels:
    """Publish sentinel alerts behind everything on the alerts topic and wait for them.

    ``alerts`` maps each watched subscription to a factory of new alerts it selects; one
    alert per subscription goes to every alerts partition.
    """
    topic = settings.topic(constants.TOPIC_ALERTS)
    partitions = await partitions_of(settings, topic)
    sentinels = Sentinels()
    producer = make_producer(settings)
    await producer.start()
    try:
        for sub, factory in alerts.items():
            for partition in partitions:
                alert = factory(partition)
                await producer.send_and_wait(
                    topic,
                    value=alert.model_dump_json().encode(),
                    key=alert.alert_id.encode(),
                    partition=partition,
                )
                sentinels.delivery_ids.add(webhook_id(sub, alert))
    finally:
        await producer.stop()
    await _arrive(inbox, sentinels.delivery_ids, timeout_s)
    return sentinels


async def _arrive(inbox: WebhookInbox, delivery_ids: set[str], timeout_s: float) -> None:
    """Wait until a request with each of ``delivery_ids`` reached ``inbox``."""

    def arrived() -> bool:
        return delivery_ids <= {r.headers.get("webhook-id") for r in inbox.received}

    async with asyncio.timeout(timeout_s):
        while not arrived():
            await inbox.wait_for(len(inbox.received) + 1, timeout_s)


async def publish_at(
    settings: Settings, topic: str, records: Sequence[tuple[int | None, dict[str, Any]]]
) -> None:
    """Publish ``(partition, article)`` pairs (``None``: the producer picks by key)."""
    producer = make_producer(settings)
    await producer.start()
    try:
        for partition, raw in records:
            value, key = json.dumps(raw).encode(), str(raw["id"]).encode()
            if partition is None:
                await send_all(producer, [(topic, key, value, None)])
            else:
                await producer.send_and_wait(topic, value=value, key=key, partition=partition)
    finally:
        await producer.stop()
