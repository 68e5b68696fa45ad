"""Pause the cyclic garbage collector while building large, acyclic structures.

Loading or compiling a large rule set allocates millions of objects that all survive;
with the collector on, every generation-2 pass rescans the growing heap, so the work
grows faster than the rule set. Nothing built there is cyclic garbage, so pausing loses nothing.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Disable the cyclic GC for the block (re-enabled after, if it was enabled)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
