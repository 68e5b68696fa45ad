"""A stalled produce path shows: ``/readyz`` 503 and a gauge while alert sends wait.

The broker is frozen (SIGSTOP) while the matcher publishes alerts: connections stay
open, nothing is answered, every other check passes. Runs on a broker of its own, tansu
then Apache Kafka (freezing the session's broker would stall other tests).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from newsalert import constants
from newsalert.kafka import ensure_topics, make_producer, send_all
from newsalert.settings import Settings
from newsalert.stack.apache_kafka import ApacheKafka
from newsalert.stack.embedded import spawn_tansu
from newsalert.stack.process import free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

NEWSALERT = str(Path(sys.executable).with_name("newsalert"))
REPO = Path(__file__).resolve().parents[2]
ARTICLES = 12000  # a backlog the matcher is still working through when the broker freezes
CONFIG = "version: 1\nrules:\n  - id: port\n    all: [port]\n"


def _article(n: int) -> bytes:
    # Distinct random words: every article is its own story and alerts.
    words = " ".join(secrets.token_hex(4) for _ in range(40))
    return json.dumps({"id": f"a{n}", "title": f"Port {n}", "body": words}).encode()


async def _get(client: httpx.AsyncClient, path: str) -> httpx.Response:
    return await client.get(path, timeout=5)


def _gauge(metrics: str, name: str) -> float:
    for line in metrics.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


async def _until(check: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(params=["tansu", pytest.param("kafka", marks=pytest.mark.kafka_reference)])
def own_broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, int]]:
    """A broker of this test's own: (bootstrap, pid to freeze); tansu, then Apache Kafka."""
    if request.param == "tansu":
        tansu = spawn_tansu(free_port(), tmp_path)
        yield f"127.0.0.1:{tansu.port}", tansu.pid
        tansu.stop()
        return
    reason = ApacheKafka.unavailable_reason()
    if reason is not None:
        pytest.skip(f"Apache Kafka leg skipped: {reason}")
    kafka = ApacheKafka(tmp_path / "kafka", REPO / "tests" / "kafka-reference" / "pom.xml")
    bootstrap = kafka.start()
    yield bootstrap, kafka.pid
    kafka.stop()


async def test_readyz_fails_while_alert_sends_wait_on_a_frozen_broker(
    redis_url: str, tmp_path: Path, own_broker: tuple[str, int]
) -> None:
    bootstrap, broker_pid = own_broker
    frozen = False
    settings = Settings(
        kafka_bootstrap=bootstrap,
        redis_url=redis_url,
        redis_prefix=f"na:stall:{secrets.token_hex(4)}:",
    )
    config = tmp_path / "rules.yaml"
    config.write_text(CONFIG)
    port = free_port()
    env = {
        **os.environ,
        "NEWSALERT_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "NEWSALERT_REDIS_URL": settings.redis_url,
        "NEWSALERT_REDIS_PREFIX": settings.redis_prefix,
        "NEWSALERT_PRODUCE_STALL_S": "2",
    }
    log = tmp_path / "matcher.log"
    with log.open("wb") as err:
        matcher = subprocess.Popen(  # noqa: ASYNC220  (a user's process; we only signal and reap it)
            [NEWSALERT, "matcher", "--config", str(config), "--api-port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip
    client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}")
    try:

        async def ready() -> bool:
            try:
                return (await _get(client, "/readyz")).status_code == 200
            except httpx.HTTPError:
                return False

        await _until(ready, 90, "the matcher to be ready")
        topic = settings.topic(constants.TOPIC_ARTICLES)
        await ensure_topics(settings, [topic])
        producer = make_producer(settings, linger_ms=20)
        await producer.start()
        try:
            await send_all(producer, [(topic, None, _article(n), None) for n in range(ARTICLES)])
        finally:
            await producer.stop()

        async def published() -> float:
            return _gauge((await _get(client, "/metrics")).text, "newsalert_alerts_published_total")

        async def not_ready() -> bool:
            return (await _get(client, "/readyz")).status_code == 503

        # A freeze can land while the matcher waits on its next fetch with every send
        # answered: then nothing is pending and nothing should be reported. Such a
        # freeze is undone and tried again once more alerts have gone out.
        stalled = False
        for _attempt in range(4):
            before = await published()

            async def publishing(before: float = before) -> bool:
                return await published() > before

            await _until(publishing, 60, "alerts to be published")
            os.kill(broker_pid, signal.SIGSTOP)
            frozen = True
            try:
                await _until(not_ready, 10, "/readyz to report the stalled produce path")
                stalled = True
                break
            except AssertionError:
                text = (await _get(client, "/metrics")).text
                assert _gauge(text, "newsalert_alert_produce_oldest_pending_seconds") == 0, (
                    "a send is waiting but /readyz does not say so"
                )
            os.kill(broker_pid, signal.SIGCONT)
            frozen = False
        assert stalled, "every freeze landed between fetches: no alert send ever waited"
        text = (await _get(client, "/metrics")).text
        assert _gauge(text, "newsalert_alert_produce_oldest_pending_seconds") > 2
        os.kill(broker_pid, signal.SIGCONT)
        frozen = False
        await _until(ready, 60, "readiness once the broker answers again")
        assert matcher.poll() is None, log.read_text()[-2000:]
    finally:
        if frozen:
            os.kill(broker_pid, signal.SIGCONT)
        await client.aclose()
        matcher.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(matcher.wait, 60)
        finally:
            matcher.kill()
    assert matcher.returncode == 0, log.read_text()[-2000:]
