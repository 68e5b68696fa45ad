"""A matcher starts only on a Redis with hash field expiration (its band marks need it)."""

from __future__ import annotations

from typing import Any, cast

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from newsalert.redis_policy import (
    RedisFeatureError,
    RedisPolicyError,
    check_field_expiry,
    verify_redis_policy,
)
from newsalert.settings import Settings

pytestmark = pytest.mark.integration


async def test_the_session_redis_has_field_expiry(redis_url: str) -> None:
    client = Redis.from_url(redis_url)
    try:
        await check_field_expiry(client)
        assert await client.exists("newsalert:probe:missing") == 0  # the probe wrote nothing
    finally:
        await client.aclose()
    await verify_redis_policy(Settings(redis_url=redis_url), field_expiry=True)


class _OldRedis:
    """A server from before hash field expiration, as redis-py reports it."""

    async def hpexpire(self, *args: Any, **kwargs: Any) -> list[int]:
        raise ResponseError("unknown command 'HPEXPIRE', with args beginning with: ")


async def test_a_redis_without_field_expiry_is_refused() -> None:
    with pytest.raises(RedisFeatureError) as refused:
        await check_field_expiry(cast(Redis, _OldRedis()))
    assert isinstance(refused.value, RedisPolicyError)  # the CLI exits with EX_CONFIG
    assert "Redis 7.4" in str(refused.value)
    assert "Valkey 9.0" in str(refused.value)
