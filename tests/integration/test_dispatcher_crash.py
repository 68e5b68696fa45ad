"""SIGKILL the dispatcher with retries pending, start it again: nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from pathlib import Path

import pytest
from redis.asyncio import Redis

from newsalert.dispatcher.keys import DispatcherKeys
from newsalert.receiver import ReceivedRequest, Reply, WebhookInbox
from newsalert.settings import Settings
from tests.integration.test_dispatcher_support import (
    SECRET,
    drained,
    eventually,
    make_alert,
    publish_alerts,
)

pytestmark = pytest.mark.integration

CONFIG = """\
version: 1
rules:
  - id: rule-a
    title: Rule A
    all: ["ambassador"]
subscriptions:
  - id: crashy
    url: {url}/hook
    secret: {secret}
    retry_schedule: ["1s", "1s", "1s", "1s", "1s", "1s"]
"""


async def _start(settings: Settings, config: Path, log: Path) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "NEWSALERT_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "NEWSALERT_REDIS_URL": settings.redis_url,
        "NEWSALERT_TOPIC_PREFIX": settings.topic_prefix,
        "NEWSALERT_REDIS_PREFIX": settings.redis_prefix,
        "NEWSALERT_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8",
        "NEWSALERT_WEBHOOK_TIMEOUT_S": "2",
    }
    with log.open("ab") as err:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "newsalert.dispatcher", "--config", str(config),
            env=env, stdout=asyncio.subprocess.PIPE, stderr=err,
        )  # fmt: skip
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 60)
    assert line.strip() == b"dispatcher ready", log.read_bytes()[-2000:]  # noqa: ASYNC240
    return process


async def test_sigkill_with_retries_pending_then_restart_delivers_all_once(
    settings: Settings, tmp_path: Path
) -> None:
    attempts = Counter[str]()
    ok_answers = Counter[str]()

    def fail_twice(request: ReceivedRequest) -> Reply:
        msg_id = request.headers["webhook-id"]
        attempts[msg_id] += 1
        if attempts[msg_id] <= 2:
            return Reply(500)
        ok_answers[msg_id] += 1
        return Reply(200)

    inbox = WebhookInbox(fail_twice)
    await inbox.start()
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.format(url=inbox.url, secret=SECRET))
    log = tmp_path / "dispatcher.log"
    first_batch = [make_alert(n) for n in range(10)]
    while_down = [make_alert(n) for n in range(10, 15)]
    redis = Redis.from_url(settings.redis_url, decode_responses=True)
    due = DispatcherKeys(settings.redis_prefix).due("crashy")
    second: asyncio.subprocess.Process | None = None
    try:
        first = await _start(settings, config, log)
        await publish_alerts(settings, first_batch)
        await inbox.wait_for(10, timeout_s=60)

        async def retries_pending() -> bool:
            return int(await redis.zcard(due)) >= 5

        await eventually(retries_pending, timeout_s=30)
        first.send_signal(signal.SIGKILL)
        await first.wait()
        pending_at_kill = 10 - len(ok_answers)
        await publish_alerts(settings, while_down)  # consumed by nobody until the restart

        second = await _start(settings, config, log)
        expected = 15

        async def all_delivered() -> bool:
            return len(ok_answers) == expected

        await eventually(all_delivered, timeout_s=90)
        await drained(settings, "crashy")  # a duplicate would have been answered by now
    finally:
        if second is not None and second.returncode is None:
            second.send_signal(signal.SIGTERM)
            await asyncio.wait_for(second.wait(), 30)
        await redis.aclose()
        await inbox.stop()
    assert pending_at_kill > 0, "the kill should have happened with retries pending"
    assert len(ok_answers) == 15
    assert set(ok_answers.values()) == {1}, f"answered 2xx more than once: {ok_answers}"
    assert second is not None
    assert second.returncode == 0, log.read_bytes()[-2000:]
