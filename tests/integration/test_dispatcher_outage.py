"""Redis goes away under a running dispatcher: not ready, nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsalert.receiver import WebhookInbox
from newsalert.settings import Settings
from newsalert.stack.binaries import redis_binary
from newsalert.stack.process import ServerProcess, free_port
from tests.integration.test_dispatcher_support import (
    eventually,
    make_alert,
    publish_alerts,
    running_dispatcher,
    subscription,
)

pytestmark = pytest.mark.integration


def _redis(port: int, data_dir: Path) -> ServerProcess:
    argv = [
        str(redis_binary()), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
        "--appendonly", "yes", "--appendfsync", "always", "--dir", str(data_dir),
    ]  # fmt: skip
    return ServerProcess.spawn("redis", argv, port, data_dir / "redis.log", 30.0)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[int, Path, list[ServerProcess]]]:
    """A Redis of this test's own (AOF), which the test stops and restarts."""
    port = free_port()
    data_dir = tmp_path / "redis"
    data_dir.mkdir()
    servers = [_redis(port, data_dir)]
    yield port, data_dir, servers
    for server in servers:
        server.stop()


async def test_redis_outage_pauses_delivery_then_every_alert_arrives_once(
    settings: Settings, own_redis: tuple[int, Path, list[ServerProcess]]
) -> None:
    port, data_dir, servers = own_redis
    mine = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{port}/0"})
    inbox = WebhookInbox()
    await inbox.start()
    before = [make_alert(n) for n in range(3)]
    during = [make_alert(n) for n in range(3, 6)]
    try:
        async with running_dispatcher(mine, [subscription("s", inbox.url)]) as service:
            await publish_alerts(settings, before)
            await inbox.wait_for(3, timeout_s=30)
            await asyncio.to_thread(servers[0].stop)
            await publish_alerts(settings, during)

            async def unready() -> bool:
                return not service.ready and not await service.probe()

            await eventually(unready, timeout_s=30)
            assert len(inbox.received) == 3  # nothing sent while Redis is away
            servers.append(await asyncio.to_thread(_redis, port, data_dir))
            await inbox.wait_for(6, timeout_s=60)

            async def ready_again() -> bool:
                return service.ready and await service.probe()

            await eventually(ready_again, timeout_s=30)
            await asyncio.sleep(1.0)  # a duplicate would show up within a retry tick
    finally:
        await inbox.stop()
    counts = Counter(request.headers["webhook-id"] for request in inbox.received)
    assert len(counts) == 6
    assert set(counts.values()) == {1}
