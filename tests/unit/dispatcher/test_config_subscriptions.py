"""The dispatcher re-reads its subscriptions off the event loop (the services' one watcher)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

from newsalert.config.subscriptions_only import load_subscriptions
from newsalert.config.watch import ConfigWatcher

SECRET = "whsec_" + "a" * 32


def _write(path: Path, subscription_ids: list[str], *, stamp: int) -> None:
    lines = ["version: 1", "rules:", "  - {id: a, all: [envoy]}", "subscriptions:"]
    lines += [
        f"  - {{id: {sid}, url: 'https://{sid}.test/', secret: {SECRET}, rules: ['*']}}"
        for sid in subscription_ids
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.utime(path, (stamp, stamp))


async def _until(predicate: Callable[[], bool]) -> None:
    for _ in range(500):  # up to 5 s
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached in 5 s")


async def test_edits_are_picked_up_and_broken_edits_keep_the_last_good(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    _write(path, ["one"], stamp=1_000_000)
    watching = ConfigWatcher(path, lambda: load_subscriptions(path), interval_s=0.02)

    def subscriptions() -> tuple[object, ...]:
        return watching.value

    assert [s.id for s in watching.value] == ["one"]
    stop = asyncio.Event()
    watcher = asyncio.create_task(watching.run(stop))

    _write(path, ["one", "two"], stamp=1_000_010)
    await _until(lambda: len(subscriptions()) == 2)

    path.write_text("version: 1\nrules: [oops\n", encoding="utf-8")
    os.utime(path, (1_000_020, 1_000_020))
    await _until(lambda: watching.failures == 1)
    assert [s.id for s in watching.value] == ["one", "two"]

    _write(path, ["three"], stamp=1_000_030)
    await _until(lambda: [s.id for s in watching.value] == ["three"])

    stop.set()
    await asyncio.wait_for(watcher, timeout=2)
