"""Proximity constraints of many rules, in flat arrays the compiled kernels decide.

A window keyword of two words (``ambassador summoned``: both within ``window`` tokens)
and a two-operand NEAR of one-word stems (``(envoy OR ambassador) NEAR/5 summoned``)
are both a :class:`Proximity`: some occurrence of a stem of ``left`` and some occurrence
of a stem of ``right`` at most ``distance`` tokens apart, inside one field.

Only the keys of the rules still in question are located in the document
(:func:`newsalert.rules.indexing.kernels.holding`), fields laid out further apart than any
distance, so "inside one field" comes for free; a constraint holds when, for some left
and right key, a merge walk over their two sorted position lists finds two within the
distance.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from newsalert.rules.indexing import kernels
from newsalert.rules.indexing.arrays import IntArray, OffsetArray
from newsalert.rules.indexing.key import Key


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
    """The proximity constraints of every rule, in CSR arrays
    (:class:`newsalert.rules.indexing.kernels.ProximityArrays`)."""

    __slots__ = ("arrays",)

    def __init__(self, constraints: Sequence[Sequence[IdProximity]]) -> None:
        counts = [len(rule) for rule in constraints]
        rule_start: OffsetArray = np.zeros(len(constraints) + 1, dtype=np.int64)
        np.cumsum(np.array(counts, dtype=np.int64), out=rule_start[1:])
        flat = [constraint for rule in constraints for constraint in rule]
        key_start: OffsetArray = np.zeros(len(flat) + 1, dtype=np.int64)
        sizes = np.array([len(left) + len(right) for left, right, _ in flat], dtype=np.int64)
        np.cumsum(sizes, out=key_start[1:])
        keys: IntArray = np.array(
            [key for left, right, _ in flat for key in (*left, *right)], dtype=np.int32
        )
        lefts: IntArray = np.array([len(left) for left, _, _ in flat], dtype=np.int32)
        distances: OffsetArray = np.array([d for _, _, d in flat], dtype=np.int64)
        # Fields are laid out further apart than the largest distance.
        gap = int(distances.max(initial=0))
        self.arrays = kernels.ProximityArrays(rule_start, key_start, keys, lefts, distances, gap)

    def holding(
        self, numbers: IntArray, document: kernels.Document, table: kernels.TokenArrays
    ) -> list[int]:
        """The rules among ``numbers`` whose constraints all hold in ``document`` (token
        indexes of ``table``)."""
        known = max(
            int(array.max(initial=0)) for array in (self.arrays.keys, table.stem, table.field_stem)
        )
        slot_of = np.zeros(known + 1, dtype=np.int32)
        held = kernels.holding(numbers, self.arrays, document, table, slot_of)
        result: list[int] = numbers[held].tolist()
        return result
