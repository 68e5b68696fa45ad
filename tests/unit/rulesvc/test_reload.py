"""Hot reload: new rules go live, an invalid file keeps the last good set."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from newsalert.errors import ConfigError
from newsalert.rules import Document
from newsalert.rulesvc.metrics import RELOAD_FAILING, RULES_CHECKED
from newsalert.rulesvc.reload import RuleReloader

V1 = "version: 1\nrules:\n  - {id: a, all: [envoy]}\n"
V2 = "version: 1\nrules:\n  - {id: a, all: [envoy]}\n  - {id: b, all: [summoned]}\n"
BAD = "version: 1\nrules:\n  - {id: a, query: '(envoy'}\n"


def fired(reloader: RuleReloader) -> list[str]:
    doc = Document.from_text(body="the envoy was summoned")
    return [m.rule_id for m in reloader.compiled.match(doc)]


def test_invalid_file_refuses_to_start(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(BAD)
    with pytest.raises(ConfigError):
        RuleReloader(path)


async def test_check_swaps_and_keeps_last_good(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(V1)
    reloader = RuleReloader(path, env={}, interval_s=0.05)
    assert fired(reloader) == ["a"]
    assert not await reloader.check()
    path.write_text(V2)
    assert await reloader.check()
    assert fired(reloader) == ["a", "b"]
    path.write_text(BAD)
    assert not await reloader.check()
    assert fired(reloader) == ["a", "b"]
    assert reloader.last_error is not None
    assert RELOAD_FAILING._value.get() == 1
    path.write_text(V1)
    assert await reloader.check()
    assert fired(reloader) == ["a"]
    assert RELOAD_FAILING._value.get() == 0
    assert reloader.reloads == 2
    assert reloader.failures == 1


async def test_deferred_first_compile_then_reloads_compile(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(V1)
    reloader = RuleReloader(path, env={}, interval_s=0.05, compile_now=False)
    assert [rule.id for rule in reloader.current.rules] == ["a"]
    with pytest.raises(RuntimeError):
        _ = reloader.compiled
    waiter = asyncio.create_task(reloader.wait_compiled())
    await asyncio.sleep(0)
    assert not waiter.done()
    await reloader.compile_first()
    await asyncio.wait_for(waiter, 5)
    assert fired(reloader) == ["a"]
    path.write_text(V2)
    assert await reloader.check()
    assert fired(reloader) == ["a", "b"]


async def test_run_ends_on_stop_before_the_first_compile(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(V1)
    reloader = RuleReloader(path, env={}, interval_s=0.05, compile_now=False)
    stop = asyncio.Event()
    running = asyncio.create_task(reloader.run(stop))
    await asyncio.sleep(0)
    stop.set()
    await asyncio.wait_for(running, 5)


async def test_checked_rules_gauge_counts_rules_not_decided_in_bulk(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(V2)
    reloader = RuleReloader(path, env={})
    assert RULES_CHECKED._value.get() == 0
    # A three-word window keyword needs the compiled checks.
    path.write_text(V2 + "  - {id: c, all: [ambassador was summoned]}\n")
    assert await reloader.check()
    assert RULES_CHECKED._value.get() == 1


async def test_run_picks_up_a_write_quickly(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(V1)
    reloader = RuleReloader(path, interval_s=0.05)
    stop = asyncio.Event()
    task = asyncio.create_task(reloader.run(stop))
    old = reloader.compiled
    # Same size and (possibly) same mtime: the content hash still sees the change.
    path.write_text(V1.replace("envoy", "envoz"))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns))
    for _ in range(100):
        if reloader.compiled is not old:
            break
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(task, 2)
    assert reloader.compiled is not old
    assert fired(reloader) == []


async def test_a_saved_edit_is_seen_before_the_full_poll(tmp_path: Path) -> None:
    # The fingerprint poll is an hour away: only the size/mtime check can see the edit.
    path = tmp_path / "rules.yaml"
    path.write_text(V1)
    reloader = RuleReloader(path, interval_s=3600)
    stop = asyncio.Event()
    task = asyncio.create_task(reloader.run(stop))
    for n in range(250):
        if reloader.reloads:
            break
        if n % 25 == 0:  # saved again now and then, in case run() first looked after it
            path.write_text(V2 + "#" * (n // 25 + 1) + "\n")
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(task, 2)
    assert fired(reloader) == ["a", "b"]


async def test_directory_reload(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(V1)
    reloader = RuleReloader(tmp_path)
    (tmp_path / "b.yaml").write_text("rules:\n  - {id: b, all: [summoned]}\n")
    assert await reloader.check()
    assert fired(reloader) == ["a", "b"]
