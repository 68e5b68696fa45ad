"""A cache bounded by the bytes it holds, not by its number of entries.

The text and rule caches are keyed by input others write (article tokens, rule texts):
a bound on entries alone lets a few long keys hold megabytes each. A
:class:`SizedCache` counts an estimate of every entry's bytes and empties itself before
an entry would take it past its budget (what is cached is recomputed on the next
miss, so emptying changes speed, never results).
"""

from __future__ import annotations

import weakref
from typing import Generic, TypeVar

_K = TypeVar("_K")
_V = TypeVar("_V")

#: Bytes a dict slot and its bookkeeping cost beyond the key and value objects.
ENTRY_OVERHEAD = 100
#: Bytes of a string object beyond its characters.
_STR_HEADER = 60


def text_bytes(text: str) -> int:
    """The estimated bytes of a cache entry keyed by ``text``: the slot, and the string
    at four bytes a character (exact for the widest strings, generous for ASCII; a
    ``sys.getsizeof`` per entry would cost more than the lookups it saves)."""
    return ENTRY_OVERHEAD + _STR_HEADER + 4 * len(text)


class SizedCache(dict[_K, _V]):
    """A dict with a byte budget: :meth:`put` empties it when the budget would be passed.

    Lookups are plain dict lookups (``get``, ``[]``, ``in`` at C speed); only
    :meth:`put` counts. Entries put with ``[]`` are not counted: use :meth:`put`.
    Caches made by one :class:`CachePool` share its budget instead and are emptied
    together.
    """

    __slots__ = ("__weakref__", "budget", "pool", "used")

    def __init__(self, budget: int, pool: CachePool[_V] | None = None) -> None:
        super().__init__()
        #: The most bytes the entries may hold together (estimated by the callers).
        self.budget = budget
        #: Estimated bytes of the entries now held.
        self.used = 0
        #: The pool whose budget this cache shares, if any.
        self.pool = pool

    def put(self, key: _K, value: _V, size: int) -> _V:
        """Store ``value`` under ``key`` (``size``: its estimated bytes); return it.

        An entry bigger than the whole budget is not stored at all.
        """
        if size > self.budget:
            return value
        pool = self.pool
        if pool is not None:
            if pool.used + size > self.budget:
                pool.clear()
            pool.used += size
        elif self.used + size > self.budget:
            self.clear()
        self[key] = value
        self.used += size
        return value

    def clear(self) -> None:
        """Drop every entry."""
        super().clear()
        self.used = 0


class CachePool(Generic[_V]):
    """Several :class:`SizedCache` sharing one byte budget, emptied all at once.

    The pool knows its caches by weak reference, so a pool and its caches form no
    reference cycle: an owner's caches are freed with it, without the cyclic GC.
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self._members: list[weakref.ref[SizedCache[str, _V]]] = []

    def cache(self) -> SizedCache[str, _V]:
        """A new empty cache of this pool."""
        member: SizedCache[str, _V] = SizedCache(self.budget, self)
        self._members.append(weakref.ref(member))
        return member

    def _alive(self) -> list[SizedCache[str, _V]]:
        return [member for ref in self._members if (member := ref()) is not None]

    def clear(self) -> None:
        """Empty every cache of the pool (callers holding one keep a valid, empty cache)."""
        for member in self._alive():
            member.clear()
        self.used = 0

    def drop(self) -> None:
        """Empty every cache and forget them (they stay usable but are no longer counted)."""
        self.clear()
        for member in self._alive():
            member.pool = None
        self._members = []
