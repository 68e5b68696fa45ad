"""HTTP routes for the delivery log, for the API service to mount (``app.include_router``).

The same operations as ``newsalert deliveries ...``: list, show, redeliver, recover,
pause, resume. Reading needs a read token, every state change an admin token
(:mod:`newsalert.api.auth`). A subscription id the config does not name, or a delivery
the log does not hold, answers 404 and writes nothing. Secrets and alert bodies beyond
the delivery record are never returned.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query

from newsalert.api.auth import ApiGuard
from newsalert.dispatcher.keys import RETENTION_S
from newsalert.dispatcher.records import DeliveryRecord, DeliveryStatus
from newsalert.dispatcher.store import DeliveryStore
from newsalert.timespec import to_ms

#: Longest pause reason kept (it is stored with the subscription's state).
MAX_REASON_CHARS = 200
#: Longest id accepted in a path (delivery and alert ids are far shorter).
MAX_ID_CHARS = 128

DeliveryId = Annotated[str, Path(max_length=MAX_ID_CHARS)]
SubscriptionId = Annotated[str, Path(max_length=MAX_ID_CHARS)]


def deliveries_router(
    store: DeliveryStore, subscriptions: Callable[[], Iterable[str]], guard: ApiGuard
) -> APIRouter:
    """Routes over ``store``; ``subscriptions`` gives the configured subscription ids."""
    read = [Depends(guard.read)]
    admin = [Depends(guard.admin)]
    router = APIRouter(tags=["deliveries"])

    def known(subscription_id: str) -> str:
        if subscription_id not in set(subscriptions()):
            raise HTTPException(404, f"no subscription {subscription_id!r} in the config")
        return subscription_id

    @router.get("/deliveries", dependencies=read)
    async def list_deliveries(
        subscription: Annotated[str | None, Query(max_length=MAX_ID_CHARS)] = None,
        status: DeliveryStatus | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    ) -> list[DeliveryRecord]:
        """Deliveries, newest first, optionally of one subscription and/or status."""
        return await store.log.list_deliveries(subscription, status, limit)

    @router.get("/deliveries/{delivery_id}", dependencies=read)
    async def show(delivery_id: DeliveryId) -> DeliveryRecord:
        """One delivery with every attempt."""
        record = await store.log.get(delivery_id)
        if record is None:
            raise HTTPException(404, f"no delivery {delivery_id}")
        return record

    @router.post("/deliveries/{alert_or_delivery_id}/redeliver", dependencies=admin)
    async def redeliver(alert_or_delivery_id: DeliveryId) -> dict[str, list[str]]:
        """Send again now: a webhook-id (msg_...) or every delivery of an alert (alrt_...).

        Only deliveries still in the log and of a subscription still configured.
        """
        ids = [alert_or_delivery_id]
        if not alert_or_delivery_id.startswith("msg_"):
            ids = await store.log.deliveries_of_alert(alert_or_delivery_id) or ids
        configured = set(subscriptions())
        done: list[str] = []
        for dlv in ids:
            record = await store.log.get(dlv)
            in_log = record is not None and record.subscription_id in configured
            if in_log and await store.log.redeliver(dlv):
                done.append(dlv)
        if not done:
            raise HTTPException(404, f"nothing to redeliver for {alert_or_delivery_id}")
        return {"redelivering": done}

    @router.post("/subscriptions/{subscription_id}/recover", dependencies=admin)
    async def recover(subscription_id: SubscriptionId, since: datetime) -> dict[str, Any]:
        """Redeliver every failed delivery of the subscription created since ``since``.

        ``since`` may go back as far as the delivery log keeps records, not further.
        """
        known(subscription_id)
        when = since if since.tzinfo else since.replace(tzinfo=UTC)
        oldest = time.time() - RETENTION_S
        if when.timestamp() < oldest:
            kept = datetime.fromtimestamp(oldest, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            raise HTTPException(
                422,
                f"since is older than the delivery log keeps ({RETENTION_S // 86400} days): "
                f"use {kept} or later",
            )
        done = await store.log.recover(subscription_id, to_ms(when))
        return {"recovering": done}

    @router.post("/subscriptions/{subscription_id}/pause", dependencies=admin)
    async def pause(
        subscription_id: SubscriptionId,
        reason: Annotated[str, Query(min_length=1, max_length=MAX_REASON_CHARS)] = (
            "paused by operator"
        ),
    ) -> dict[str, Any]:
        """Stop delivering; alerts are kept until resumed."""
        changed = await store.pause(known(subscription_id), reason)
        return {"subscription_id": subscription_id, "paused": True, "changed": changed}

    @router.post("/subscriptions/{subscription_id}/resume", dependencies=admin)
    async def resume(subscription_id: SubscriptionId) -> dict[str, Any]:
        """Deliver the kept alerts, in order."""
        queued = await store.resume(known(subscription_id))
        return {"subscription_id": subscription_id, "paused": False, "queued": queued}

    @router.get("/subscriptions/{subscription_id}/delivery-state", dependencies=read)
    async def state(subscription_id: SubscriptionId) -> dict[str, Any]:
        """Paused or active, and how many deliveries wait."""
        known(subscription_id)
        reason = await store.paused_reason(subscription_id)
        return {
            "subscription_id": subscription_id,
            "paused": reason is not None,
            "reason": reason,
            "queued": await store.queued(subscription_id),
        }

    return router
