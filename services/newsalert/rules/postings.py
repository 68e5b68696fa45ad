"""Anchor postings in flat arrays: which rules a document's keys make candidates.

Every rule has two required clauses (a rule with a single clause uses it twice); a rule
is a candidate when some key of each clause occurs in the document, as in Lucene's
CoveringQuery with a required count of 2. All postings live in one ``int32`` array of
rule numbers in CSR form: key ``k`` lists the rules it is a first-clause key of in
``codes[bounds[2k]:bounds[2k + 1]]`` and those it is a second-clause key of in
``codes[bounds[2k + 1]:bounds[2k + 2]]``.
Selecting candidates (:func:`newsalert.rules.kernels.candidate_rules`) is one compiled
walk over the postings of the keys present in the document: its cost grows with those
postings, never with the number of rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain

import numpy as np
import numpy.typing as npt

from newsalert.rules import kernels
from newsalert.rules.anchors import BIGRAM_SEP, FIELD_SEP, Clause
from newsalert.rules.arrays import IntArray

_NO_RULES: IntArray = np.zeros(0, dtype=np.int32)


class Postings:
    """Key -> (rule, clause) codes for stems (and stem pairs) and wildcard prefixes."""

    __slots__ = (
        "bounds",
        "codes",
        "prefix_ids",
        "prefix_keys",
        "rules",
        "size",
        "stem_ids",
        "stem_keys",
    )

    def __init__(
        self,
        rules: int,
        entries: Iterable[tuple[int, Clause, Clause]],
        extra_keys: Iterable[tuple[str, bool]] = (),
    ) -> None:
        """Index ``(rule_number, first_clause, second_clause)`` of ``rules`` rules.

        ``extra_keys`` (``(value, is_prefix)``) get ids too, with no postings: keys the
        exact evaluation needs to see present.
        """
        self.rules = rules
        self.stem_ids: dict[str, int] = {}
        self.prefix_ids: dict[str, int] = {}
        # Key ids start at 1 so that ``filter(None, map(ids.get, keys))`` keeps exactly
        # the keys present; slot 0 is an empty posting.
        # Per key id: the rules of its first-clause postings, then of its second.
        lists: list[list[int]] = [[], []]
        for number, first, second in entries:
            for clause_bit, clause in ((0, first), (1, second)):
                for ids, keys in (
                    (self.stem_ids, clause.stems),
                    (self.prefix_ids, clause.prefixes),
                ):
                    for key in keys:
                        key_id = ids.get(key)
                        if key_id is None:
                            key_id = ids[key] = len(lists) // 2
                            lists += [[], []]
                        lists[2 * key_id + clause_bit].append(number)
        for value, prefix in extra_keys:
            ids = self.prefix_ids if prefix else self.stem_ids
            if value not in ids:
                ids[value] = len(lists) // 2
                lists += [[], []]
        # Documents find stem pairs by the ids of adjacent stems: both stems of every
        # pair key (of any field or of one field only) get an id.
        for key in [key for key in self.stem_ids if BIGRAM_SEP in key]:
            for part in key.rpartition(FIELD_SEP)[2].split(BIGRAM_SEP):
                if part not in self.stem_ids:
                    self.stem_ids[part] = len(lists) // 2
                    lists += [[], []]
        self.size = len(lists) // 2
        lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
        self.bounds = np.zeros(len(lists) + 1, dtype=np.int64)
        np.cumsum(lengths, out=self.bounds[1:])
        self.codes = np.fromiter(
            chain.from_iterable(lists), dtype=np.int32, count=int(self.bounds[-1])
        )
        self.stem_keys = frozenset(self.stem_ids)
        self.prefix_keys = frozenset(self.prefix_ids)

    def key_ids(self, stems: set[str], prefixes: set[str]) -> list[int]:
        """Ids of the document keys the index knows (each once)."""
        # One probe per document key (the postings are large and cold in the cache:
        # a set intersection first and a lookup after would touch them twice).
        ids = list(filter(None, map(self.stem_ids.get, stems)))
        if prefixes:
            ids.extend(filter(None, map(self.prefix_ids.get, prefixes)))
        return ids

    def candidates(self, stems: set[str], prefixes: set[str]) -> IntArray:
        """Sorted numbers of the rules whose two clauses both have a key present."""
        return self.candidates_of(np.array(self.key_ids(stems, prefixes), dtype=np.int64))

    def candidates_of(self, ids: npt.NDArray[np.int64]) -> IntArray:
        """Like :meth:`candidates`, from the ids of the keys a document contains."""
        found = ids.astype(np.int32)
        marks = np.zeros(self.rules, dtype=np.uint8)
        touched = np.zeros(self.rules, dtype=np.int32)
        return kernels.candidate_rules(
            found, found.size, self.bounds, self.codes, _NO_RULES, marks, touched
        )
