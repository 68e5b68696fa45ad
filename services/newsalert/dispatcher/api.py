"""HTTP routes for the delivery log, for the API service to mount (``app.include_router``).

The same operations as ``newsalert deliveries ...``: list, show, redeliver, recover,
pause, resume. Secrets and alert bodies beyond the delivery record are never returned.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from newsalert.dispatcher.records import DeliveryRecord, DeliveryStatus
from newsalert.dispatcher.store import DeliveryStore
from newsalert.timespec import to_ms


def deliveries_router(store: DeliveryStore) -> APIRouter:
    """Routes over ``store`` (one Redis connection shared with the service)."""
    router = APIRouter(tags=["deliveries"])

    @router.get("/deliveries")
    async def list_deliveries(
        subscription: str | None = None,
        status: DeliveryStatus | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    ) -> list[DeliveryRecord]:
        """Deliveries, newest first, optionally of one subscription and/or status."""
        return await store.log.list_deliveries(subscription, status, limit)

    @router.get("/deliveries/{delivery_id}")
    async def show(delivery_id: str) -> DeliveryRecord:
        """One delivery with every attempt."""
        record = await store.log.get(delivery_id)
        if record is None:
            raise HTTPException(404, f"no delivery {delivery_id}")
        return record

    @router.post("/deliveries/{alert_or_delivery_id}/redeliver")
    async def redeliver(alert_or_delivery_id: str) -> dict[str, list[str]]:
        """Send again now: a webhook-id (msg_...) or every delivery of an alert (alrt_...)."""
        ids = [alert_or_delivery_id]
        if not alert_or_delivery_id.startswith("msg_"):
            ids = await store.log.deliveries_of_alert(alert_or_delivery_id) or ids
        done = [dlv for dlv in ids if await store.log.redeliver(dlv)]
        if not done:
            raise HTTPException(404, f"nothing to redeliver for {alert_or_delivery_id}")
        return {"redelivering": done}

    @router.post("/subscriptions/{subscription_id}/recover")
    async def recover(subscription_id: str, since: datetime) -> dict[str, Any]:
        """Redeliver every failed delivery of the subscription created since ``since``."""
        done = await store.log.recover(subscription_id, to_ms(since))
        return {"recovering": done}

    @router.post("/subscriptions/{subscription_id}/pause")
    async def pause(subscription_id: str, reason: str = "paused by operator") -> dict[str, Any]:
        """Stop delivering; alerts are kept until resumed."""
        changed = await store.pause(subscription_id, reason)
        return {"subscription_id": subscription_id, "paused": True, "changed": changed}

    @router.post("/subscriptions/{subscription_id}/resume")
    async def resume(subscription_id: str) -> dict[str, Any]:
        """Deliver the kept alerts, in order."""
        queued = await store.resume(subscription_id)
        return {"subscription_id": subscription_id, "paused": False, "queued": queued}

    @router.get("/subscriptions/{subscription_id}/delivery-state")
    async def state(subscription_id: str) -> dict[str, Any]:
        """Paused or active, and how many deliveries wait."""
        reason = await store.paused_reason(subscription_id)
        return {
            "subscription_id": subscription_id,
            "paused": reason is not None,
            "reason": reason,
            "queued": await store.queued(subscription_id),
        }

    return router
