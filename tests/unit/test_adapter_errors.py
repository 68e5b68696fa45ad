"""Library errors become newsalert's at the adapter boundary, with the same verdicts.

Redis (:mod:`newsalert.redis_errors`) and Kafka (:mod:`newsalert.kafka`) errors are
converted to :mod:`newsalert.errors` types; :func:`newsalert.isolation.classify` gives a
converted error the verdict the library error had, except a command Redis refuses
(``WRONGTYPE``), which is no longer waited for as if Redis were down.
"""

from __future__ import annotations

import asyncio
import inspect
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import (
    IllegalStateError,
    KafkaConnectionError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RequestTimedOutError,
)
from redis import exceptions as redis_errors

from newsalert import kafka
from newsalert.backtest import replay
from newsalert.dispatcher.log import DeliveryLog
from newsalert.dispatcher.store import DeliveryStore
from newsalert.errors import (
    InfraError,
    KafkaUnavailableError,
    OversizedRecordError,
    RecordError,
    RedisUnavailableError,
    StoreError,
)
from newsalert.isolation import DeadLetterReason, classify
from newsalert.redis_errors import converted, redis_call, redis_calls
from newsalert.settings import Settings

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


@pytest.mark.parametrize(
    "error",
    [
        redis_errors.ConnectionError("Error 111 connecting"),
        redis_errors.TimeoutError("Timeout reading from socket"),
        redis_errors.BusyLoadingError("LOADING Redis is loading the dataset in memory"),
        redis_errors.ReadOnlyError("READONLY You can't write against a read only replica"),
        redis_errors.OutOfMemoryError("OOM command not allowed when used memory > 'maxmemory'"),
        redis_errors.NoPermissionError("NOPERM this user has no permissions"),
        redis_errors.AuthenticationError("invalid username-password pair"),
        ConnectionResetError(),
    ],
)
def test_an_unavailable_redis_is_an_infra_error(error: Exception) -> None:
    assert isinstance(converted(error), RedisUnavailableError)
    assert classify(converted(error)) == "infrastructure"
    assert classify(error) == "infrastructure"  # the same, unconverted


@pytest.mark.parametrize(
    "error",
    [
        redis_errors.ResponseError(WRONGTYPE),
        redis_errors.ResponseError("ERR Error running script (call to f_1): user_script:3"),
        redis_errors.DataError("Invalid input of type: 'NoneType'"),
    ],
)
def test_a_refused_command_is_a_store_error_not_waited_for(error: Exception) -> None:
    store_error = converted(error)
    assert isinstance(store_error, StoreError)
    assert not isinstance(store_error, InfraError)
    # Unexpected: the batch rewinds a few times, then the record goes to the DLQ.
    assert classify(store_error) == "unexpected"
    assert classify(error) == "unexpected"


async def test_a_decorated_store_method_raises_only_newsalert_errors() -> None:
    class Store:
        @redis_call
        async def get(self, error: Exception) -> None:
            raise error

    with pytest.raises(StoreError, match=r"Store\.get: redis refused the command: WRONGTYPE"):
        await Store().get(redis_errors.ResponseError(WRONGTYPE))
    with pytest.raises(RedisUnavailableError) as caught:
        await Store().get(redis_errors.ConnectionError("down"))
    assert isinstance(caught.value.__cause__, redis_errors.ConnectionError)
    assert caught.value.dependency == "redis"


def test_other_errors_pass_the_redis_boundary_unchanged() -> None:
    with pytest.raises(KeyError), redis_calls():
        raise KeyError("a bug")


@pytest.mark.parametrize(
    "error",
    [KafkaConnectionError(), KafkaTimeoutError(), RequestTimedOutError(), IllegalStateError()],
)
def test_a_kafka_error_is_an_infra_error(error: Exception) -> None:
    unavailable = kafka.converted(error)
    assert isinstance(unavailable, KafkaUnavailableError)
    assert unavailable.dependency == "kafka"
    assert classify(unavailable) == classify(error) == "infrastructure"


@pytest.mark.parametrize("error", [MessageSizeTooLargeError(), RecordListTooLargeError()])
def test_a_record_too_large_for_the_broker_is_the_records_fault(error: Exception) -> None:
    oversized = kafka.converted(error)
    assert isinstance(oversized, OversizedRecordError)
    assert isinstance(oversized, RecordError)
    assert classify(oversized) == classify(error) == "record"
    # The DLQ letter reads as it did for the library error.
    assert DeadLetterReason.of(oversized) == DeadLetterReason.of(error)


