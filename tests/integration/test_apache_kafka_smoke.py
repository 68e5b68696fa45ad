"""The Apache Kafka reference broker starts, serves a consumer group and stops cleanly.

Talks to the broker with aiokafka only (no newsalert service code), so a failure here
points at :mod:`newsalert.stack.apache_kafka`, not at the matcher or dispatcher.
Skips, saying why, when ``java`` or ``mvn`` is missing (fails instead when
``NEWSALERT_REQUIRE_KAFKA_REFERENCE=1``, as in CI).
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from newsalert.stack.apache_kafka import ApacheKafka

pytestmark = [pytest.mark.kafka_reference, pytest.mark.timeout(300)]

POM = Path(__file__).resolve().parents[1] / "kafka-reference" / "pom.xml"


def _require_java_and_mvn() -> None:
    reason = ApacheKafka.unavailable_reason()
    if reason is None:
        return
    if os.environ.get("NEWSALERT_REQUIRE_KAFKA_REFERENCE") == "1":
        pytest.fail(f"Apache Kafka leg required but unavailable: {reason}")
    pytest.skip(f"Apache Kafka leg skipped: {reason}")


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApacheKafka]:
    """One Apache Kafka for this module."""
    _require_java_and_mvn()
    kafka = ApacheKafka(tmp_path_factory.mktemp("apache-kafka"), POM)
    kafka.start()
    yield kafka
    kafka.stop()


async def test_topic_group_commit_and_offsets_for_times(broker: ApacheKafka) -> None:
    bootstrap = broker.bootstrap
    topic = f"smoke-{uuid.uuid4().hex[:12]}"
    group = f"smoke-group-{uuid.uuid4().hex[:8]}"

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    assert len(described[0]["partitions"]) == 3

    base_ms = int(time.time() * 1000) - 3_600_000
    tp = TopicPartition(topic, 0)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for i in range(6):
            meta = await producer.send_and_wait(
                topic, f"m{i}".encode(), partition=0, timestamp_ms=base_ms + i * 1000
            )
            assert meta.offset == i
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        received: list[bytes] = []
        deadline = time.monotonic() + 60
        while len(received) < 6 and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=1000)
            received += [record.value for records in batches.values() for record in records]
        assert received == [f"m{i}".encode() for i in range(6)]
        await consumer.commit()
        assert await consumer.committed(tp) == 6

        found = await consumer.offsets_for_times({tp: base_ms + 2500})
        assert found[tp] is not None
        assert found[tp].offset == 3
        assert found[tp].timestamp == base_ms + 3000
        after_end = await consumer.offsets_for_times({tp: base_ms + 60_000})
        assert after_end[tp] is None
    finally:
        await consumer.stop()

    # The commit is durable: the group's next member resumes after it, not from earliest.
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"after-commit", partition=0)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        record = await consumer.getone()
    finally:
        await consumer.stop()
    assert (record.partition, record.offset, record.value) == (0, 6, b"after-commit")


def test_stop_ends_the_broker_and_removes_its_state(tmp_path: Path) -> None:
    _require_java_and_mvn()
    state = tmp_path / "kafka"
    kafka = ApacheKafka(state, POM)
    bootstrap = kafka.start(timeout_s=180)
    try:
        assert kafka.start() == bootstrap  # a second start returns the running broker
        assert (state / "data" / "meta.properties").is_file()
        port = int(bootstrap.rsplit(":", 1)[1])
        assert _port_open(port)
    finally:
        kafka.stop()
    assert not state.exists()
    assert not _port_open(port)


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0
