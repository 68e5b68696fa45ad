"""Redis must keep every key newsalert writes: the ``maxmemory-policy`` check at start.

Redis holds the delivery queues and records (``due:``, ``inflight:``, ``dlv:``) and the
dedupe marks (``seen:``, ``story:``, ``alerted:``). Under memory pressure any policy but
``noeviction`` deletes keys: an evicted ``dlv:``/``due:`` key loses a delivery whose alert
offset is already committed, an evicted ``seen:``/``alerted:`` key sends an alert again.
Every newsalert key has a TTL, so the ``volatile-*`` policies evict them as readily as the
``allkeys-*`` ones. With ``noeviction`` a full Redis refuses writes instead; the services
treat that like Redis being down (stop, retry, lose nothing).

So the services (``run``, ``matcher``, ``dispatcher``) read the policy before they start
and refuse any other, unless ``NEWSALERT_REDIS_ALLOW_EVICTION=1`` accepts the risk. A
server that does not let us read it (``CONFIG`` renamed away, an ACL without ``+config``,
some managed services) gets a warning and is trusted.

The matcher also needs hash field expiration (``HPEXPIRE``: Redis 7.4, Valkey 9.0): its
near-duplicate band marks are fields of one hash, each with its own TTL. It refuses to
start on a server without it rather than fail every batch's dedupe check.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from newsalert.backoff import Backoff
from newsalert.errors import ConfigError, RedisUnavailableError, StackError
from newsalert.redis_errors import redis_calls
from newsalert.settings import Settings

log = logging.getLogger("newsalert")

SAFE_POLICY = "noeviction"
#: Exit status of a service refused for the policy (sysexits' EX_CONFIG).
EXIT_CODE = os.EX_CONFIG if hasattr(os, "EX_CONFIG") else 78
#: How long a starting service waits for Redis to answer before giving up.
CONNECT_WAIT_S = 30.0
#: Pauses between tries while waiting for Redis: doubling from a quarter second.
CONNECT_BACKOFF_S = (0.25, 0.5, 1.0, 2.0, 4.0, 5.0)


class RedisPolicyError(ConfigError):
    """Redis may evict newsalert's keys and nothing accepts that risk."""


class RedisFeatureError(RedisPolicyError):
    """Redis lacks a command the matcher's dedupe scripts use."""


#: The first releases with hash field expiration (``HPEXPIRE``), by server.
FIELD_EXPIRY_SINCE = {"redis": (7, 4), "valkey": (9, 0)}
#: The message for a Redis without hash field expiration.
NO_FIELD_EXPIRY = (
    "Redis does not support hash field expiration (HPEXPIRE), which the matcher's dedupe "
    "store uses for its near-duplicate band marks: run Redis {redis} or later, or Valkey "
    "{valkey} or later. See docs/dedupe.md (Redis layout)."
).format(**{kind: ".".join(map(str, since)) for kind, since in FIELD_EXPIRY_SINCE.items()})


async def check_field_expiry(redis: Redis) -> None:
    """Raise :class:`RedisFeatureError` unless the server knows ``HPEXPIRE``.

    Probes with ``HPEXPIRE`` on a key that does not exist, which changes nothing.
    """
    with redis_calls("probing HPEXPIRE"):
        try:
            await redis.hpexpire("newsalert:probe:missing", 1, "f")
        except ResponseError as exc:
            if "unknown command" in str(exc).lower():
                raise RedisFeatureError(NO_FIELD_EXPIRY) from exc
            raise


def refusal(policy: str) -> str:
    """The error message for a Redis whose ``maxmemory-policy`` is ``policy``."""
    return (
        f"Redis maxmemory-policy is {policy!r}, so Redis may evict newsalert's keys under "
        "memory pressure: evicted dlv:/due: keys lose queued deliveries, evicted "
        "seen:/alerted: keys send alerts again. Set the server's policy to noeviction "
        "(redis-server --maxmemory-policy noeviction, or CONFIG SET maxmemory-policy "
        "noeviction and save it in redis.conf), or set NEWSALERT_REDIS_ALLOW_EVICTION=1 "
        "to run anyway and accept the risk. See docs/guarantees.md#redis-eviction."
    )


async def check_eviction_policy(redis: Redis, *, allow_eviction: bool) -> str | None:
    """The server's ``maxmemory-policy`` when it is acceptable; ``None`` if unreadable.

    Raises :class:`RedisPolicyError` for any policy but ``noeviction`` unless
    ``allow_eviction``; :class:`~newsalert.errors.RedisUnavailableError` when Redis does
    not answer (the caller decides to wait).
    """
    with redis_calls("reading maxmemory-policy"):
        try:
            reply = await redis.config_get("maxmemory-policy")
        except ResponseError as exc:  # CONFIG disabled or renamed, or not allowed by the ACL
            log.warning(
                "cannot read Redis maxmemory-policy (%s); newsalert needs it to be %s: "
                "check the server's configuration",
                exc,
                SAFE_POLICY,
            )
            return None
    policy = reply.get("maxmemory-policy")
    if not isinstance(policy, str):
        log.warning("Redis did not report maxmemory-policy; newsalert needs %s", SAFE_POLICY)
        return None
    if policy == SAFE_POLICY:
        return policy
    if not allow_eviction:
        raise RedisPolicyError(refusal(policy))
    log.warning(
        "Redis maxmemory-policy is %r; running anyway (NEWSALERT_REDIS_ALLOW_EVICTION): "
        "evicted keys lose deliveries or re-send alerts",
        policy,
    )
    return policy


async def verify_redis_policy(
    settings: Settings, *, wait_s: float = CONNECT_WAIT_S, field_expiry: bool = False
) -> None:
    """Check the policy of the Redis at ``settings.redis_url``, waiting for it to answer;
    with ``field_expiry`` (a matcher), also that it supports ``HPEXPIRE``.

    Raises :class:`RedisPolicyError` (refused policy), :class:`RedisFeatureError` (no
    hash field expiration) or :class:`StackError` (Redis did not answer within
    ``wait_s`` seconds).
    """
    redis = Redis.from_url(settings.redis_url, decode_responses=True, socket_timeout=5.0)
    deadline = time.monotonic() + wait_s
    backoff = Backoff(CONNECT_BACKOFF_S)
    try:
        while True:
            try:
                await check_eviction_policy(redis, allow_eviction=settings.redis_allow_eviction)
                if field_expiry:
                    await check_field_expiry(redis)
                return
            except RedisUnavailableError as exc:
                delay = backoff.next_delay()
                if time.monotonic() + delay > deadline:
                    raise StackError(
                        f"Redis (NEWSALERT_REDIS_URL) did not answer within {wait_s:.0f} s, "
                        f"so its maxmemory-policy could not be checked: {exc}"
                    ) from exc
                log.warning("waiting for Redis to check its maxmemory-policy: %s", exc)
                await asyncio.sleep(delay)
    finally:
        await redis.aclose()
