"""Where numba keeps the compiled kernels of a module: its disk cache, made to work in
read-only containers.

numba caches beside the source file, else in the user's cache folder, and fails when
neither is writable (a container with a read-only root and no home). Each module that
compiles kernels calls :func:`cache_where_writable` before its first compile: when
neither place is writable and no cache folder was configured (``NUMBA_CACHE_DIR``), the
temporary folder is used. Pure: it imports neither numba nor any adapter; the caller
passes ``numba.config``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any


def cache_where_writable(config: Any, source_dir: Path) -> None:
    """Point ``config.CACHE_DIR`` (``numba.config``) at the temporary folder when
    neither ``source_dir`` (its ``__pycache__``) nor the home cache is writable and no
    cache folder was configured; otherwise leave it alone."""
    if config.CACHE_DIR:
        return
    cache = source_dir / "__pycache__"
    if os.access(cache if cache.exists() else source_dir, os.W_OK):
        return
    home_cache = Path.home() / ".cache"
    if os.access(home_cache if home_cache.exists() else Path.home(), os.W_OK):
        return
    config.CACHE_DIR = str(Path(tempfile.gettempdir()) / f"newsalert-numba-{os.getuid()}")
