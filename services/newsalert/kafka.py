"""Kafka adapter: topic creation and the producer every service shares.

The embedded broker (tansu) does not support the idempotent producer, so it stays off;
``acks="all"`` still means a send resolves only once the broker has the record, which is
what at-least-once needs (a duplicate after a retry is removed downstream by ids).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from newsalert import constants
from newsalert.errors import NewsalertError
from newsalert.settings import Settings


class KafkaUnavailableError(NewsalertError):
    """The broker could not be reached or refused an administrative request."""


def service_topics(settings: Settings) -> list[str]:
    """Every topic the services read or write, with the configured prefix."""
    names = (
        constants.TOPIC_ARTICLES,
        constants.TOPIC_ALERTS,
        constants.TOPIC_ARTICLES_DLQ,
        constants.TOPIC_ALERTS_DLQ,
    )
    return [settings.topic(name) for name in names]


async def ensure_topics(
    settings: Settings, topics: Iterable[str] | None = None, partitions: int = 3
) -> None:
    """Create missing topics (idempotent); existing topics are left as they are."""
    wanted = list(topics) if topics is not None else service_topics(settings)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        missing = [name for name in wanted if name not in existing]
        if missing:
            # Another process may create one between our list and create: that is fine.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [
                        NewTopic(name, num_partitions=partitions, replication_factor=1)
                        for name in missing
                    ]
                )
    except KafkaError as exc:
        raise KafkaUnavailableError(f"Kafka at {settings.kafka_bootstrap}: {exc}") from exc
    finally:
        await admin.close()


def make_producer(settings: Settings, *, linger_ms: int = 0) -> AIOKafkaProducer:
    """A producer that confirms each send only once the broker stored it."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        acks="all",
        enable_idempotence=False,
        linger_ms=linger_ms,
        max_request_size=4 * 1024 * 1024,
    )


async def send_all(
    producer: AIOKafkaProducer,
    records: Sequence[tuple[str, bytes | None, bytes, list[tuple[str, bytes]] | None]],
) -> None:
    """Send ``(topic, key, value, headers)`` records and wait until every one is stored."""
    futures = [
        await producer.send(topic, value=value, key=key, headers=headers)
        for topic, key, value, headers in records
    ]
    if futures:
        await asyncio.gather(*futures)
