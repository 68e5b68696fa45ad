"""Read one time range of a topic without disturbing anyone: the backtest and replay input.

A throw-away consumer: no group id (so nothing is ever committed and no live group is
joined or rebalanced), partitions assigned explicitly, end offsets snapshotted at the
start (records arriving later are not part of the run; the reported end is checked by
reading on from it, because tansu under-reports it). Each partition is sought with
``offsets_for_times(--from)`` -- but only as a *hint*: some Kafka-protocol brokers
(tansu) answer it wrongly, so every record is still filtered by its own timestamp
(``--from`` inclusive, ``--to`` exclusive) and the result is exact either way. A
partition is finished at its end snapshot, or at the first record whose timestamp is at
least ``--to`` + ``lateness`` (record timestamps are not ordered when an archive was
published by article time; a lateness allowance keeps reading past ``--to`` for them).
Partitions are merged by record timestamp, so the pipeline sees articles in time order
across partitions, as the live matcher did; within a partition, offset order is kept.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from newsalert.backtest.records import SourceRecord
from newsalert.errors import NewsalertError
from newsalert.settings import Settings
from newsalert.timespec import to_ms

_IDLE_LIMIT_S = 30.0
_METADATA_TRIES = 20
_PROBE_ROUNDS = 20
_PROBE_WAIT_MS = 300
_UNKNOWN_TOPIC = 3  # Kafka error code UNKNOWN_TOPIC_OR_PARTITION


class KafkaRangeError(NewsalertError):
    """The topic cannot be read (missing topic, broker unreachable, stalled fetch)."""


@dataclass(slots=True)
class PartitionProgress:
    """Where one partition's read stands."""

    partition: int
    begin: int
    start: int
    end: int
    scanned: int = 0
    kept: int = 0
    finished: bool = False


