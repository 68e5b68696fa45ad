"""The delivery-log HTTP routes on a real Redis (ASGI in-process)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis

from newsalert.apiauth import ApiGuard, ApiTokens
from newsalert.dispatcher.api import deliveries_router
from newsalert.dispatcher.records import AttemptRecord, DeliveryStatus
from newsalert.dispatcher.store import DeliveryStore, NewDelivery
from newsalert.settings import Settings
from tests.integration.test_dispatcher_support import make_alert

pytestmark = pytest.mark.integration

ADMIN_TOKEN = "test-admin-token-0123456789"


@pytest.fixture
async def store(redis_settings: Settings) -> AsyncIterator[DeliveryStore]:
    redis = Redis.from_url(redis_settings.redis_url, decode_responses=True)
    yield DeliveryStore(redis, redis_settings.redis_prefix)
    await redis.aclose()


async def test_routes_list_show_resend_pause_resume(store: DeliveryStore) -> None:
    alert = make_alert(1)
    await store.enqueue([NewDelivery("msg_1", "desk", alert, 1.0)])
    [claimed] = await store.claim("desk", 1, lease_s=30)
    item = await store.load(claimed)
    assert item is not None
    attempt = AttemptRecord(number=1, at=alert.created_at, status=500, verdict="failed")
    await store.finish(item, DeliveryStatus.FAILED, attempt, attempts=1, error="exhausted")

    app = FastAPI()
    guard = ApiGuard(ApiTokens.parse(read="", admin=ADMIN_TOKEN))
    app.include_router(deliveries_router(store, lambda: ["desk"], guard))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://api",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    ) as client:
        listed = (await client.get("/deliveries", params={"status": "failed"})).json()
        assert [row["delivery_id"] for row in listed] == ["msg_1"]
        assert "alert" not in listed[0]
        assert (await client.get("/deliveries", params={"subscription": "other"})).json() == []
        shown = (await client.get("/deliveries/msg_1")).json()
        assert shown["history"][0]["status"] == 500
        assert (await client.get("/deliveries/msg_nope")).status_code == 404

        recovered = await client.post(
            "/subscriptions/desk/recover",
            params={"since": (datetime.now(UTC) - timedelta(hours=2)).isoformat()},
        )
        assert recovered.json() == {"recovering": ["msg_1"]}
        assert await store.claim("desk", 5, lease_s=5) == ["msg_1"]

        resent = await client.post(f"/deliveries/{alert.alert_id}/redeliver")
        assert resent.json() == {"redelivering": ["msg_1"]}
        assert (await client.post("/deliveries/msg_nope/redeliver")).status_code == 404

        paused = (await client.post("/subscriptions/desk/pause")).json()
        assert paused["changed"] is True
        state = (await client.get("/subscriptions/desk/delivery-state")).json()
        assert state["paused"] is True
        assert state["queued"] == 1
        resumed = (await client.post("/subscriptions/desk/resume")).json()
        assert resumed == {"subscription_id": "desk", "paused": False, "queued": 1}
