"""Backtests from a Kafka time range, on tansu and on Apache Kafka.

Records are produced with known timestamps into known partitions, so every edge is
pinned down: a record exactly at ``--from`` is in, one exactly at ``--to`` is out, and
each partition's first and last records are reachable. The live consumer group's
committed offsets must be untouched afterwards, and no consumer group may appear.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import OffsetAndMetadata
from typer.testing import CliRunner

from newsalert import constants
from newsalert.backtest.cli import app
from newsalert.backtest.kafka_range import KafkaRange
from newsalert.kafka import committed_offsets, ensure_topics, make_producer
from newsalert.settings import Settings

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 20, tzinfo=UTC)
PARTITIONS = 3
PER_PARTITION = 10
SECRET = "whsec_dGVzdHNlY3JldHRlc3Q="
RULES = """
version: 1
rules:
  - id: port-news
    all: ["port"]
    tags: [desk]
  - id: harbour-news
    all: ["harbour"]
subscriptions:
  - id: desk
    url: ${HOOK_URL}/desk
    secret: ${HOOK_SECRET}
    rules: ["tag:desk"]
"""


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def stamp(partition: int, index: int) -> datetime:
    """Record ``index`` of ``partition``: hour ``index``, plus ``partition`` minutes."""
    return T0 + timedelta(hours=index, minutes=partition)


def article(partition: int, index: int) -> dict[str, object]:
    words = [
        "alpha",
        "bravo",
        "charlie",
        "delta",
        "echo",
        "foxtrot",
        "golf",
        "hotel",
        "india",
        "juliet",
    ]
    body = (
        f"Port bulletin {partition}-{index}: the {words[index]} berth at the port reported "
        f"{index * 7 + partition} vessels. "
        + ("Harbour pilots were busy." if index % 2 else "Pilots rested.")
        + f" Code {words[(index + partition) % 10]} {words[(index * 3 + partition) % 10]}."
    )
    data: dict[str, object] = {
        "id": f"p{partition}-{index}",
        "title": f"Port bulletin {partition}-{index}",
        "body": body,
    }
    if index % 2 == 0:  # half carry published_at (= record time), half rely on the record timestamp
        data["published_at"] = stamp(partition, index).isoformat()
    return data


async def produce(
    settings: Settings, topic: str, extra: list[tuple[int, datetime, dict[str, object]]] = ()
) -> None:  # type: ignore[assignment]
    await ensure_topics(settings, [topic], partitions=PARTITIONS)
    producer = make_producer(settings)
    await producer.start()
    try:
        for partition in range(PARTITIONS):
            for index in range(PER_PARTITION):
                await producer.send_and_wait(
                    topic,
                    json.dumps(article(partition, index)).encode(),
                    key=f"p{partition}-{index}".encode(),
                    partition=partition,
                    timestamp_ms=ms(stamp(partition, index)),
                )
        for partition, when, data in extra:
            await producer.send_and_wait(
                topic, json.dumps(data).encode(), partition=partition, timestamp_ms=ms(when)
            )
    finally:
        await producer.stop()


def expected(start: datetime, end: datetime) -> set[str]:
    return {
        f"p{p}-{i}"
        for p in range(PARTITIONS)
        for i in range(PER_PARTITION)
        if start <= stamp(p, i) < end
    }


async def read_range(
    settings: Settings, topic: str, start: datetime, end: datetime, **kw: object
) -> list[str]:
    ids = []
    async with KafkaRange(settings, topic, start, end, **kw) as source:  # type: ignore[arg-type]
        async for record in source:
            assert record.value is not None
            ids.append(json.loads(record.value)["id"])
    return ids


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (
            T0 + timedelta(hours=3),
            T0 + timedelta(hours=7),
        ),  # p0-3 exactly at --from, p0-7 exactly at --to
        (T0 - timedelta(days=1), T0 + timedelta(hours=3)),  # every partition's first records
        (T0 + timedelta(hours=7), T0 + timedelta(days=1)),  # every partition's last records
        (
            T0 + timedelta(hours=3, minutes=1),
            T0 + timedelta(hours=3, minutes=2),
        ),  # one record: p1-3
        (T0 + timedelta(days=2), T0 + timedelta(days=3)),  # nothing
    ],
)
def test_range_reads_exactly_the_records_inside(
    settings: Settings, start: datetime, end: datetime
) -> None:
    topic = settings.topic(constants.TOPIC_ARTICLES)
    asyncio.run(produce(settings, topic))
    ids = asyncio.run(read_range(settings, topic, start, end))
    assert len(ids) == len(set(ids))
    assert set(ids) == expected(start, end)


def test_out_of_order_timestamps_need_lateness(settings: Settings) -> None:
    topic = settings.topic(constants.TOPIC_ARTICLES)
    late = {"id": "late-1", "title": "Port note", "body": "A late port note."}
    asyncio.run(produce(settings, topic, [(1, T0 + timedelta(hours=5, seconds=30), late)]))
    start, end = T0 + timedelta(hours=3), T0 + timedelta(hours=7)
    strict = asyncio.run(read_range(settings, topic, start, end))
    assert set(strict) == expected(start, end)  # stops at the first record at or after --to
    lenient = asyncio.run(read_range(settings, topic, start, end, lateness=timedelta(days=1)))
    assert set(lenient) == expected(start, end) | {"late-1"}


async def commit_live_group(settings: Settings, topic: str, offsets: dict[int, int]) -> None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=settings.group(constants.MATCHER_GROUP),
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, p) for p in offsets])
        await consumer.commit(
            {TopicPartition(topic, p): OffsetAndMetadata(o, "") for p, o in offsets.items()}
        )
    finally:
        await consumer.stop()


async def group_state(settings: Settings, topic: str) -> dict[int, int | None]:
    """The live matcher group's committed offsets, read with OffsetFetch (no join)."""
    return await committed_offsets(settings, settings.group(constants.MATCHER_GROUP), topic)


