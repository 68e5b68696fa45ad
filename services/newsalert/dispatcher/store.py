"""The durable side of delivery: queues, leases, records and attempt logs in Redis.

Each subscription has a ``due`` sorted set (delivery id → due time) and an ``inflight``
sorted set (delivery id → lease expiry). A worker *claims* due ids atomically (moving them
to ``inflight``), attempts them, then moves them on atomically: back to ``due`` for a
retry, or out for good (delivered / dead-lettered). A process that dies holding leases
loses nothing: :meth:`DeliveryStore.reap` returns expired leases to ``due``.

Every method raises :mod:`newsalert.errors` types, not redis-py's
(:mod:`newsalert.redis_errors`): ``RedisUnavailableError`` or ``StoreError``.

Redis work is per batch, not per delivery: a Kafka batch's deliveries are scheduled by
one script call per 500, a worker claims and loads its batch in one call, and the
outcomes of concurrent attempts are recorded by one call (Lua scripts: one reply to
parse for the whole batch, which is where a Python client's time goes).
"""

from __future__ import annotations

import json
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
from newsalert.errors import StoreError
from newsalert.models import Alert
from newsalert.redis_errors import redis_call
from newsalert.timespec import epoch_ms

#: Schedules a batch. ARGV[1]: JSON {subs: [[due, delivered prefix, index]], alerts:
#: [[alert id, alert JSON, by-alert key]], items: [[delivery id, sub n, alert n, order]]},
#: ARGV[2]: the record key prefix, then the all-index key, now, retention and TTL. Keys
#: are built by :class:`DispatcherKeys` in Python and only joined with ids here (the
#: arguments of a batch go as one JSON string: encoding thousands of separate arguments
#: costs the client more than the whole script costs Redis). Each delivery is skipped
#: when its record or delivered mark exists, as alone; the index trims and TTLs are
#: applied once per key at the end (same cutoff for all).
_ENQUEUE_MANY = """
local batch = cjson.decode(ARGV[1])
local record_prefix, all_index, now, ttl = ARGV[2], ARGV[3], ARGV[4], ARGV[6]
local cutoff = tonumber(now) - tonumber(ARGV[5]) * 1000
local added, trimmed, dues = 0, {}, {}
for _, item in ipairs(batch.items) do
  local id, sub, alert, order = item[1], batch.subs[item[2] + 1], batch.alerts[item[3] + 1], item[4]
  local record = record_prefix .. id
  if redis.call('EXISTS', sub[2] .. id) == 0 and redis.call('EXISTS', record) == 0 then
    redis.call('HSET', record, 'sub', sub[4], 'alert_id', alert[1], 'alert', alert[2],
      'status', 'scheduled', 'attempts', 0, 'created_ms', now, 'order', order,
      'next_ms', now, 'updated_ms', now)
    redis.call('EXPIRE', record, ttl)
    redis.call('ZADD', sub[1], order, id)
    dues[sub[1]] = true
    for _, key in ipairs({sub[3], all_index}) do
      redis.call('ZADD', key, now, id)
      trimmed[key] = true
    end
    redis.call('SADD', alert[3], id)
    redis.call('EXPIRE', alert[3], ttl)
    added = added + 1
  end
end
for key in pairs(dues) do redis.call('EXPIRE', key, ttl) end
for key in pairs(trimmed) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', cutoff)
  redis.call('EXPIRE', key, ttl)
end
return added
"""

#: Claim and load in one step: {paused} when the subscription is paused (nothing is
#: claimed), else {0, id, record fields, delivered, id, ...} for up to ARGV[2] due ids.
#: The record and delivered keys are built from ARGV[5] and ARGV[6] (the key shapes of
#: :class:`DispatcherKeys`) because they are only known once the ids are.
_CLAIM_LOAD = """
if redis.call('HGET', KEYS[3], 'paused') == '1' then return {1} end
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
local out = {0}
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZADD', KEYS[2], tonumber(ARGV[1]) + tonumber(ARGV[3]), id)
  out[#out + 1] = id
  local kind = redis.call('TYPE', ARGV[5] .. id)['ok']
  if kind == 'hash' or kind == 'none' then
    out[#out + 1] = redis.call('HGETALL', ARGV[5] .. id)
  else  -- not written by us: the attempt dead-letters it (HGETALL would fail the batch)
    out[#out + 1] = kind
  end
  out[#out + 1] = redis.call('EXISTS', ARGV[6] .. id)
end
if #ids > 0 then redis.call('EXPIRE', KEYS[2], ARGV[4]) end
return out
"""