class KafkaRange:
    """Async-iterate the records of ``topic`` with ``start <= timestamp < end``.

    Use as ``async with KafkaRange(...) as source: async for record in source: ...``.
    """

    def __init__(
        self,
        settings: Settings,
        topic: str,
        start: datetime,
        end: datetime,
        *,
        lateness: timedelta = timedelta(0),
        fetch_records: int = 2000,
    ) -> None:
        if end <= start:
            raise KafkaRangeError(
                f"--to ({end.isoformat()}) must be after --from ({start.isoformat()})"
            )
        self._settings = settings
        self.topic = topic
        self.start_ms = to_ms(start)
        self.end_ms = to_ms(end)
        self._stop_ms = to_ms(end + lateness)
        self._fetch_records = fetch_records
        self._consumer: AIOKafkaConsumer | None = None
        self.partitions: dict[TopicPartition, PartitionProgress] = {}

    async def __aenter__(self) -> KafkaRange:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._settings.bootstrap_servers,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            client_id="newsalert-backtest",
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        self._consumer = consumer  # set first: close() must stop it even if start() fails
        try:
            await consumer.start()
            await self._assign(consumer)
        except KafkaError as exc:
            await self.close()
            raise KafkaRangeError(f"Kafka at {self._settings.kafka_bootstrap}: {exc}") from exc
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop the consumer (it never committed anything)."""
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            await consumer.stop()

    async def _partition_numbers(self) -> list[int]:
        # Asked of the admin client: a consumer without subscriptions has no metadata for
        # the topic on Apache Kafka (tansu happens to send every topic's).
        admin = AIOKafkaAdminClient(bootstrap_servers=self._settings.bootstrap_servers)
        await admin.start()
        try:
            for _ in range(_METADATA_TRIES):
                described = await admin.describe_topics([self.topic])
                entry = next((t for t in described if t.get("topic") == self.topic), None)
                code = entry.get("error_code", 0) if entry else _UNKNOWN_TOPIC
                if code == _UNKNOWN_TOPIC:
                    raise KafkaRangeError(f"topic {self.topic!r} does not exist")
                if entry is not None and code == 0 and entry.get("partitions"):
                    return sorted(p["partition"] for p in entry["partitions"])
                await asyncio.sleep(0.5)  # leader election right after creation
        finally:
            await admin.close()
        raise KafkaRangeError(f"topic {self.topic!r} has no readable partitions")

    async def _assign(self, consumer: AIOKafkaConsumer) -> None:
        numbers = await self._partition_numbers()
        tps = [TopicPartition(self.topic, number) for number in numbers]
        consumer.assign(tps)
        begins = await consumer.beginning_offsets(tps)
        ends = await self._true_ends(consumer, tps, await consumer.end_offsets(tps))
        hints = (
            await consumer.offsets_for_times(dict.fromkeys(tps, self.start_ms))
            if self.start_ms > 0  # Kafka refuses negative target times (before 1970)
            else {}
        )
        for tp in tps:
            begin, end = begins[tp], ends[tp]
            hint = hints.get(tp)
            # A hint can only ever move the start forward within [begin, end]; a missing
            # hint means "no record at or after --from" on a correct broker, but we do not
            # trust that either and read the partition (the filter keeps it exact).
            start = begin if hint is None else min(max(hint.offset, begin), end)
            progress = PartitionProgress(tp.partition, begin, start, end)
            progress.finished = start >= end
            self.partitions[tp] = progress
            if progress.finished:
                consumer.pause(tp)
            else:
                consumer.seek(tp, start)

    async def _true_ends(
        self, consumer: AIOKafkaConsumer, tps: list[TopicPartition], ends: dict[TopicPartition, int]
    ) -> dict[TopicPartition, int]:
        """End offsets as the records say: read on from each reported end until caught up.

        tansu under-reports the end after batched produces (the last record of each
        partition sat at the reported end offset); Apache Kafka's answer is exact and the
        probe then costs one empty fetch. Records produced during the probe are included,
        which is as good a snapshot as any taken at the start of the run.
        """
        found = dict(ends)
        for tp in tps:
            consumer.seek(tp, ends[tp])
        for _ in range(_PROBE_ROUNDS):
            batch = await consumer.getmany(*tps, timeout_ms=_PROBE_WAIT_MS)
            records = [(tp, rs[-1].offset) for tp, rs in batch.items() if rs]
            if not records:
                break
            for tp, last in records:
                found[tp] = max(found[tp], last + 1)
        return found

    @property
    def total(self) -> float | None:
        """Records between each partition's start and its end snapshot."""
        return float(sum(p.end - p.start for p in self.partitions.values()))

    @property
    def done(self) -> float:
        """Records scanned so far (finished partitions count in full)."""
        return float(
            sum(p.end - p.start if p.finished else p.scanned for p in self.partitions.values())
        )

    @property
    def describe(self) -> str:
        """Topic and partitions."""
        return f"topic {self.topic} ({len(self.partitions)} partitions)"

    @property
    def scanned(self) -> int:
        """Records fetched so far, in range or not."""
        return sum(p.scanned for p in self.partitions.values())

    def _finish(self, consumer: AIOKafkaConsumer, tp: TopicPartition) -> None:
        self.partitions[tp].finished = True
        consumer.pause(tp)

    async def __aiter__(self) -> AsyncIterator[SourceRecord]:
        consumer = self._consumer
        if consumer is None:
            raise KafkaRangeError("use 'async with KafkaRange(...)' before iterating")
        buffers: dict[TopicPartition, deque[ConsumerRecord[bytes, bytes]]] = {
            tp: deque() for tp in self.partitions
        }
        last_progress = time.monotonic()
        while True:
            hungry = [tp for tp, p in self.partitions.items() if not p.finished and not buffers[tp]]
            if hungry:
                if await self._fetch(consumer, hungry, buffers):
                    last_progress = time.monotonic()
                else:
                    await self._check_stalled(consumer, hungry, last_progress)
                continue
            # Every partition that still has records has one buffered: hand out the
            # oldest, so articles reach the pipeline in time order across partitions
            # (as the live matcher, reading all partitions as they fill, saw them).
            ready = [tp for tp, buffer in buffers.items() if buffer]
            if not ready:
                return
            tp = min(ready, key=lambda t: (buffers[t][0].timestamp, t.partition))
            record = buffers[tp].popleft()
            yield SourceRecord(
                record.value,
                record.timestamp,
                f"{tp.topic}/{tp.partition}@{record.offset}",
                record.key,
                tuple(record.headers or ()),
                tp.partition,
            )

    async def _fetch(
        self,
        consumer: AIOKafkaConsumer,
        partitions: list[TopicPartition],
        buffers: dict[TopicPartition, deque[ConsumerRecord[bytes, bytes]]],
    ) -> bool:
        """Fetch for ``partitions``; buffer the records in range. True if any record came."""
        try:
            batch = await consumer.getmany(
                *partitions, timeout_ms=200, max_records=self._fetch_records
            )
        except KafkaError as exc:
            raise KafkaRangeError(f"reading {self.topic}: {exc}") from exc
        arrived = False
        for tp, records in batch.items():
            progress = self.partitions[tp]
            for record in records:
                arrived = True
                if progress.finished or record.offset >= progress.end:
                    self._finish(consumer, tp)
                    break
                progress.scanned += 1
                stamp = record.timestamp
                if stamp >= self._stop_ms:
                    self._finish(consumer, tp)
                    break
                if self.start_ms <= stamp < self.end_ms:
                    progress.kept += 1
                    buffers[tp].append(record)
                if record.offset + 1 >= progress.end:
                    self._finish(consumer, tp)
                    break
        return arrived

    async def _check_stalled(
        self, consumer: AIOKafkaConsumer, active: list[TopicPartition], since: float
    ) -> None:
        # Offsets may skip (compaction, transaction markers): a partition whose position
        # reached the end snapshot is done even if its last record never came back.
        for tp in active:
            if await consumer.position(tp) >= self.partitions[tp].end:
                self._finish(consumer, tp)
        if time.monotonic() - since > _IDLE_LIMIT_S:
            raise KafkaRangeError(
                f"no records from {self.topic} for {_IDLE_LIMIT_S:.0f}s before the end offsets"
            )
        await asyncio.sleep(0)
