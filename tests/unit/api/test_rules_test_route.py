"""POST /rules/test matches off the event loop, with a deadline and a slot limit."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import httpx

from newsalert.api.limits import BoundedOffload
from newsalert.api.server import create_app
from newsalert.apiauth import ApiGuard, ApiTokens

TOKEN = "read-token-for-the-route-test"


class _StuckRules:
    """A compiled rule set whose match blocks until released (a pathological text)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Event()

    def match(self, _document: object) -> Sequence[Any]:
        self.entered.set()
        self.release.wait(10)
        return []

    def __len__(self) -> int:
        return 0


class _Reloader:
    def __init__(self, compiled: _StuckRules) -> None:
        self.compiled = compiled


async def test_a_slow_match_times_out_while_the_loop_keeps_serving() -> None:
    rules = _StuckRules()
    app = create_app(
        _Reloader(rules),  # type: ignore[arg-type]
        [],
        ApiGuard(ApiTokens.parse(read=TOKEN, admin="")),
        rules_test=BoundedOffload(limit=1, timeout_s=0.2),
    )
    headers = {"Authorization": f"Bearer {TOKEN}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api", headers=headers) as c:
        slow = await c.post("/rules/test", json={"title": "t", "body": "b"})
        assert slow.status_code == 503
        assert "longer than 0.2 s" in slow.json()["detail"]
        assert rules.entered.is_set()
        # The stuck match still holds the only slot; the loop itself answers at once.
        assert (await c.get("/healthz")).status_code == 200
        busy = await c.post("/rules/test", json={"title": "t"})
        assert busy.status_code == 503
        assert busy.headers["retry-after"] == "1"
        rules.release.set()