async def group_names(settings: Settings) -> set[str] | None:
    """Every consumer group, or ``None`` when the broker cannot list them (tansu)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        return {group[0] for group in await admin.list_consumer_groups()}
    except Exception:  # tansu answers ListGroups with a frame aiokafka cannot decode
        return None
    finally:
        await admin.close()


def backtest_env(settings: Settings) -> dict[str, str]:
    return {
        "NEWSALERT_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "NEWSALERT_TOPIC_PREFIX": settings.topic_prefix,
        "NEWSALERT_REDIS_URL": settings.redis_url,
        "HOOK_URL": "http://127.0.0.1:9",
        "HOOK_SECRET": SECRET,
    }


def test_cli_backtest_over_a_subrange_leaves_the_live_group_alone(
    settings: Settings, tmp_path: Path
) -> None:
    topic = settings.topic(constants.TOPIC_ARTICLES)
    asyncio.run(produce(settings, topic))
    asyncio.run(commit_live_group(settings, topic, {0: 4, 1: 2, 2: 9}))
    before = asyncio.run(group_state(settings, topic))
    groups_before = asyncio.run(group_names(settings))
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    start, end = T0 + timedelta(hours=3), T0 + timedelta(hours=7)
    result = CliRunner().invoke(
        app,
        [
            "--rules",
            str(rules),
            "--topic",
            constants.TOPIC_ARTICLES,
            "--from",
            start.isoformat(),
            "--to",
            "2026-11-20T07:00:00",
            "--format",
            "json",
        ],
        env=backtest_env(settings),
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    inside = expected(start, end)
    assert report["articles"] == len(inside) == 12
    assert {m["article_id"] for m in report["matches"] if m["rule_id"] == "port-news"} == inside
    assert report["range"]["from"] == "2026-11-20T03:00:00Z"
    assert report["range"]["to"] == "2026-11-20T07:00:00Z"
    assert report["records"] == 12
    assert report["records_scanned"] >= 12
    assert report["range"]["first_article"] == "2026-11-20T03:00:00Z"
    assert report["range"]["last_article"] == "2026-11-20T06:02:00Z"
    assert asyncio.run(group_state(settings, topic)) == before == {0: 4, 1: 2, 2: 9}
    if groups_before is not None:
        assert asyncio.run(group_names(settings)) == groups_before  # no group was created


def test_deliver_publishes_the_subscription_alerts_with_their_ids(
    settings: Settings, tmp_path: Path
) -> None:
    topic = settings.topic(constants.TOPIC_ARTICLES)
    asyncio.run(produce(settings, topic))
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    result = CliRunner().invoke(
        app,
        [
            "--rules",
            str(rules),
            "--topic",
            constants.TOPIC_ARTICLES,
            "--from",
            T0.isoformat(),
            "--to",
            (T0 + timedelta(days=1)).isoformat(),
            "--format",
            "json",
            "--deliver",
            "desk",
        ],
        env=backtest_env(settings),
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    wanted = {a["alert_id"] for a in report["alerts"] if a["rule_id"] == "port-news"}
    assert {a["rule_id"] for a in report["alerts"]} == {"port-news", "harbour-news"}
    assert report["delivered"] == {"subscription": "desk", "alerts": len(wanted)}
    records = asyncio.run(read_all(settings, settings.topic(constants.TOPIC_ALERTS), len(wanted)))
    assert {r.key.decode() for r in records if r.key} == wanted
    assert {json.loads(r.value)["alert_id"] for r in records if r.value} == wanted


async def read_all(settings: Settings, topic: str, count: int) -> list:  # type: ignore[type-arg]
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    got = []
    try:
        async with asyncio.timeout(20):
            while len(got) < count:
                for records in (await consumer.getmany(timeout_ms=300)).values():
                    got.extend(records)
        extra = await consumer.getmany(timeout_ms=500)
        got.extend(r for records in extra.values() for r in records)
    finally:
        await consumer.stop()
    return got


async def produce_batched(settings: Settings, topic: str, count: int) -> None:
    """Records sent without waiting for each, so the producer batches them."""
    await ensure_topics(settings, [topic], partitions=PARTITIONS)
    producer = make_producer(settings, linger_ms=20)
    await producer.start()
    try:
        futures = [
            await producer.send(
                topic,
                json.dumps({"id": f"b{n}", "title": "Port", "body": f"port {n}"}).encode(),
                partition=n % PARTITIONS,
                timestamp_ms=ms(T0 + timedelta(minutes=n)),
            )
            for n in range(count)
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def test_last_record_of_batched_partitions_is_read(settings: Settings) -> None:
    """tansu under-reports end offsets after batched produces; the reader checks them."""
    topic = settings.topic(constants.TOPIC_ARTICLES)
    asyncio.run(produce_batched(settings, topic, 60))
    ids = asyncio.run(read_range(settings, topic, T0, T0 + timedelta(days=1)))
    assert sorted(ids) == sorted(f"b{n}" for n in range(60))


async def read_stamps(settings: Settings, topic: str, start: datetime, end: datetime) -> list[int]:
    stamps = []
    async with KafkaRange(settings, topic, start, end) as source:
        async for record in source:
            assert record.timestamp_ms is not None
            stamps.append(record.timestamp_ms)
    return stamps


def test_partitions_are_merged_in_time_order(settings: Settings) -> None:
    topic = settings.topic(constants.TOPIC_ARTICLES)
    asyncio.run(produce(settings, topic))
    stamps = asyncio.run(read_stamps(settings, topic, T0, T0 + timedelta(days=1)))
    assert len(stamps) == PARTITIONS * PER_PARTITION
    assert stamps == sorted(stamps)


def test_range_starting_before_1970_reads_from_the_beginning(settings: Settings) -> None:
    topic = settings.topic(constants.TOPIC_ARTICLES)
    asyncio.run(produce(settings, topic))
    start = datetime(1900, 1, 1, tzinfo=UTC)
    ids = asyncio.run(read_range(settings, topic, start, T0 + timedelta(hours=1)))
    assert set(ids) == expected(start, T0 + timedelta(hours=1))