#: Records a batch of outcomes: the same commands, in the same order, as one outcome
#: alone. ARGV[1]: JSON {subs: [[inflight, due, delivered prefix, state]], items:
#: [[delivery id, sub n, status, attempts, at ms, next ms, error, last status, attempt
#: JSON, kind, due score]]}; ARGV[2], ARGV[3]: record and attempt-log key prefixes; then
#: retention, TTL and the attempts kept. Returns the failure streak each delivered
#: outcome ended (0 for the others).
_FINISH_MANY = """
local batch = cjson.decode(ARGV[1])
local record_prefix, attempts_prefix = ARGV[2], ARGV[3]
local retention, ttl, keep = ARGV[4], ARGV[5], tonumber(ARGV[6])
local out = {}
for _, item in ipairs(batch.items) do
  local id, sub, kind, logged = item[1], batch.subs[item[2] + 1], item[10], item[9]
  local record, attempts, state = record_prefix .. id, attempts_prefix .. id, sub[4]
  redis.call('HSET', record, 'status', item[3], 'attempts', item[4],
    'updated_ms', item[5], 'next_ms', item[6], 'last_error', item[7])
  if logged ~= '' then redis.call('HSET', record, 'last_status', item[8]) end
  redis.call('HDEL', record, 'force')
  if logged ~= '' then
    redis.call('RPUSH', attempts, logged)
    redis.call('LTRIM', attempts, -keep, -1)
    redis.call('EXPIRE', attempts, ttl)
  end
  redis.call('ZREM', sub[1], id)
  if kind == 'requeue' then
    redis.call('ZADD', sub[2], item[11], id)
    redis.call('EXPIRE', sub[2], ttl)
    redis.call('EXPIRE', record, ttl)
  else
    redis.call('ZREM', sub[2], id)
    redis.call('EXPIRE', record, retention)
    redis.call('EXPIRE', attempts, retention)
  end
  local ended = 0
  if kind == 'delivered' then
    redis.call('SET', sub[3] .. id, '1', 'EX', retention)
    ended = tonumber(redis.call('HGET', state, 'streak')) or 0
    redis.call('HSET', state, 'streak', 0)
    redis.call('HDEL', state, 'failing_since')
    redis.call('EXPIRE', state, ttl)
  end
  out[#out + 1] = ended
end
return out
"""

#: Deliveries per script call: bounds how long one call holds Redis.
_SCRIPT_BATCH = 500

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

