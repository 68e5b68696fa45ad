"""Stable integer ids of the index's keys, shared from one compile to the next.

A key is a stem, a stem pair (``a + BIGRAM_SEP + b``) or a wildcard prefix, of every
field or of one (``field + FIELD_SEP + value``), named as :attr:`Key.name` does. Ids
that stay the same across compiles let each rule's arrays (its anchor postings, its
exact row, its proximity constraints) be derived once and reused by every later
compile of a file in which that rule did not change
(:mod:`newsalert.rules.indexing.analysis`).
"""

from __future__ import annotations

import threading

from newsalert.rules.indexing.anchors import BIGRAM_SEP, FIELD_SEP
from newsalert.rules.indexing.key import Key


class KeyIds:
    """Ids from 1 of stem keys and of prefix keys, in one numbering; only ever grows.

    Both stems of every stem pair get an id of their own (a stem of every field):
    documents find pairs by the ids of adjacent stems. Safe to share between threads.
    """

    __slots__ = ("_lock", "prefixes", "stems")

    def __init__(self) -> None:
        self.stems: dict[str, int] = {}
        self.prefixes: dict[str, int] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.stems) + len(self.prefixes)

    def stem(self, name: str) -> int:
        """The id of the stem (or stem pair) key ``name``."""
        found = self.stems.get(name)
        if found is not None:
            return found
        value = name.rpartition(FIELD_SEP)[2]
        with self._lock:
            if BIGRAM_SEP in value:
                for part in value.split(BIGRAM_SEP):
                    self._add(self.stems, part)
            return self._add(self.stems, name)

    def prefix(self, name: str) -> int:
        """The id of the wildcard prefix key ``name``."""
        found = self.prefixes.get(name)
        if found is not None:
            return found
        with self._lock:
            return self._add(self.prefixes, name)

    def key(self, key: Key) -> int:
        """The id of ``key``."""
        return self.prefix(key.name) if key.prefix else self.stem(key.name)

    def snapshot(self) -> tuple[dict[str, int], dict[str, int], int]:
        """``(stem ids, prefix ids, size)`` now: every id is below ``size``."""
        with self._lock:
            return dict(self.stems), dict(self.prefixes), len(self) + 1

    def _add(self, ids: dict[str, int], name: str) -> int:
        found = ids.get(name)
        if found is None:
            found = ids[name] = len(self) + 1
        return found
