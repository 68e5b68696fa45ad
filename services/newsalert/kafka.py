"""Kafka adapter: topic creation, the producer every service shares, consumer calls.

aiokafka's errors do not leave this module: a record the broker refuses as too large
becomes an :class:`~newsalert.errors.OversizedRecordError` (it goes to a DLQ), any other
:class:`~newsalert.errors.KafkaUnavailableError` (the caller retries).

The embedded broker (tansu) does not support the idempotent producer, so it stays off;
``acks="all"`` still means a send resolves only once the broker has the record, which is
what at-least-once needs (a duplicate after a retry is removed downstream by ids).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import struct
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    KafkaError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
    TopicAlreadyExistsError,
)
from aiokafka.structs import OffsetAndMetadata

from newsalert import constants
from newsalert.errors import KafkaUnavailableError, NewsalertError, OversizedRecordError
from newsalert.settings import Settings

#: aiokafka's errors about one record's size (KafkaErrors, but the record's own fault).
TOO_LARGE = (MessageSizeTooLargeError, RecordTooLargeError, RecordListTooLargeError)

Batches = dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]
"""Records fetched by a consumer, by partition, in offset order."""


def converted(exc: Exception) -> NewsalertError:
    """The newsalert error for an aiokafka error (see the module docstring)."""
    if isinstance(exc, TOO_LARGE):
        return OversizedRecordError(f"{type(exc).__name__}: {exc}", type(exc).__name__)
    return KafkaUnavailableError(f"kafka: {type(exc).__name__}: {exc}")


@contextlib.contextmanager
def kafka_calls() -> Iterator[None]:
    """Convert the aiokafka errors raised in the block (see :func:`converted`)."""
    try:
        yield
    except KafkaError as exc:
        raise converted(exc) from exc


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
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
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


_M = 0x5BD1E995
_U32 = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's ``Utils.murmur2`` of ``data`` as an unsigned 32-bit int.

    The same function as aiokafka's ``partitioner.murmur2`` and the Java client's (so a
    key lands on the partition every Kafka client picks for it), with the 4-byte words
    unpacked in one call: per word it runs a third of the bytecode of aiokafka's version,
    which does the work per byte, and a matcher hashes the key of every alert it sends.
    """
    length = len(data)
    h = 0x9747B28C ^ length
    words = length >> 2
    for k in struct.unpack_from(f"<{words}I", data):
        k = (k * _M) & _U32
        k = ((k ^ (k >> 24)) * _M) & _U32
        h = ((h * _M) & _U32) ^ k
    rest = length & 3
    if rest:
        tail = words << 2
        if rest == 3:
            h ^= data[tail + 2] << 16
        if rest >= 2:
            h ^= data[tail + 1] << 8
        h = ((h ^ data[tail]) * _M) & _U32
    h = ((h ^ (h >> 13)) * _M) & _U32
    return h ^ (h >> 15)


def partition_for(key: bytes | None, all_partitions: list[int], available: list[int]) -> int:
    """Kafka's default partitioner: ``murmur2(key) & 0x7fffffff`` modulo the partition
    count; a record without a key goes to a random available partition."""
    if key is None:
        return random.choice(available or all_partitions)
    return all_partitions[(murmur2(key) & 0x7FFFFFFF) % len(all_partitions)]


def make_producer(settings: Settings, *, linger_ms: int = 0) -> AIOKafkaProducer:
    """A producer that confirms each send only once the broker stored it."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers,
        acks="all",
        enable_idempotence=False,
        linger_ms=linger_ms,
        # The matcher sends a whole batch's alerts before awaiting them: room for many
        # alerts per partition batch (the default 16 KiB holds a few dozen).
        max_batch_size=512 * 1024,
        max_request_size=4 * 1024 * 1024,
        partitioner=partition_for,
    )


class PendingSends:
    """Sends handed to a producer and not yet acknowledged, and since when.

    A broker that accepts connections but does not answer (a dead partition leader still
    in the ISR, a frozen broker) leaves sends outstanding for up to the client's request
    timeout while every health check passes; the age of the oldest outstanding send is
    what shows such a stalled produce path (``/readyz``, a gauge).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._started: dict[int, float] = {}
        self._next = 0

    @contextlib.contextmanager
    def track(self) -> Iterator[None]:
        """Count the enclosed send as outstanding until it returns or raises."""
        token = self._next
        self._next += 1
        self._started[token] = self._clock()
        try:
            yield
        finally:
            del self._started[token]

    def oldest_age_s(self) -> float:
        """Seconds the oldest outstanding send has waited (0 when none waits)."""
        if not self._started:
            return 0.0
        return max(0.0, self._clock() - min(self._started.values()))