#: Resume: every kept delivery due now (at its enqueue time, oldest first) with a fresh
#: attempt budget, then the pause lifted and the failure streak reset. A record of
#: another type is left as it is: the claim dead-letters it. ARGV[2] is the record key
#: prefix (:class:`DispatcherKeys`). Returns how many deliveries are queued.
_RESUME = """
local now = tonumber(ARGV[1])
local ids = redis.call('ZRANGE', KEYS[2], 0, -1)
for _, id in ipairs(ids) do
  local record = ARGV[2] .. id
  if redis.call('TYPE', record)['ok'] == 'hash' then
    -- The stored text is the score: a Lua number would print with 14 digits and lose
    -- the fraction that keeps a batch's order.
    local order = redis.call('HGET', record, 'order')
    local score = tonumber(order)
    redis.call('ZADD', KEYS[2], (score and score < now) and order or ARGV[1], id)
    redis.call('HSET', record, 'attempts', 0, 'status', 'scheduled')
  else
    redis.call('ZADD', KEYS[2], ARGV[1], id)
  end
end
redis.call('HSET', KEYS[1], 'paused', '0', 'paused_reason', '', 'streak', 0)
redis.call('HDEL', KEYS[1], 'failing_since')
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


@dataclass(frozen=True, slots=True)
class Claimed:
    """A claimed delivery id with its stored record, loaded in the claim's round trip.

    Decoded by the attempt (:meth:`DeliveryStore.decode`), so a record that does not
    decode fails that attempt only.
    """

    delivery_id: str
    data: dict[str, str]
    delivered: bool
    #: The Redis type of a record key that is not a hash (written by something else).
    wrong_type: str | None = None


@dataclass(frozen=True)
class Claim:
    """What one claim found: the subscription paused (nothing claimed), or deliveries."""

    paused: bool
    deliveries: list[Claimed]


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
        self._enqueue_many = redis.register_script(_ENQUEUE_MANY)
        self._claim = redis.register_script(_CLAIM)
        self._claim_load = redis.register_script(_CLAIM_LOAD)
        self._finish_script = redis.register_script(_FINISH_MANY)
        self._reap = redis.register_script(_REAP)
        self._pause = redis.register_script(_PAUSE)
        self._resume = redis.register_script(_RESUME)
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
            for start in range(0, len(deliveries), _SCRIPT_BATCH):
                batch = _Batch()
                items = [
                    [
                        item.delivery_id,
                        batch.sub(item.subscription_id, self._enqueue_keys),
                        batch.alert(item.alert, k, self._alerts),
                        repr(item.order),
                    ]
                    for item in deliveries[start : start + _SCRIPT_BATCH]
                ]
                batched = {"subs": batch.subs, "alerts": batch.alerts, "items": items}
                payload = json.dumps(batched, ensure_ascii=False)
                args: list[str | int] = [
                    payload,
                    k.record(""),
                    k.index(None),
                    now,
                    RETENTION_S,
                    QUEUE_TTL_S,
                ]
                await self._enqueue_many(keys=[], args=args, client=pipe)
            results = await pipe.execute()
        return sum(int(result) for result in results)

    def _enqueue_keys(self, sub: str) -> list[str]:
        k = self.keys
        return [k.due(sub), k.delivered(sub, ""), k.index(sub), sub]

    @redis_call
    async def claim(self, subscription_id: str, limit: int, lease_s: float) -> list[str]:
        """Take up to ``limit`` due deliveries, leased for ``lease_s`` seconds."""
        ids = await self._claim(
            keys=[self.keys.due(subscription_id), self.keys.inflight(subscription_id)],
            args=[self.now_ms(), limit, int(lease_s * 1000), QUEUE_TTL_S],
        )
        return [str(item) for item in ids]

    @redis_call
    async def claim_batch(self, subscription_id: str, limit: int, lease_s: float) -> Claim:
        """Unless the subscription is paused, take up to ``limit`` due deliveries (leased
        for ``lease_s`` seconds) with their records: one round trip for the batch."""
        k = self.keys
        reply = await self._claim_load(
            keys=[k.due(subscription_id), k.inflight(subscription_id), k.state(subscription_id)],
            args=[
                self.now_ms(),
                limit,
                int(lease_s * 1000),
                QUEUE_TTL_S,
                k.record(""),
                k.delivered(subscription_id, ""),
            ],
        )
        if int(reply[0]) == 1:
            return Claim(paused=True, deliveries=[])
        deliveries = [
            _claimed(str(reply[n]), reply[n + 1], bool(reply[n + 2]))
            for n in range(1, len(reply), 3)
        ]
        return Claim(paused=False, deliveries=deliveries)

    def decode(self, claimed: Claimed) -> PendingDelivery | None:
        """The claimed delivery as needed for an attempt (``None`` when its record is
        gone); raises when the stored record does not decode."""
        if claimed.wrong_type is not None:
            raise StoreError(
                f"DeliveryStore.claim_batch: WRONGTYPE the delivery record is a"
                f" {claimed.wrong_type}, not a hash"
            )
        return self._pending(claimed.delivery_id, claimed.data)

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
        """Record an outcome and move the delivery out of ``inflight`` atomically.

        ``RETRYING`` and ``PAUSED`` put it back in ``due`` (at ``next_ms``); ``DELIVERED``
        sets the delivered mark and ends the subscription's failure streak, returning the
        streak it ended (0 otherwise); ``DELIVERED`` and ``FAILED`` shorten the record's
        TTL to the log retention. Concurrent calls share one script call (each call returns
        once its own outcome is stored, as alone).
        """
        return await self._finishes.submit(
            _Outcome(item, status, attempt, attempts, next_ms, error, self.now_ms())
        )

    async def _finish_many(self, outcomes: Sequence[_Outcome]) -> list[int]:
        k = self.keys
        batch = _Batch()
        items: list[list[Any]] = []
        for outcome in outcomes:
            item, status, attempt = outcome.item, outcome.status, outcome.attempt
            next_ms = outcome.next_ms
            if status in (DeliveryStatus.RETRYING, DeliveryStatus.PAUSED):
                kind = "requeue"
                due = repr(float(next_ms if next_ms is not None else item.order))
            else:
                kind = "delivered" if status is DeliveryStatus.DELIVERED else "ended"
                due = ""
            last_status = "" if attempt is None or attempt.status is None else str(attempt.status)
            sub = batch.sub(
                item.subscription_id,
                lambda sub: [k.inflight(sub), k.due(sub), k.delivered(sub, ""), k.state(sub)],
            )
            items.append(
                [
                    item.delivery_id,
                    sub,
                    status.value,
                    str(outcome.attempts),
                    str(outcome.at_ms),
                    "" if next_ms is None else str(int(next_ms)),
                    outcome.error or "",
                    last_status,
                    "" if attempt is None else attempt.model_dump_json(),
                    kind,
                    due,
                ]
            )
        payload = json.dumps({"subs": batch.subs, "items": items}, ensure_ascii=False)
        args: list[str | int] = [payload, k.record(""), k.attempts(""), RETENTION_S, QUEUE_TTL_S]
        results = await self._finish_script(keys=[], args=[*args, MAX_LOGGED_ATTEMPTS])
        return [int(result) for result in results]

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
        One script: the queue is rewritten before the pause is lifted, so a worker never
        claims (and sends) a delivery that the rewrite would then put back as scheduled.
        """
        keys = [self.keys.state(subscription_id), self.keys.due(subscription_id)]
        args: list[str | int] = [self.now_ms(), self.keys.record("")]
        return int(await self._resume(keys=keys, args=args))


