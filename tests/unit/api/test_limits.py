"""The rule-test runner's deadline and slot limit, and the body cap (real threads, ASGI)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request

from newsalert.api.limits import BodyLimit, BoundedOffload, OffloadBusyError, OffloadTimeoutError


async def test_offload_returns_results_from_a_worker_thread() -> None:
    offload = BoundedOffload(limit=2, timeout_s=5)
    caller = threading.get_ident()
    worker = await offload.run(threading.get_ident)
    assert worker != caller
    assert offload.running == 0
    offload.close()


async def test_a_slow_call_times_out_and_keeps_its_slot_until_it_returns() -> None:
    offload = BoundedOffload(limit=1, timeout_s=0.05)
    release = threading.Event()
    with pytest.raises(OffloadTimeoutError):
        await offload.run(lambda: release.wait(10))
    assert offload.running == 1
    with pytest.raises(OffloadBusyError):
        await offload.run(lambda: True)
    release.set()
    for _ in range(200):
        if offload.running == 0:
            break
        await _tick()
    assert offload.running == 0
    assert await offload.run(lambda: "free again") == "free again"
    offload.close()


async def _tick() -> None:
    await asyncio.sleep(0.01)


def _echo_app(max_bytes: int) -> FastAPI:
    app = FastAPI()
    app.add_middleware(BodyLimit, max_bytes=max_bytes)

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    return app


async def _stream(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_body_limit_by_declared_length() -> None:
    transport = httpx.ASGITransport(app=_echo_app(100))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        assert (await client.post("/echo", content=b"x" * 100)).json() == {"size": 100}
        too_big = await client.post("/echo", content=b"x" * 101)
        assert too_big.status_code == 413
        assert "100 bytes" in too_big.json()["detail"]
        chunked = await client.post("/echo", content=_stream(b"x"))
        assert chunked.status_code == 411
        assert (await client.post("/echo", headers={"content-length": "-1"})).status_code == 413
