"""``newsalert replay``: copy a time range to another topic, keys/headers/timestamps kept."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import typer
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from typer.testing import CliRunner

from newsalert import constants
from newsalert.backtest.cli import replay
from newsalert.kafka import make_producer
from newsalert.settings import Settings
from tests.integration.test_backtest_kafka import (
    PARTITIONS,
    T0,
    backtest_env,
    expected,
    ms,
    produce,
)

pytestmark = pytest.mark.integration


async def read_everything(
    settings: Settings, topic: str, count: int
) -> list[ConsumerRecord[bytes, bytes]]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    got: list[ConsumerRecord[bytes, bytes]] = []
    try:
        async with asyncio.timeout(20):
            while len(got) < count:
                for records in (await consumer.getmany(timeout_ms=300)).values():
                    got.extend(records)
        for records in (await consumer.getmany(timeout_ms=700)).values():
            got.extend(records)  # anything beyond count would be a bug
    finally:
        await consumer.stop()
    return got


async def add_header_record(settings: Settings, topic: str) -> None:
    producer = make_producer(settings)
    await producer.start()
    try:
        await producer.send_and_wait(
            topic,
            b'{"id": "h1", "title": "t", "body": "b"}',
            key=b"h1",
            partition=2,
            timestamp_ms=ms(T0 + timedelta(hours=4, seconds=1)),
            headers=[("trace", b"abc")],
        )
    finally:
        await producer.stop()


def test_replay_copies_exactly_the_range(settings: Settings) -> None:
    source = settings.topic(constants.TOPIC_ARTICLES)
    asyncio.run(produce(settings, source))
    asyncio.run(add_header_record(settings, source))
    cli = typer.Typer()
    cli.command()(replay)
    start, end = T0 + timedelta(hours=3), T0 + timedelta(hours=7)
    result = CliRunner().invoke(
        cli,
        [
            "--topic",
            constants.TOPIC_ARTICLES,
            "--from",
            start.isoformat(),
            "--to",
            end.isoformat(),
            "--to-topic",
            "staging.articles",
            "--lateness",
            "1d",
        ],
        env=backtest_env(settings),
    )
    assert result.exit_code == 0, result.stderr
    wanted = expected(start, end) | {"h1"}
    assert f"copied {len(wanted)} records" in result.stdout
    copied = asyncio.run(read_everything(settings, settings.topic("staging.articles"), len(wanted)))
    assert sorted(r.key.decode() for r in copied if r.key) == sorted(wanted)
    for record in copied:
        assert record.key is not None
        key = record.key.decode()
        if key == "h1":
            assert (record.partition, list(record.headers)) == (2, [("trace", b"abc")])
            continue
        partition, index = (int(part) for part in key[1:].split("-"))
        assert record.partition == partition  # same partition count -> same partition
        assert record.timestamp == ms(T0 + timedelta(hours=index, minutes=partition))
        assert f'"id": "{key}"'.encode() in record.value
    assert PARTITIONS == 3


def test_replay_refuses_to_copy_a_topic_onto_itself(settings: Settings) -> None:
    cli = typer.Typer()
    cli.command()(replay)
    result = CliRunner().invoke(
        cli,
        ["--topic", "articles", "--from", "-1d", "--to-topic", "articles"],
        env=backtest_env(settings),
    )
    assert result.exit_code == 1
    assert "must differ" in result.stderr