def _end_streak(pipe: Pipeline, key: str) -> None:
    """Queue: read the failure streak, then reset it (4 results: streak, _, _, _)."""
    pipe.hget(key, "streak")
    pipe.hset(key, "streak", 0)
    pipe.hdel(key, "failing_since")
    pipe.expire(key, QUEUE_TTL_S)


class _Batch:
    """The subscriptions and alerts of one script call, each listed once (by index)."""

    def __init__(self) -> None:
        self.subs: list[list[str]] = []
        self.alerts: list[list[str]] = []
        self._sub_at: dict[str, int] = {}
        self._alert_at: dict[int, int] = {}

    def sub(self, subscription_id: str, keys: Callable[[str], list[str]]) -> int:
        """The index of ``subscription_id``'s entry (``keys(subscription_id)``)."""
        at = self._sub_at.get(subscription_id)
        if at is None:
            at = self._sub_at[subscription_id] = len(self.subs)
            self.subs.append(keys(subscription_id))
        return at

    def alert(self, alert: Alert, keys: DispatcherKeys, known: _AlertCache) -> int:
        """The index of ``alert``'s entry: a fanned-out alert is one object for all its
        subscriptions, serialised once (and remembered in ``known``: its attempts, soon
        after, need not parse what was just serialised)."""
        at = self._alert_at.get(id(alert))
        if at is None:
            at = self._alert_at[id(alert)] = len(self.alerts)
            text = alert.model_dump_json()
            known.put(text, alert)
            self.alerts.append([alert.alert_id, text, keys.by_alert(alert.alert_id)])
        return at


@dataclass(frozen=True, slots=True)
class _Outcome:
    """One :meth:`DeliveryStore.finish` call, queued for the next batch."""

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
            alert = Alert.model_validate_json(text)
            self.put(text, alert)
        return alert

    def put(self, text: str, alert: Alert) -> None:
        """Remember that ``text`` parses to ``alert``."""
        if len(self._alerts) >= self._limit:
            self._alerts.clear()
        self._alerts[text] = alert


def _claimed(delivery_id: str, record: Any, delivered: bool) -> Claimed:
    if isinstance(record, (bytes, str)):  # the key's type, when it is not a hash
        kind = record.decode() if isinstance(record, bytes) else record
        return Claimed(delivery_id, {}, delivered, wrong_type=kind)
    return Claimed(delivery_id, _fields(record), delivered)


def _fields(flat: Sequence[Any]) -> dict[str, str]:
    """A hash from its ``HGETALL`` reply as a Lua script returns it (a flat list)."""
    return {str(flat[n]): str(flat[n + 1]) for n in range(0, len(flat) - 1, 2)}


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
