"""The API of a process that loads no rules (a dispatcher alone)."""

from __future__ import annotations

import httpx

from newsalert.api.server import create_app
from newsalert.subscriptions import Subscription

SUB = Subscription(
    id="desk", url="https://hooks.example.com/d", secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
)


async def test_rules_routes_say_no_rules_are_loaded_and_subscriptions_still_list() -> None:
    transport = httpx.ASGITransport(app=create_app(None, [], lambda: (SUB,)))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        assert (await client.get("/rules")).status_code == 404
        assert "loads no rules" in (await client.post("/rules/test", json={"body": "x"})).text
        assert (await client.get("/subscriptions")).json() == [
            {"id": "desk", "url": "https://hooks.example.com/d", "rules": ["*"]}
        ]
        ready = await client.get("/readyz")
        assert (ready.status_code, ready.json()["rules"]) == (200, None)
