"""The ``maxmemory-policy`` check against real Redis servers of the test's own.

Any policy that may evict keys is refused unless the override accepts the risk; a server
that does not let us read the policy (``CONFIG`` renamed away, an ACL without it) gets a
warning and is trusted; an unreachable server is waited for, then reported.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from newsalert.errors import StackError
from newsalert.redis_policy import RedisPolicyError, check_eviction_policy, verify_redis_policy
from newsalert.settings import Settings
from newsalert.stack import StackInfo
from newsalert.stack.binaries import redis_binary
from newsalert.stack.embedded import spawn_redis
from newsalert.stack.process import ServerProcess, free_port
from tests.conftest import RestartableRedis

pytestmark = pytest.mark.integration

EVICTING = ["allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-ttl"]


@pytest.fixture
async def client(own_redis: RestartableRedis) -> AsyncIterator[Redis]:
    redis = Redis.from_url(own_redis.url, decode_responses=True)
    yield redis
    await redis.aclose()


def _settings(url: str, *, allow: bool = False) -> Settings:
    return Settings(redis_url=url, redis_allow_eviction=allow)


@pytest.mark.parametrize("policy", EVICTING)
async def test_an_evicting_policy_is_refused(
    own_redis: RestartableRedis, client: Redis, policy: str
) -> None:
    await client.config_set("maxmemory-policy", policy)
    with pytest.raises(RedisPolicyError) as refused:
        await check_eviction_policy(client, allow_eviction=False)
    message = str(refused.value)
    assert f"maxmemory-policy is {policy!r}" in message
    assert "NEWSALERT_REDIS_ALLOW_EVICTION=1" in message
    assert "noeviction" in message
    with pytest.raises(RedisPolicyError):
        await verify_redis_policy(_settings(own_redis.url))


async def test_noeviction_passes(own_redis: RestartableRedis, client: Redis) -> None:
    await client.config_set("maxmemory-policy", "noeviction")
    assert await check_eviction_policy(client, allow_eviction=False) == "noeviction"
    await verify_redis_policy(_settings(own_redis.url))


async def test_the_override_accepts_the_risk_with_a_warning(
    own_redis: RestartableRedis, client: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    await client.config_set("maxmemory-policy", "allkeys-lru")
    with caplog.at_level(logging.WARNING, logger="newsalert"):
        await verify_redis_policy(_settings(own_redis.url, allow=True))
    assert "maxmemory-policy is 'allkeys-lru'; running anyway" in caplog.text


async def test_an_acl_without_config_warns_and_carries_on(
    own_redis: RestartableRedis, client: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    await client.config_set("maxmemory-policy", "allkeys-lru")  # unseen by that user
    await client.acl_setuser(
        "newsalert", enabled=True, passwords=["+pw"], keys=["*"], commands=["+@all", "-config"]
    )
    url = own_redis.url.replace("redis://", "redis://newsalert:pw@")
    with caplog.at_level(logging.WARNING, logger="newsalert"):
        await verify_redis_policy(_settings(url))
    assert "cannot read Redis maxmemory-policy" in caplog.text


async def test_a_renamed_config_command_warns_and_carries_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    argv = [str(redis_binary()), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--rename-command", "CONFIG", "", "--dir", str(tmp_path)]  # fmt: skip
    server = ServerProcess.spawn("redis", argv, port, tmp_path / "redis.log", 30.0)
    try:
        with caplog.at_level(logging.WARNING, logger="newsalert"):
            await verify_redis_policy(_settings(f"redis://127.0.0.1:{port}/0"))
    finally:
        server.stop()
    assert "cannot read Redis maxmemory-policy" in caplog.text
    assert "unknown command" in caplog.text


async def test_an_unreachable_redis_is_waited_for_then_reported() -> None:
    with pytest.raises(StackError, match="did not answer within 1 s"):
        await verify_redis_policy(_settings(f"redis://127.0.0.1:{free_port()}/0"), wait_s=1.0)


async def test_a_redis_that_comes_up_late_is_checked(tmp_path: Path) -> None:
    port = free_port()
    server: ServerProcess | None = None

    async def start_late() -> None:
        nonlocal server
        await asyncio.sleep(1.0)
        server = await asyncio.to_thread(spawn_redis, port, tmp_path)

    late = asyncio.create_task(start_late())
    try:
        await verify_redis_policy(_settings(f"redis://127.0.0.1:{port}/0"), wait_s=20.0)
    finally:
        await late
        if server is not None:
            server.stop()


async def test_the_embedded_redis_passes_the_check(embedded_stack: StackInfo) -> None:
    redis = Redis.from_url(embedded_stack.redis_url, decode_responses=True)
    try:
        assert await check_eviction_policy(redis, allow_eviction=False) == "noeviction"
    finally:
        await redis.aclose()
