"""A request that needs a dependency which is away answers 503, not 500."""

from __future__ import annotations

import httpx
import pytest

from newsalert.api.server import create_app
from newsalert.apiauth import ApiGuard, ApiTokens
from newsalert.errors import InfraError, KafkaUnavailableError, RedisUnavailableError

TOKEN = "read-token-for-the-unavailable-test"


@pytest.mark.parametrize(
    ("error", "name"),
    [
        (RedisUnavailableError("redis://:secret@10.0.0.5:6379 timed out"), "redis"),
        (KafkaUnavailableError("broker 10.0.0.7:9092 refused"), "kafka"),
    ],
)
async def test_an_unavailable_dependency_is_a_503_without_its_address(
    error: InfraError, name: str
) -> None:
    app = create_app(None, [], ApiGuard(ApiTokens.parse(read=TOKEN, admin="")))

    @app.get("/needs-a-dependency")
    async def needs_a_dependency() -> None:
        raise error

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        reply = await client.get("/needs-a-dependency")
    assert reply.status_code == 503
    assert reply.headers["retry-after"] == "1"
    assert reply.json() == {"detail": f"{name} is unavailable; try again"}
    assert "10.0.0" not in reply.text
