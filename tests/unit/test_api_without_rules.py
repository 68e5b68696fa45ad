"""The API of a process that loads no rules (a dispatcher alone)."""

from __future__ import annotations

import httpx

from newsalert.api.server import create_app
from newsalert.apiauth import ApiGuard, ApiTokens
from newsalert.subscriptions import Subscription

SUB = Subscription(
    id="desk", url="https://hooks.example.com/d", secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
)
TOKEN = "read-token-for-this-test-0123456789"


async def test_rules_routes_say_no_rules_are_loaded_and_subscriptions_still_list() -> None:
    guard = ApiGuard(ApiTokens.parse(TOKEN, ""))
    app = create_app(None, [], guard, subscriptions=lambda: (SUB,))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api", headers=headers) as c:
        assert (await c.get("/rules")).status_code == 404
        assert "loads no rules" in (await c.post("/rules/test", json={"body": "x"})).text
        listed = (await c.get("/subscriptions")).json()
        assert [(s["id"], s["url"].split(" ")[0], s["rules"]) for s in listed] == [
            ("desk", "https://hooks.example.com/…", ["*"])
        ]
        ready = await c.get("/readyz")
        assert (ready.status_code, ready.json()["rules"]) == (200, None)


async def test_subscriptions_show_their_repeat_interval_and_no_url_secret() -> None:
    six_hours = Subscription(
        id="asia-desk",
        url="https://user:pw@hooks.example.com/T000/B000/XyZsecret?token=abc123",
        secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        repeat_interval="6h",
    )
    guard = ApiGuard(ApiTokens.parse(TOKEN, ""))
    app = create_app(None, [], guard, subscriptions=lambda: (SUB, six_hours))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api", headers=headers) as c:
        answer = await c.get("/subscriptions")
    listed = {s["id"]: s["repeat_interval"] for s in answer.json()}
    assert listed == {"desk": None, "asia-desk": "6h"}
    for secret in ("pw", "T000", "XyZsecret", "abc123", "whsec_"):
        assert secret not in answer.text
