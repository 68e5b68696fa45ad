"""HTTP routes for the delivery log, for the API service to mount (``app.include_router``).

The same operations as ``newsalert deliveries ...``: list, show, redeliver, recover,
pause, resume. Reading needs a read token, every state change an admin token
(:mod:`newsalert.apiauth`). A subscription id the config does not name, or a delivery
the log does not hold, answers 404 and writes nothing. Secrets and alert bodies beyond
the delivery record are never returned.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Path, Query

from newsalert.apiauth import ApiGuard
from newsalert.dispatcher.operations import (
    MAX_REASON_CHARS,
    DeliveryOperations,
    OperationError,
    UnknownTargetError,
)
from newsalert.dispatcher.records import DeliveryRecord, DeliveryStatus
from newsalert.dispatcher.store import DeliveryStore

__all__ = ["MAX_ID_CHARS", "MAX_REASON_CHARS", "deliveries_router"]

#: Longest id accepted in a path (delivery and alert ids are far shorter).
MAX_ID_CHARS = 128

DeliveryId = Annotated[str, Path(max_length=MAX_ID_CHARS)]
SubscriptionId = Annotated[str, Path(max_length=MAX_ID_CHARS)]
T = TypeVar("T")


async def _answer(action: Awaitable[T]) -> T:
    # The operations' refusals as HTTP statuses: 404 for what does not exist, 422 else.
    try:
        return await action
    except UnknownTargetError as exc:
        raise HTTPException(404, str(exc)) from exc
    except OperationError as exc:
        raise HTTPException(422, str(exc)) from exc


def deliveries_router(
    store: DeliveryStore, subscriptions: Callable[[], Iterable[str]], guard: ApiGuard
) -> APIRouter:
    """Routes over ``store``; ``subscriptions`` gives the configured subscription ids."""
    read = [Depends(guard.read)]
    admin = [Depends(guard.admin)]
    router = APIRouter(tags=["deliveries"])
    operations = DeliveryOperations(store, subscriptions)

    def known(subscription_id: str) -> str:
        try:
            return operations.known(subscription_id)
        except UnknownTargetError as exc:
            raise HTTPException(404, str(exc)) from exc

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
        done = await _answer(operations.redeliver(alert_or_delivery_id))
        return {"redelivering": done}

    @router.post("/subscriptions/{subscription_id}/recover", dependencies=admin)
    async def recover(subscription_id: SubscriptionId, since: datetime) -> dict[str, Any]:
        """Redeliver every failed delivery of the subscription created since ``since``.

        ``since`` may go back as far as the delivery log keeps records, not further.
        """
        done = await _answer(operations.recover(subscription_id, since))
        return {"recovering": done}

    @router.post("/subscriptions/{subscription_id}/pause", dependencies=admin)
    async def pause(
        subscription_id: SubscriptionId,
        reason: Annotated[str, Query(min_length=1, max_length=MAX_REASON_CHARS)] = (
            "paused by operator"
        ),
    ) -> dict[str, Any]:
        """Stop delivering; alerts are kept until resumed."""
        changed = await _answer(operations.pause(subscription_id, reason))
        return {"subscription_id": subscription_id, "paused": True, "changed": changed}

    @router.post("/subscriptions/{subscription_id}/resume", dependencies=admin)
    async def resume(subscription_id: SubscriptionId) -> dict[str, Any]:
        """Deliver the kept alerts, in order."""
        queued = await _answer(operations.resume(subscription_id))
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
