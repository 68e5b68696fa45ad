"""The durable side of delivery: queues, leases, records and attempt logs in Redis.

Each subscription has a ``due`` sorted set (delivery id → due time) and an ``inflight``
sorted set (delivery id → lease expiry). A worker *claims* due ids atomically (moving them
to ``inflight``), attempts them, then moves them on in one MULTI: back to ``due`` for a
retry, or out for good (delivered / dead-lettered). A process that dies holding leases
loses nothing: :meth:`DeliveryStore.reap` returns expired leases to ``due``.

Every method raises :mod:`newsalert.errors` types, not redis-py's
(:mod:`newsalert.redis_errors`): ``RedisUnavailableError`` or ``StoreError``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from newsalert.dispatcher.coalesce import Coalescer
from newsalert.dispatcher.keys import QUEUE_TTL_S, RETENTION_S, DispatcherKeys
from newsalert.dispatcher.log import MAX_LOGGED_ATTEMPTS, DeliveryLog
from newsalert.dispatcher.records import AttemptRecord, DeliveryStatus
from newsalert.models import Alert
from newsalert.redis_errors import redis_call
from newsalert.timespec import epoch_ms

_ENQUEUE = """
if redis.call('EXISTS', KEYS[3]) == 1 or redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'sub', ARGV[2], 'alert_id', ARGV[3], 'alert', ARGV[4],
  'status', 'scheduled', 'attempts', 0, 'created_ms', ARGV[5], 'order', ARGV[6],
  'next_ms', ARGV[5], 'updated_ms', ARGV[5])
