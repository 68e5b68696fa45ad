"""Proximity constraints of many rules, in flat arrays the compiled kernels decide.

A window keyword of two words (``ambassador summoned``: both within ``window`` tokens)
and a two-operand NEAR of one-word stems (``(envoy OR ambassador) NEAR/5 summoned``)
are both a :class:`Proximity`: some occurrence of a stem of ``left`` and some occurrence
of a stem of ``right`` at most ``distance`` tokens apart, inside one field.

Only the keys of the rules still in question are located in the document
(:func:`newsalert.rules.kernels.holding`), fields laid out further apart than any
distance, so "inside one field" comes for free; a constraint holds when, for some left
and right key, a merge walk over their two sorted position lists finds two within the
distance.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from newsalert.rules import kernels
from newsalert.rules.arrays import IntArray, OffsetArray
from newsalert.rules.key import Key


@dataclass(frozen=True, slots=True)
class Proximity:
    """A stem of ``left`` and a stem of ``right`` at most ``distance`` tokens apart.

    The keys are stems of every field, or all stems of one field (then the layout
    lists that field's positions under those keys too).
    """

    left: tuple[Key, ...]
    right: tuple[Key, ...]
    distance: int

    def ids(self, key_id: Callable[[Key], int]) -> IdProximity:
        """The constraint with key ids: ``(left ids, right ids, distance)``."""
        return tuple(map(key_id, self.left)), tuple(map(key_id, self.right)), self.distance


#: A :class:`Proximity` with key ids: ``(left ids, right ids, distance)``.
IdProximity = tuple[tuple[int, ...], tuple[int, ...], int]


class ProximityTable:
    """The proximity constraints of every rule, in CSR arrays.

    Rule ``r``'s constraints are ``rule_start[r]:rule_start[r + 1]``; constraint ``c``
    lists its key ids in ``keys[key_start[c]:key_start[c + 1]]``, the first
    ``lefts[c]`` on its left side, and may span ``distances[c]`` tokens.
    """

    __slots__ = ("distances", "key_start", "keys", "lefts", "max_distance", "rule_start")

    def __init__(self, constraints: Sequence[Sequence[IdProximity]]) -> None:
        counts = [len(rule) for rule in constraints]
        self.rule_start: OffsetArray = np.zeros(len(constraints) + 1, dtype=np.int64)
        np.cumsum(np.array(counts, dtype=np.int64), out=self.rule_start[1:])
        flat = [constraint for rule in constraints for constraint in rule]
        self.key_start: OffsetArray = np.zeros(len(flat) + 1, dtype=np.int64)
        sizes = np.array([len(left) + len(right) for left, right, _ in flat], dtype=np.int64)
        np.cumsum(sizes, out=self.key_start[1:])
        self.keys: IntArray = np.array(
            [key for left, right, _ in flat for key in (*left, *right)], dtype=np.int32
        )
        self.lefts: IntArray = np.array([len(left) for left, _, _ in flat], dtype=np.int32)
        self.distances: OffsetArray = np.array([d for _, _, d in flat], dtype=np.int64)
        #: The largest distance: fields must be laid out further apart than this.
        self.max_distance = int(self.distances.max(initial=0))

    def holding(
        self,
        numbers: IntArray,
        tokens: OffsetArray,
        bounds: OffsetArray,
        token_stem: IntArray,
        token_field_stem: IntArray,
    ) -> list[int]:
        """The rules among ``numbers`` whose constraints all hold in a document.

        The document is given as the kernels take it (:mod:`newsalert.rules.kernels`):
        token indexes by field and, per token, its stem's key id (of every field, and
        of each field).
        """
        known = max(
            int(array.max(initial=0)) for array in (self.keys, token_stem, token_field_stem)
        )
        slot_of = np.zeros(known + 1, dtype=np.int32)
        held = kernels.holding(
            numbers,
            self.rule_start,
            self.key_start,
            self.keys,
            self.lefts,
            self.distances,
            tokens,
            bounds,
            token_stem,
            token_field_stem,
            self.max_distance,
            slot_of,
        )
        result: list[int] = numbers[held].tolist()
        return result
