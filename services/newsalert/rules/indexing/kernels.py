"""The compiled matching kernels' entry points: a document's keys, its candidate rules
and their decisions.

The index keeps everything a match needs in flat integer arrays
(:mod:`newsalert.rules.indexing.arrays`, whose names this module also offers). The
machine code that walks them is :mod:`newsalert.rules.indexing.jitted` (numba),
imported on the first call so that processes that never match do not load numba. The
kernels are pure: arrays in, arrays out, plus scratch arrays the caller owns (one set
per thread) that every function leaves as it found them.
"""

from __future__ import annotations

from types import ModuleType

from newsalert.rules.indexing.arrays import (
    Bools,
    Document,
    IndexArrays,
    Ints,
    Longs,
    PairArrays,
    PostingArrays,
    ProximityArrays,
    Scratch,
    TokenArrays,
)

# The structures callers build and pass, offered here beside the functions taking them.
__all__ = [
    "Document",
    "IndexArrays",
    "Matcher",
    "PairArrays",
    "PostingArrays",
    "ProximityArrays",
    "Scratch",
    "TokenArrays",
    "candidate_rules",
    "hash_table",
    "holding",
]


def _code() -> ModuleType:
    """The numba kernels (imported, and numba with them, on first use)."""
    from newsalert.rules.indexing import jitted

    return jitted


class Matcher:
    """Matches documents against one compiled index (:meth:`match`).

    The structures reach the machine code as their plain arrays, flattened here and
    only here (the index's once, at construction): numba types plain arrays at the call
    in C but named tuples in Python, once per article.
    """

    __slots__ = ("_index", "_match")

    def __init__(self, index: IndexArrays) -> None:
        self._match = _code().match
        self._index = (*index.pairs, *index.postings, index.rows, *index.proximity)

    def match(
        self, document: Document, table: TokenArrays, scratch: Scratch
    ) -> tuple[Ints, Longs, Ints]:
        """One document through every step: its keys, the candidate rules, the exact
        decisions. Returns ``(candidates, fired, others)``: the candidates (sorted rule
        numbers), the exact rules that fired (``rule << 16 | mask of its literals
        present``, ascending) and the candidates left to verify."""
        found: tuple[Ints, Longs, Ints] = self._match(*document, *table, *self._index, *scratch)
        return found


def hash_table(codes: Longs, ids: Ints) -> tuple[Longs, Ints]:
    """An open-addressing table of ``codes`` (all > 0, distinct) -> ``ids``: ``(slots,
    values)``, at most half full, an empty slot holding code 0."""
    table: tuple[Longs, Ints] = _code().hash_table(codes, ids)
    return table


def candidate_rules(postings: PostingArrays, scratch: Scratch, count: int) -> Ints:
    """Sorted numbers of the rules whose two anchor clauses both have a key among the
    first ``count`` of ``scratch.found``."""
    found: Ints = _code().candidate_rules(postings, scratch, count)
    return found


def holding(
    rules: Ints, proximity: ProximityArrays, document: Document, table: TokenArrays, slot_of: Ints
) -> Bools:
    """Whether each of ``rules`` has all its proximity constraints holding in
    ``document`` (``slot_of``: zeroed scratch, one per key id, left zeroed)."""
    held: Bools = _code().holding(rules, proximity, document, table, slot_of)
    return held