async def test_await_stored_raises_the_converted_first_failure() -> None:
    loop = asyncio.get_running_loop()
    ok: asyncio.Future[Any] = loop.create_future()
    failed: asyncio.Future[Any] = loop.create_future()
    ok.set_result(None)
    failed.set_exception(RequestTimedOutError())
    with pytest.raises(KafkaUnavailableError) as caught:
        await kafka.await_stored([ok, failed])
    assert isinstance(caught.value.__cause__, RequestTimedOutError)


class _Consumer:
    """The consumer calls the adapter makes, failing as a broker that went away."""

    def __init__(self) -> None:
        self.seeks: list[tuple[TopicPartition, int]] = []

    async def getmany(self, **_: Any) -> dict[Any, Any]:
        raise KafkaConnectionError()

    async def commit(self, _offsets: Any) -> None:
        raise KafkaTimeoutError()

    def seek(self, partition: TopicPartition, offset: int) -> None:
        if partition.partition == 1:  # taken by another consumer in a rebalance
            raise IllegalStateError()
        self.seeks.append((partition, offset))


class _Record:
    def __init__(self, offset: int) -> None:
        self.offset = offset


async def test_consumer_calls_raise_only_newsalert_errors() -> None:
    consumer: Any = _Consumer()
    with pytest.raises(KafkaUnavailableError):
        await kafka.fetch(consumer, timeout_ms=1, max_records=1)
    batches: Any = {TopicPartition("alerts", 0): [_Record(7), _Record(8)]}
    with pytest.raises(KafkaUnavailableError):
        await kafka.commit(consumer, batches)


def test_rewind_seeks_each_partition_to_its_first_record_and_skips_lost_ones() -> None:
    consumer: Any = _Consumer()
    batches: Any = {
        TopicPartition("alerts", 0): [_Record(7), _Record(8)],
        TopicPartition("alerts", 1): [_Record(3)],
        TopicPartition("alerts", 2): [_Record(5)],
    }
    kafka.rewind(consumer, batches)
    assert consumer.seeks == [(TopicPartition("alerts", 0), 7), (TopicPartition("alerts", 2), 5)]


@pytest.mark.parametrize("store", [DeliveryStore, DeliveryLog])
def test_every_redis_call_of_the_delivery_store_is_converted(store: type) -> None:
    public = {
        name: member
        for name, member in vars(store).items()
        if not name.startswith("_") and inspect.iscoroutinefunction(member)
    }
    assert public
    unconverted = [name for name, member in public.items() if not hasattr(member, "__wrapped__")]
    assert unconverted == [], "decorate them with newsalert.redis_errors.redis_call"


class _NoRecords:
    """A source range with one partition and nothing in it."""

    partitions: dict[int, None] = {0: None}  # noqa: RUF012  (read only)
    scanned = 0

    async def __aenter__(self) -> _NoRecords:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None

    def __aiter__(self) -> _NoRecords:
        return self

    async def __anext__(self) -> Any:
        raise StopAsyncIteration


async def test_a_replay_that_cannot_reach_the_broker_raises_a_newsalert_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The producer's start is where an unreachable broker shows (topics taken as made).
    async def topics_exist(*_args: Any, **_kwargs: Any) -> None:
        return None

    monkeypatch.setattr(replay, "ensure_topics", topics_exist)
    settings = Settings(kafka_bootstrap="127.0.0.1:1")
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    source: Any = _NoRecords()
    with pytest.raises(KafkaUnavailableError) as caught:
        await replay.replay_range(settings, "from", "to", moment, moment, source=source)
    assert isinstance(caught.value.__cause__, KafkaConnectionError)


@pytest.mark.parametrize("command", ["publish", "deliver"])
async def test_a_producer_that_cannot_start_is_closed_and_reported(
    command: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``newsalert publish`` and a backtest's ``--deliver`` on a broker that refuses:
    a newsalert error, and the half-started producer closed (not left to the collector)."""
    from newsalert import publishing
    from newsalert.backtest import deliver
    from newsalert.stack.process import free_port

    module: Any = publishing if command == "publish" else deliver
    made: list[Any] = []

    def recording(settings: Settings, **options: Any) -> Any:
        made.append(kafka.make_producer(settings, **options))
        return made[-1]

    monkeypatch.setattr(module, "make_producer", recording)
    settings = Settings(kafka_bootstrap=f"127.0.0.1:{free_port()}")  # nothing listens there
    articles = tmp_path / "articles.jsonl"
    articles.write_text('{"id": "a1", "title": "t", "body": "b"}\n')
    monkeypatch.setattr(deliver, "ensure_topics", _no_topics)
    run = (
        publishing.publish_file(settings, articles, "articles")
        if command == "publish"
        else deliver.deliver_alerts(settings, [])
    )
    with pytest.raises(KafkaUnavailableError):
        await run
    assert len(made) == 1
    assert made[0]._closed


async def _no_topics(*_: Any, **__: Any) -> None:
    return None
