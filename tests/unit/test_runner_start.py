"""Services start together (and beside the first rule compile); a failed start is raised
once every start has ended, with the started ones listed for stopping."""

from __future__ import annotations

import asyncio

import pytest

from newsalert.runner import start_services


class _Service:
    def __init__(self, name: str, log: list[str], gate: asyncio.Event, fail: bool = False) -> None:
        self.name, self.log, self.gate, self.fail = name, log, gate, fail

    async def start(self) -> None:
        self.log.append(f"{self.name} starting")
        await self.gate.wait()  # every start is under way before any can finish
        if self.fail:
            raise RuntimeError(f"{self.name} failed")
        self.log.append(f"{self.name} started")

    async def stop(self) -> None:
        self.log.append(f"{self.name} stopped")


async def test_consumers_start_together_then_the_api() -> None:
    log: list[str] = []
    gate = asyncio.Event()
    consumers = [_Service("dispatcher", log, gate), _Service("matcher", log, gate)]
    api = _Service("api", log, asyncio.Event())
    api.gate.set()

    async def compile_rules() -> None:
        log.append("compile starting")
        await asyncio.sleep(0)
        gate.set()  # the consumers finish only once the compile has begun beside them

    started: list[object] = []
    await start_services([*consumers, api], started, api_last=True, meanwhile=compile_rules())
    assert log[:3] == ["dispatcher starting", "matcher starting", "compile starting"]
    assert log[-2:] == ["api starting", "api started"]
    assert started == [*consumers, api]


async def test_a_failed_start_is_raised_after_the_others_started() -> None:
    log: list[str] = []
    gate = asyncio.Event()
    gate.set()
    ok = _Service("dispatcher", log, gate)
    bad = _Service("matcher", log, gate, fail=True)
    api = _Service("api", log, gate)
    started: list[object] = []
    with pytest.raises(RuntimeError, match="matcher failed"):
        await start_services([ok, bad, api], started, api_last=True)
    assert started == [ok]
    assert "api starting" not in log
