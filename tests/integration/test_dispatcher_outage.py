"""Redis goes away under a running dispatcher: not ready, nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from newsalert.receiver import WebhookInbox
from newsalert.settings import Settings
from tests.conftest import RestartableRedis
from tests.integration.test_dispatcher_support import (
    drained,
    eventually,
    make_alert,
    publish_alerts,
    running_dispatcher,
    subscription,
)

pytestmark = pytest.mark.integration


async def test_redis_outage_pauses_delivery_then_every_alert_arrives_once(
    settings: Settings, own_redis: RestartableRedis
) -> None:
    mine = settings.model_copy(update={"redis_url": own_redis.url})
    inbox = WebhookInbox()
    await inbox.start()
    before = [make_alert(n) for n in range(3)]
    during = [make_alert(n) for n in range(3, 6)]
    try:
        async with running_dispatcher(mine, [subscription("s", inbox.url)]) as service:
            await publish_alerts(settings, before)
            await inbox.wait_for(3, timeout_s=30)
            await asyncio.to_thread(own_redis.stop)
            await publish_alerts(settings, during)

            async def unready() -> bool:
                return not service.ready and not await service.probe()

            await eventually(unready, timeout_s=30)
            assert len(inbox.received) == 3  # nothing sent while Redis is away
            await asyncio.to_thread(own_redis.start)
            await inbox.wait_for(6, timeout_s=60)

            async def ready_again() -> bool:
                return service.ready and await service.probe()

            await eventually(ready_again, timeout_s=30)
            await drained(mine, "s")  # a duplicate would have been sent by now
    finally:
        await inbox.stop()
    counts = Counter(request.headers["webhook-id"] for request in inbox.received)
    assert len(counts) == 6
    assert set(counts.values()) == {1}
