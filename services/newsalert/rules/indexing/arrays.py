"""The arrays of the index, as the compiled kernels read them.

numpy array types, and the named tuples that group the arrays
(:class:`Document`, :class:`TokenArrays`, :class:`PairArrays`, :class:`PostingArrays`,
:class:`ProximityArrays`, :class:`Scratch`; the compiled index's part in one
:class:`IndexArrays`, built by the compile). Conventions shared by the kernels
(:mod:`newsalert.rules.indexing.kernels`) and the Python side:

* key id 0 is never a key (an empty slot);
* an adjacent pair of stems with ids ``a``, ``b`` in field ``f`` is found under the code
  ``(a * size + b) * (fields + 1)`` (a pair key of every field) and that code ``+ f + 1``
  (a pair key of field ``f`` only) in a hash table
  (:func:`newsalert.rules.indexing.kernels.hash_table`);
* for proximity constraints, fields are laid out ``gap + 1`` positions apart, so no two
  tokens of different fields are within any constraint's distance.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int32]
OffsetArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Exact rule rows (:class:`newsalert.rules.indexing.exact.ExactRules`): a literal cell is
#: ``key id << CLAUSE_BITS | clause`` (``VETO``: a negative key); a header is the clause
#: count, with ``PROXIMITY_FLAG`` when the rule has proximity constraints, or
#: ``NOT_EXACT``.
CLAUSE_BITS = 5
CLAUSE_MASK = (1 << CLAUSE_BITS) - 1
#: The clause of a negative key.
VETO = CLAUSE_MASK
PROXIMITY_FLAG = 1 << 8
NOT_EXACT = -1

Ints = IntArray
Longs = OffsetArray
Bools = npt.NDArray[np.bool_]


class Document(NamedTuple):
    """An article as the kernels see it: token indexes into a token table, fields one
    after the other in ``FIELDS`` order, field ``f`` spanning
    ``tokens[bounds[f]:bounds[f + 1]]``."""

    tokens: Longs
    bounds: Longs


class TokenArrays(NamedTuple):
    """What each token of a table contributes (:class:`~.dockeys.TokenTable`).

    Token ``t``: ``stem[t]``, its stem's id as a key of every field (0: none);
    ``field_stem[f, t]``, as a key of field ``f`` only; its key ids
    ``keys[key_start[t]:key_start[t + 1]]``, each counting in field ``key_field`` (-1:
    every field).
    """

    stem: Ints
    field_stem: Ints
    key_start: Longs
    keys: Ints
    key_field: npt.NDArray[np.int8]


class PairArrays(NamedTuple):
    """The index's stem pair keys: ``first[a]`` when stem id ``a`` starts one; their ids
    in a :func:`hash_table` (``slots``, ``values``); every key id is below ``size``."""

    first: Bools
    slots: Longs
    values: Ints
    size: int


class PostingArrays(NamedTuple):
    """Anchor postings (:class:`newsalert.rules.indexing.postings.Postings`): key ``k``'s
    first-clause rules ``codes[bounds[2k]:bounds[2k + 1]]``, its second-clause rules
    ``codes[bounds[2k + 1]:bounds[2k + 2]]``; ``always``: rules with no anchor."""

    bounds: Longs
    codes: Ints
    always: Ints


class ProximityArrays(NamedTuple):
    """Proximity constraints (:class:`newsalert.rules.indexing.proximity.ProximityTable`).

    Rule ``r``'s constraints are ``rule_start[r]:rule_start[r + 1]``; constraint ``c``
    lists its keys in ``keys[key_start[c]:key_start[c + 1]]``, the first ``lefts[c]`` of
    them on its left side, and holds when a left and a right key occur at most
    ``distances[c]`` apart; ``gap`` is the largest distance.
    """

    rule_start: Longs
    key_start: Longs
    keys: Ints
    lefts: Ints
    distances: Longs
    gap: int


class Scratch(NamedTuple):
    """Scratch arrays of one thread, zero between calls: ``present``, ``found`` and
    ``slot_of`` one per key id, ``marks`` and ``touched`` one per rule."""

    present: Bools
    found: Ints
    marks: npt.NDArray[np.uint8]
    touched: Ints
    slot_of: Ints

    @classmethod
    def of(cls, keys: int, rules: int) -> Scratch:
        """Zeroed scratch for ``keys`` key ids and ``rules`` rules."""
        return cls(
            np.zeros(keys, dtype=np.bool_),
            np.zeros(keys, dtype=np.int32),
            np.zeros(rules, dtype=np.uint8),
            np.zeros(rules, dtype=np.int32),
            np.zeros(keys, dtype=np.int32),
        )


class IndexArrays(NamedTuple):
    """The compiled index's arrays a match reads, built once per compile: stem pairs,
    anchor postings, exact rule rows (:class:`newsalert.rules.indexing.exact.ExactRules`)
    and proximity constraints."""

    pairs: PairArrays
    postings: PostingArrays
    rows: Ints
    proximity: ProximityArrays
