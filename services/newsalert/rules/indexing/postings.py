"""Anchor postings in flat arrays: which rules a document's keys make candidates.

Every rule has two required clauses (a rule with one clause uses it twice); it is a
candidate when some key of each clause occurs in the document (Lucene's CoveringQuery
with a required count of 2). All postings are one ``int32`` array of rule numbers in CSR
form: key ``k``'s first-clause rules are ``codes[bounds[2k]:bounds[2k + 1]]``, its
second-clause rules ``codes[bounds[2k + 1]:bounds[2k + 2]]`` (a rule's *slots*, see
:func:`anchor_slots`). :func:`newsalert.rules.indexing.kernels.candidate_rules` walks the
postings of the keys present: its cost grows with those postings, never with the rules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import chain

import numpy as np
import numpy.typing as npt

from newsalert.rules.indexing import kernels
from newsalert.rules.indexing.anchors import Clause
from newsalert.rules.indexing.arrays import IntArray


def anchor_slots(
    clauses: Sequence[Clause], stem_id: Callable[[str], int], prefix_id: Callable[[str], int]
) -> tuple[int, ...]:
    """The posting slots of a rule anchored by its first two ``clauses`` (one clause is
    used twice; none: no postings, the rule is checked on every document)."""
    if not clauses:
        return ()
    first = clauses[0]
    second = clauses[1] if len(clauses) > 1 else first
    slots: list[int] = []
    for bit, clause in ((0, first), (1, second)):
        slots += [2 * stem_id(stem) + bit for stem in clause.stems]
        slots += [2 * prefix_id(prefix) + bit for prefix in clause.prefixes]
    return tuple(slots)


class Postings:
    """Key id -> the rules it is a first-clause key of, and a second-clause key of."""

    __slots__ = ("arrays", "rules")

    def __init__(self, slots: Sequence[tuple[int, ...]], size: int) -> None:
        """Postings of rules ``0 .. len(slots) - 1``, rule ``r`` at ``slots[r]``; every key
        id below ``size``."""
        self.rules = len(slots)
        lengths = np.fromiter(map(len, slots), dtype=np.int64, count=len(slots))
        where = np.fromiter(chain.from_iterable(slots), dtype=np.int64, count=int(lengths.sum()))
        owners = np.repeat(np.arange(len(slots), dtype=np.int32), lengths)
        order = np.argsort(where, kind="stable")
        bounds = np.zeros(2 * size + 1, dtype=np.int64)
        np.cumsum(np.bincount(where, minlength=2 * size), out=bounds[1:])
        always = np.flatnonzero(lengths == 0).astype(np.int32)
        self.arrays = kernels.PostingArrays(bounds, owners[order], always)

    @property
    def always(self) -> IntArray:
        """The rules with no anchor: candidates on every document."""
        return self.arrays.always

    def candidates_of(self, ids: npt.NDArray[np.int64]) -> IntArray:
        """Sorted numbers of the rules whose two clauses both have a key among ``ids``
        (the distinct ids of the keys a document contains)."""
        size = (self.arrays.bounds.size - 1) // 2
        scratch = kernels.Scratch.of(size, self.rules)
        scratch.found[: ids.size] = ids
        return kernels.candidate_rules(self.arrays, scratch, ids.size)
