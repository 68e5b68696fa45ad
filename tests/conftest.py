"""Shared fixtures: the embedded stack (tansu + Redis), the Apache Kafka leg, settings.

Every integration test that asks for ``kafka_bootstrap`` runs twice: on the embedded
tansu broker and on a real single-node Apache Kafka (KRaft) started from Maven jars.
The Kafka leg skips, saying why, when java or mvn is missing — unless
``NEWSALERT_REQUIRE_KAFKA_REFERENCE=1`` (set by CI), where a missing leg is a failure.
Each test gets its own topic prefix and Redis key prefix, so tests never see each
other's data on the shared servers.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsalert.settings import Settings
from newsalert.stack import EmbeddedStack, StackInfo
from newsalert.stack.embedded import spawn_redis
from newsalert.stack.process import ServerProcess, free_port

REPO = Path(__file__).resolve().parents[1]
CORPUS_DIR = Path(os.environ.get("NEWSALERT_CORPUS_DIR", REPO.parent / "shared" / "corpus"))


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The research corpus (read-only, never copied); skips the test when absent."""
    if not CORPUS_DIR.is_dir():
        pytest.skip(f"corpus not found at {CORPUS_DIR}")
    return CORPUS_DIR


@pytest.fixture(scope="session")
def embedded_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackInfo]:
    """One tansu broker and one Redis for the whole test session."""
    stack = EmbeddedStack(tmp_path_factory.mktemp("stack"))
    info = stack.up()
    yield info
    stack.down()


@pytest.fixture(scope="session")
def redis_url(embedded_stack: StackInfo) -> str:
    """URL of the session's Redis server."""
    return embedded_stack.redis_url


def _apache_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from newsalert.stack.apache_kafka import ApacheKafka

    reason = ApacheKafka.unavailable_reason()
    if reason is not None:
        if os.environ.get("NEWSALERT_REQUIRE_KAFKA_REFERENCE") == "1":
            pytest.fail(f"Apache Kafka leg required but unavailable: {reason}")
        pytest.skip(f"Apache Kafka leg skipped: {reason}")
    broker = ApacheKafka(
        tmp_path_factory.mktemp("kafka"), REPO / "tests" / "kafka-reference" / "pom.xml"
    )
    bootstrap = broker.start()
    yield bootstrap
    broker.stop()


@pytest.fixture(
    scope="session",
    params=["tansu", pytest.param("kafka", marks=pytest.mark.kafka_reference)],
)
def kafka_bootstrap(
    request: pytest.FixtureRequest,
    embedded_stack: StackInfo,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """Bootstrap servers of the broker under test (tansu, then Apache Kafka)."""
    if request.param == "tansu":
        yield embedded_stack.kafka_bootstrap
    else:
        yield from _apache_kafka(tmp_path_factory)


@pytest.fixture
def settings(kafka_bootstrap: str, redis_url: str) -> Settings:
    """Settings isolated to this test: own topic and Redis key prefixes."""
    tag = uuid.uuid4().hex[:10]
    return Settings(
        kafka_bootstrap=kafka_bootstrap,
        redis_url=redis_url,
        topic_prefix=f"t{tag}.",
        redis_prefix=f"na:test:{tag}:",
        webhook_allow_networks=["127.0.0.0/8"],
        reload_interval_s=0.2,
    )


@pytest.fixture
def redis_settings(redis_url: str) -> Settings:
    """Settings for tests that need Redis but no broker."""
    tag = uuid.uuid4().hex[:10]
    return Settings(redis_url=redis_url, redis_prefix=f"na:test:{tag}:")


class RestartableRedis:
    """A Redis of one test's own (append-only file), which the test stops and restarts
    on the same port and data, to play a Redis outage under running services."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.data_dir = data_dir
        self._server: ServerProcess | None = None

    @property
    def url(self) -> str:
        """Redis URL of this server."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start (again) on the same port and data directory."""
        self._server = spawn_redis(self.port, self.data_dir, persistent=True)

    def stop(self) -> None:
        """Stop the server (a no-op when it is not running)."""
        if self._server is not None:
            self._server.stop()
            self._server = None


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RestartableRedis]:
    """A started :class:`RestartableRedis`, stopped at the end of the test."""
    data_dir = tmp_path / "redis"
    data_dir.mkdir()
    redis = RestartableRedis(data_dir)
    redis.start()
    yield redis
    redis.stop()