redis.call('EXPIRE', KEYS[1], ARGV[8])
redis.call('ZADD', KEYS[2], ARGV[6], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[8])
local cutoff = tonumber(ARGV[5]) - tonumber(ARGV[7]) * 1000
for _, key in ipairs({KEYS[4], KEYS[5]}) do
  redis.call('ZADD', key, ARGV[5], ARGV[1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', cutoff)
  redis.call('EXPIRE', key, ARGV[8])
end
redis.call('SADD', KEYS[6], ARGV[1])
redis.call('EXPIRE', KEYS[6], ARGV[8])
return 1
"""

_CLAIM = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZADD', KEYS[2], tonumber(ARGV[1]) + tonumber(ARGV[3]), id)
end
if #ids > 0 then redis.call('EXPIRE', KEYS[2], ARGV[4]) end
return ids
"""

_REAP = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, 1000)
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZADD', KEYS[1], ARGV[1], id)
end
return #ids
"""

_PAUSE = """
if redis.call('HGET', KEYS[1], 'paused') == '1' then return 0 end
redis.call('HSET', KEYS[1], 'paused', '1', 'paused_reason', ARGV[1], 'paused_ms', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""


@dataclass(frozen=True)
class NewDelivery:
    """One alert to schedule for one subscription."""

    delivery_id: str
    subscription_id: str
    alert: Alert
    order: float  # due score: enqueue time in ms, with a fraction keeping batch order


@dataclass(frozen=True)
class PendingDelivery:
    """A claimed delivery, loaded for an attempt."""

    delivery_id: str
    subscription_id: str
    alert: Alert
    attempts: int
    order: float
    created_ms: int
    force: bool  # redelivered by an operator: sent even when older than max_alert_age


@dataclass(frozen=True)
class FailureStreak:
    """A subscription's current run of failed attempts."""

    count: int
    since_ms: int


class DeliveryStore:
    """Redis-backed queues, leases, delivery records and subscription state."""

    def __init__(
        self, redis: Redis, prefix: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.redis = redis
        self.keys = DispatcherKeys(prefix)
        self._clock = clock
        self._enqueue = redis.register_script(_ENQUEUE)
        self._claim = redis.register_script(_CLAIM)
        self._reap = redis.register_script(_REAP)
        self._pause = redis.register_script(_PAUSE)
        self.log = DeliveryLog(redis, self.keys, clock=clock)
        self._alerts = _AlertCache()
        self._loads: Coalescer[tuple[str, str], tuple[PendingDelivery | None, bool, bool]] = (
            Coalescer(self._load_many)
        )
        self._finishes: Coalescer[_Outcome, int] = Coalescer(self._finish_many)

    def _pending(self, delivery_id: str, data: dict[Any, Any]) -> PendingDelivery | None:
        return _pending(delivery_id, data, self._alerts)

    def now_ms(self) -> int:
        """The store's clock in epoch milliseconds."""
        return epoch_ms(self._clock())

    @redis_call
    async def ping(self) -> None:
        """Return once Redis answers (``RedisUnavailableError`` when it does not)."""
        await self.redis.ping()

    # -- scheduling ---------------------------------------------------------------------

    @redis_call
    async def enqueue(self, deliveries: Sequence[NewDelivery]) -> int:
        """Schedule ``deliveries`` now; already known or delivered ones are skipped.

        Returns how many were new. Once this returns, every delivery is durable (as
        durable as the Redis server's persistence), so the Kafka offset may be committed.
        """
        if not deliveries:
            return 0
        now = self.now_ms()
        k = self.keys
        async with self.redis.pipeline(transaction=False) as pipe:
            for item in deliveries:
                await self._enqueue(
                    keys=[
                        k.record(item.delivery_id),
                        k.due(item.subscription_id),
                        k.delivered(item.subscription_id, item.delivery_id),
                        k.index(item.subscription_id),
                        k.index(None),
                        k.by_alert(item.alert.alert_id),
                    ],
                    args=[
                        item.delivery_id,
                        item.subscription_id,
                        item.alert.alert_id,
                        item.alert.model_dump_json(),
                        now,
                        repr(item.order),
                        RETENTION_S,
                        QUEUE_TTL_S,
                    ],
                    client=pipe,
                )
            results = await pipe.execute()
        return sum(int(result) for result in results)

    @redis_call
    async def claim(self, subscription_id: str, limit: int, lease_s: float) -> list[str]:
        """Take up to ``limit`` due deliveries, leased for ``lease_s`` seconds."""
        ids = await self._claim(
            keys=[self.keys.due(subscription_id), self.keys.inflight(subscription_id)],
            args=[self.now_ms(), limit, int(lease_s * 1000), QUEUE_TTL_S],
        )
        return [str(item) for item in ids]

    @redis_call
    async def reap(self, subscription_id: str) -> int:
        """Return deliveries whose lease expired (their process died) to the due queue."""
        keys = [self.keys.due(subscription_id), self.keys.inflight(subscription_id)]
        return int(await self._reap(keys=keys, args=[self.now_ms()]))

    @redis_call
    async def queued(self, subscription_id: str) -> int:
        """How many deliveries wait in the due queue."""
        return int(await self.redis.zcard(self.keys.due(subscription_id)))

    @redis_call
    async def load(self, delivery_id: str) -> PendingDelivery | None:
        """The delivery ``delivery_id`` as needed for an attempt (``None`` when gone)."""
        return self._pending(delivery_id, await self.redis.hgetall(self.keys.record(delivery_id)))

    @redis_call
    async def load_for_attempt(
        self, subscription_id: str, delivery_id: str
    ) -> tuple[PendingDelivery | None, bool, bool]:
        """The delivery, is it delivered, is the sub paused (what an attempt needs first).

        Concurrent calls share one pipelined round trip.
        """
        return await self._loads.submit((subscription_id, delivery_id))

    async def _load_many(
        self, wanted: Sequence[tuple[str, str]]
    ) -> list[tuple[PendingDelivery | None, bool, bool]]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for subscription_id, delivery_id in wanted:
                pipe.hgetall(self.keys.record(delivery_id))
                pipe.exists(self.keys.delivered(subscription_id, delivery_id))
                pipe.hget(self.keys.state(subscription_id), "paused")
            replies = await pipe.execute()
        return [
            (self._pending(delivery_id, replies[3 * n]), bool(replies[3 * n + 1]),
             replies[3 * n + 2] == "1")
            for n, (_sub, delivery_id) in enumerate(wanted)
        ]  # fmt: skip

    @redis_call
    async def is_delivered(self, subscription_id: str, delivery_id: str) -> bool:
        """True once a 2xx was recorded for this delivery."""
        return bool(await self.redis.exists(self.keys.delivered(subscription_id, delivery_id)))

    # -- outcomes -----------------------------------------------------------------------

    @redis_call
    async def finish(
        self,
        item: PendingDelivery,
        status: DeliveryStatus,
        attempt: AttemptRecord | None,
        *,
        attempts: int,
        next_ms: float | None = None,
        error: str | None = None,
    ) -> int:
        """Record an outcome and move the delivery out of ``inflight`` in one MULTI.

        ``RETRYING`` and ``PAUSED`` put it back in ``due`` (at ``next_ms``); ``DELIVERED``
        sets the delivered mark and ends the subscription's failure streak, returning the
        streak it ended (0 otherwise); ``DELIVERED`` and ``FAILED`` shorten the record's
        TTL to the log retention. Concurrent calls share one MULTI (each call returns once
        its own outcome is stored, as alone).
        """
        return await self._finishes.submit(
            _Outcome(item, status, attempt, attempts, next_ms, error, self.now_ms())
        )

    async def _finish_many(self, outcomes: Sequence[_Outcome]) -> list[int]:
        k = self.keys
        ended_at: list[int | None] = []
        async with self.redis.pipeline(transaction=True) as pipe:
            for outcome in outcomes:
                item, status, attempt = outcome.item, outcome.status, outcome.attempt
                sub, dlv = item.subscription_id, item.delivery_id
                next_ms = outcome.next_ms
                fields: dict[Any, Any] = {  # redis-py wants its own key/value unions
                    "status": status.value,
                    "attempts": outcome.attempts,
                    "updated_ms": outcome.at_ms,
                    "next_ms": "" if next_ms is None else int(next_ms),
                    "last_error": outcome.error or "",
                }
                if attempt is not None:
                    fields["last_status"] = "" if attempt.status is None else attempt.status
                pipe.hset(k.record(dlv), mapping=fields)
                pipe.hdel(k.record(dlv), "force")
                if attempt is not None:
                    pipe.rpush(k.attempts(dlv), attempt.model_dump_json())
                    pipe.ltrim(k.attempts(dlv), -MAX_LOGGED_ATTEMPTS, -1)
                    pipe.expire(k.attempts(dlv), QUEUE_TTL_S)
                pipe.zrem(k.inflight(sub), dlv)
                if status in (DeliveryStatus.RETRYING, DeliveryStatus.PAUSED):
                    due = float(next_ms if next_ms is not None else item.order)
                    pipe.zadd(k.due(sub), {dlv: due})
                    pipe.expire(k.due(sub), QUEUE_TTL_S)
                    pipe.expire(k.record(dlv), QUEUE_TTL_S)
                else:
                    pipe.zrem(k.due(sub), dlv)
                    pipe.expire(k.record(dlv), RETENTION_S)
                    pipe.expire(k.attempts(dlv), RETENTION_S)
                if status is DeliveryStatus.DELIVERED:
                    pipe.set(k.delivered(sub, dlv), "1", ex=RETENTION_S)
                    ended_at.append(len(pipe))
                    _end_streak(pipe, k.state(sub))
                else:
                    ended_at.append(None)
            results = await pipe.execute()
        return [0 if at is None else int(results[at] or 0) for at in ended_at]

    @redis_call
    async def drop(self, subscription_id: str, delivery_id: str) -> None:
        """Forget a claimed id whose record is gone (expired) or already delivered."""
        await self.redis.zrem(self.keys.inflight(subscription_id), delivery_id)

    @redis_call
    async def stored_alert(self, delivery_id: str) -> str | None:
        """The alert as stored for ``delivery_id``, undecoded (``None`` when absent)."""
        raw = await self.redis.hget(self.keys.record(delivery_id), "alert")
        return None if raw is None else str(raw)

    @redis_call
    async def discard_unreadable(self, subscription_id: str, delivery_id: str, reason: str) -> None:
        """Take a delivery whose record cannot be decoded out of every queue, as failed."""
        k = self.keys
        kind = await self.redis.type(k.record(delivery_id))
        if (kind.decode() if isinstance(kind, bytes) else str(kind)) not in ("hash", "none"):
            # Not written by us (a key of another type): replaced by the failed record.
            await self.redis.delete(k.record(delivery_id))
        fields: dict[Any, Any] = {
            "status": DeliveryStatus.FAILED.value,
            "last_error": reason,
            "next_ms": "",
            "updated_ms": self.now_ms(),
        }
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(k.inflight(subscription_id), delivery_id)
            pipe.zrem(k.due(subscription_id), delivery_id)
            pipe.hset(k.record(delivery_id), mapping=fields)
            pipe.expire(k.record(delivery_id), RETENTION_S)
            await pipe.execute()

    # -- subscription health ------------------------------------------------------------

    @redis_call
    async def note_failure(self, subscription_id: str) -> FailureStreak:
        """Count a failed attempt; returns the streak including it."""
        key = self.keys.state(subscription_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(key, "streak", 1)
            pipe.hsetnx(key, "failing_since", self.now_ms())
            pipe.hget(key, "failing_since")
            pipe.expire(key, QUEUE_TTL_S)
            count, _set, since, _ttl = await pipe.execute()
        return FailureStreak(count=int(count), since_ms=int(since))

    @redis_call
    async def note_success(self, subscription_id: str) -> int:
        """Reset the failure streak; returns the streak it ended (0 if none)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            _end_streak(pipe, self.keys.state(subscription_id))
            previous, _set, _del, _ttl = await pipe.execute()
        return int(previous or 0)

    @redis_call
    async def pause(self, subscription_id: str, reason: str) -> bool:
        """Pause deliveries to ``subscription_id``; False when it already was paused."""
        key = self.keys.state(subscription_id)
        return bool(await self._pause(keys=[key], args=[reason, self.now_ms(), QUEUE_TTL_S]))

    @redis_call
    async def paused_reason(self, subscription_id: str) -> str | None:
        """Why ``subscription_id`` is paused, or ``None`` when it is active."""
        paused, reason = await self.redis.hmget(
            self.keys.state(subscription_id), ["paused", "paused_reason"]
        )
        return str(reason or "paused") if paused == "1" else None

    @redis_call
    async def resume(self, subscription_id: str) -> int:
        """Resume a subscription: its kept deliveries become due now, in alert order.

        Each kept delivery gets a fresh attempt budget. Returns how many are queued.
        """
        key, due = self.keys.state(subscription_id), self.keys.due(subscription_id)
        await self.redis.hset(key, mapping={"paused": "0", "paused_reason": "", "streak": 0})
        await self.redis.hdel(key, "failing_since")
        ids = [str(item) for item in await self.redis.zrange(due, 0, -1)]
        if not ids:
            return 0
        async with self.redis.pipeline(transaction=False) as pipe:
            for dlv in ids:
                pipe.hget(self.keys.record(dlv), "order")
            orders = await pipe.execute()
        now = self.now_ms()
        async with self.redis.pipeline(transaction=True) as pipe:
            for dlv, order in zip(ids, orders, strict=True):
                # Order scores are enqueue times: all in the past, so all due, oldest first.
                pipe.zadd(due, {dlv: min(float(order or now), now)})
                pipe.hset(self.keys.record(dlv), mapping={"attempts": 0, "status": "scheduled"})
            await pipe.execute()
        return len(ids)


def _end_streak(pipe: Pipeline, key: str) -> None:
    """Queue: read the failure streak, then reset it (4 results: streak, _, _, _)."""
    pipe.hget(key, "streak")
    pipe.hset(key, "streak", 0)
    pipe.hdel(key, "failing_since")
    pipe.expire(key, QUEUE_TTL_S)


@dataclass(frozen=True, slots=True)
class _Outcome:
    """One :meth:`DeliveryStore.finish` call, queued for the next MULTI."""

    item: PendingDelivery
    status: DeliveryStatus
    attempt: AttemptRecord | None
    attempts: int
    next_ms: float | None
    error: str | None
    at_ms: int


class _AlertCache:
    """Parsed alerts by their stored JSON: a fanned-out alert is decoded once, not once
    per subscription. Bounded: cleared when full (alerts are small and short-lived)."""

    def __init__(self, limit: int = 4096) -> None:
        self._limit = limit
        self._alerts: dict[str, Alert] = {}

    def get(self, text: str) -> Alert:
        alert = self._alerts.get(text)
        if alert is None:
            if len(self._alerts) >= self._limit:
                self._alerts.clear()
            alert = self._alerts[text] = Alert.model_validate_json(text)
        return alert


def _pending(delivery_id: str, data: dict[Any, Any], alerts: _AlertCache) -> PendingDelivery | None:
    if not data or "alert" not in data:
        return None
    return PendingDelivery(
        delivery_id=delivery_id,
        subscription_id=str(data["sub"]),
        alert=alerts.get(data["alert"]),
        attempts=int(data.get("attempts", 0)),
        order=float(data.get("order", 0)),
        created_ms=int(data.get("created_ms", 0)),
        force=data.get("force") == "1",
    )
