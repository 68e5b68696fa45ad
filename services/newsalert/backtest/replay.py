"""``newsalert replay``: copy one time range of a topic to another (staging, backtests).

Records keep their key, value, headers and timestamp; each goes to the same partition
number when the target has as many partitions as the source (so per-key order is kept),
else the target's partitioner places it by key. The target is created, with the
source's partition count, when missing. Reading is the backtest's :class:`KafkaRange`:
a throw-away consumer that commits nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from newsalert.backtest.kafka_range import KafkaRange, KafkaRangeError
from newsalert.kafka import ensure_topics, kafka_calls, make_producer
from newsalert.settings import Settings

_WINDOW = 1000


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """How many records were copied, and how many were read to find them."""

    copied: int
    scanned: int


async def replay_range(
    settings: Settings,
    source_topic: str,
    target_topic: str,
    start: datetime,
    end: datetime,
    *,
    lateness: timedelta = timedelta(0),
    on_record: Callable[[int], None] | None = None,
    source: KafkaRange | None = None,
) -> ReplayResult:
    """Copy ``source_topic``'s records with ``start <= timestamp < end`` to ``target_topic``."""
    if source_topic == target_topic:
        raise KafkaRangeError("--to-topic must differ from --topic")
    reader = source or KafkaRange(settings, source_topic, start, end, lateness=lateness)
    copied = 0
    async with reader:
        partitions = len(reader.partitions)
        await ensure_topics(settings, [target_topic], partitions=partitions)
        producer = make_producer(settings, linger_ms=5)
        try:
            # aiokafka's errors become newsalert's (the command reports them, no traceback)
            with kafka_calls():
                await producer.start()
                keep_partition = len(await producer.partitions_for(target_topic)) == partitions
                pending = []
                async for record in reader:
                    pending.append(
                        await producer.send(
                            target_topic,
                            value=record.value,
                            key=record.key,
                            headers=list(record.headers) or None,
                            timestamp_ms=record.timestamp_ms,
                            partition=record.partition if keep_partition else None,
                        )
                    )
                    copied += 1
                    if on_record is not None:
                        on_record(copied)
                    if len(pending) >= _WINDOW:
                        for future in pending:
                            await future
                        pending.clear()
                for future in pending:
                    await future
        finally:
            await producer.stop()
        return ReplayResult(copied=copied, scanned=reader.scanned)
