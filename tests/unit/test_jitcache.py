"""numba's cache folder: left alone where numba can write, the temporary folder where it
cannot (a read-only container without a home)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from newsalert import jitcache
from newsalert.jitcache import cache_where_writable


def _writable_only(monkeypatch: pytest.MonkeyPatch, *allowed: Path) -> None:
    """``os.access`` as a read-only root file system would answer, except for ``allowed``
    (the tests run as root, to whom every folder is writable)."""

    def access(path: str | os.PathLike[str], mode: int) -> bool:
        return Path(path) in allowed

    monkeypatch.setattr(jitcache.os, "access", access)


def test_a_configured_cache_folder_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _writable_only(monkeypatch)
    config = SimpleNamespace(CACHE_DIR="/srv/numba")
    cache_where_writable(config, tmp_path)
    assert config.CACHE_DIR == "/srv/numba"


def test_a_writable_source_folder_keeps_numbas_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "__pycache__").mkdir()
    _writable_only(monkeypatch, tmp_path / "__pycache__")
    config = SimpleNamespace(CACHE_DIR="")
    cache_where_writable(config, tmp_path)
    assert config.CACHE_DIR == ""


def test_a_writable_home_cache_keeps_numbas_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    (home / ".cache").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    _writable_only(monkeypatch, home / ".cache")
    config = SimpleNamespace(CACHE_DIR="")
    cache_where_writable(config, tmp_path / "package")
    assert config.CACHE_DIR == ""


def test_nothing_writable_moves_the_cache_to_the_temporary_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "nohome"))
    _writable_only(monkeypatch)
    config = SimpleNamespace(CACHE_DIR="")
    cache_where_writable(config, tmp_path / "package")
    assert str(Path(tempfile.gettempdir()) / f"newsalert-numba-{os.getuid()}") == config.CACHE_DIR