ProducerRecord = tuple[str, bytes | None, bytes, list[tuple[str, bytes]] | None]
"""``(topic, key, value, headers)`` of one record to send."""


async def send_records(
    producer: AIOKafkaProducer, records: Sequence[ProducerRecord]
) -> list[asyncio.Future[Any]]:
    """Hand ``records`` to the producer in order; the futures resolve once each is stored
    (:func:`await_stored` waits for them)."""
    with kafka_calls():
        return [
            await producer.send(topic, value=value, key=key, headers=headers)
            for topic, key, value, headers in records
        ]


async def await_stored(
    futures: Sequence[asyncio.Future[Any]], pending: PendingSends | None = None
) -> None:
    """Wait until every send of ``futures`` is stored; raise the first failure.

    Every future is waited for even when one fails, so no send is left outstanding
    behind a caller that retries. With ``pending``, the wait counts as one outstanding
    send there.
    """
    if not futures:
        return
    with pending.track() if pending is not None else contextlib.nullcontext():
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
    failed = next((o for o in outcomes if isinstance(o, BaseException)), None)
    if isinstance(failed, KafkaError):
        raise converted(failed) from failed
    if failed is not None:
        raise failed


async def send_all(
    producer: AIOKafkaProducer,
    records: Sequence[ProducerRecord],
    pending: PendingSends | None = None,
) -> None:
    """Send ``(topic, key, value, headers)`` records and wait until every one is stored.

    With ``pending``, the wait counts as one outstanding send there.
    """
    with pending.track() if pending is not None else contextlib.nullcontext():
        await await_stored(await send_records(producer, records))


async def fetch(consumer: AIOKafkaConsumer, *, timeout_ms: int, max_records: int) -> Batches:
    """The next records of ``consumer``'s partitions (empty when none came in time)."""
    with kafka_calls():
        batches: Batches = await consumer.getmany(timeout_ms=timeout_ms, max_records=max_records)
    return batches


async def commit(consumer: AIOKafkaConsumer, batches: Batches) -> None:
    """Commit the offsets after ``batches`` for ``consumer``'s group."""
    offsets = {
        partition: OffsetAndMetadata(records[-1].offset + 1, "")
        for partition, records in batches.items()
    }
    with kafka_calls():
        await consumer.commit(offsets)


def rewind(consumer: AIOKafkaConsumer, batches: Batches) -> None:
    """Fetch ``batches`` again: seek each partition back to its first record.

    A partition a rebalance gave to another consumer is left alone (nothing to do).
    """
    for partition, records in batches.items():
        with contextlib.suppress(KafkaError, AssertionError, ValueError):
            consumer.seek(partition, records[0].offset)


async def partitions_of(settings: Settings, topic: str) -> list[int]:
    """Partition numbers of ``topic`` (empty when it does not exist)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    try:
        with kafka_calls():
            await admin.start()
            described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(int(p["partition"]) for d in described for p in d.get("partitions", []))


async def committed_offsets(settings: Settings, group: str, topic: str) -> dict[int, int | None]:
    """The offset ``group`` committed on each partition of ``topic`` (None: none yet).

    Read with OffsetFetch by a consumer that never subscribes, so the group is neither
    joined nor rebalanced (admin OffsetFetch is not answered by tansu).
    """
    partitions = await partitions_of(settings, topic)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers, group_id=group, enable_auto_commit=False
    )
    try:
        with kafka_calls():
            await consumer.start()
            return {p: await consumer.committed(TopicPartition(topic, p)) for p in partitions}
    finally:
        await consumer.stop()


async def group_caught_up(settings: Settings, group: str, topic: str) -> bool:
    """True when ``group`` committed up to the end of every partition of ``topic``."""
    committed = await committed_offsets(settings, group, topic)
    if not committed:
        return False
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers)
    try:
        with kafka_calls():
            await consumer.start()
            ends = await consumer.end_offsets([TopicPartition(topic, p) for p in committed])
    finally:
        await consumer.stop()
    return all((committed[tp.partition] or 0) >= end for tp, end in ends.items())
