"""The delivery log: every delivery's record and attempts, listing, redeliver, recover.

Reads the records :class:`~newsalert.dispatcher.store.DeliveryStore` writes; resending
puts a delivery back in its subscription's due queue with a fresh attempt budget.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from redis.asyncio import Redis

from newsalert.dispatcher.keys import QUEUE_TTL_S, DispatcherKeys
from newsalert.dispatcher.records import (
    AttemptRecord,
    DeliveryRecord,
    DeliveryStatus,
)
from newsalert.models import Alert
from newsalert.redis_errors import redis_call
from newsalert.timespec import epoch_ms, from_ms

#: Attempt log entries kept per delivery (the newest).
MAX_LOGGED_ATTEMPTS = 50


class DeliveryLog:
    """Queries and resends over the dispatcher's Redis records."""

    def __init__(
        self, redis: Redis, keys: DispatcherKeys, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.redis = redis
        self.keys = keys
        self._clock = clock

    @redis_call
    async def get(self, delivery_id: str) -> DeliveryRecord | None:
        """The record of ``delivery_id`` with its attempt history."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.keys.record(delivery_id))
            pipe.lrange(self.keys.attempts(delivery_id), 0, -1)
            data, attempts = await pipe.execute()
        if not data:
            return None
        return _record(delivery_id, data, attempts)

    @redis_call
    async def list_deliveries(
        self,
        subscription_id: str | None = None,
        status: DeliveryStatus | None = None,
        limit: int = 50,
        scan: int = 5000,
    ) -> list[DeliveryRecord]:
        """Newest deliveries first, optionally of one subscription and/or one status."""
        ids = [
            str(i) for i in await self.redis.zrevrange(self.keys.index(subscription_id), 0, scan)
        ]
        out: list[DeliveryRecord] = []
        for start in range(0, len(ids), 200):
            chunk = ids[start : start + 200]
            async with self.redis.pipeline(transaction=False) as pipe:
                for dlv in chunk:
                    pipe.hgetall(self.keys.record(dlv))
                    pipe.lrange(self.keys.attempts(dlv), 0, -1)
                rows = await pipe.execute()
            for index, dlv in enumerate(chunk):
                data, attempts = rows[2 * index], rows[2 * index + 1]
                if not data or (status is not None and data.get("status") != status.value):
                    continue
                out.append(_record(dlv, data, attempts))
                if len(out) >= limit:
                    return out
        return out

    @redis_call
    async def deliveries_of_alert(self, alert_id: str) -> list[str]:
        """The delivery ids of ``alert_id`` (one per subscription that selected it)."""
        return sorted(str(i) for i in await self.redis.smembers(self.keys.by_alert(alert_id)))

    @redis_call
    async def redeliver(self, delivery_id: str) -> bool:
        """Send ``delivery_id`` again, now, with a fresh attempt budget (even if delivered).

        False when the record has expired (past the log retention).
        """
        record = self.keys.record(delivery_id)
        raw_sub = await self.redis.hget(record, "sub")
        if raw_sub is None:
            return False
        sub = str(raw_sub)
        now = epoch_ms(self._clock())
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                record,
                mapping={"status": "scheduled", "attempts": 0, "force": "1", "next_ms": now},
            )
            pipe.expire(record, QUEUE_TTL_S)
            pipe.delete(self.keys.delivered(sub, delivery_id))
            pipe.zadd(self.keys.due(sub), {delivery_id: now})
            pipe.expire(self.keys.due(sub), QUEUE_TTL_S)
            await pipe.execute()
        return True

    @redis_call
    async def recover(self, subscription_id: str, since_ms: int) -> list[str]:
        """Redeliver every failed (dead-lettered) delivery of a subscription since a time."""
        index = self.keys.index(subscription_id)
        ids = [str(i) for i in await self.redis.zrangebyscore(index, since_ms, "+inf")]
        recovered: list[str] = []
        for dlv in ids:
            status = await self.redis.hget(self.keys.record(dlv), "status")
            if status == DeliveryStatus.FAILED and await self.redeliver(dlv):
                recovered.append(dlv)
        return recovered


def _record(delivery_id: str, data: dict[str, str], attempts: list[str]) -> DeliveryRecord:
    created = from_ms(data.get("created_ms") or 0)
    updated, next_ms = data.get("updated_ms"), data.get("next_ms")
    last_status = data.get("last_status") or None
    return DeliveryRecord(
        delivery_id=delivery_id,
        subscription_id=data.get("sub", ""),
        alert_id=data.get("alert_id", ""),
        status=DeliveryStatus(data.get("status", "scheduled")),
        attempts=int(data.get("attempts", 0)),
        created_at=created,
        updated_at=from_ms(updated) if updated else None,
        next_at=from_ms(next_ms) if next_ms else None,
        last_status=int(last_status) if last_status else None,
        last_error=data.get("last_error") or None,
        alert=Alert.model_validate_json(data["alert"]) if "alert" in data else None,
        history=[AttemptRecord.model_validate_json(entry) for entry in attempts],
    )
