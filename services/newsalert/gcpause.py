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
def paused_gc(*, freeze: bool = False) -> Iterator[None]:
    """Disable the cyclic GC for the block (re-enabled after, if it was enabled).

    ``freeze``: when the block ends, move every object the collector tracks into its
    permanent generation (``gc.freeze()``), where no later pass rescans it, before the
    collector is back: for blocks whose survivors live long and hold no cycles (they are
    still freed by reference counting). Cyclic garbage frozen so is never collected, so
    only for blocks that make none.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if was_enabled:
            gc.enable()
