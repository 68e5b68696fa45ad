"""Proximity constraints of many rules, decided together with numpy.

A window keyword of two words (``ambassador summoned``: both within ``window`` tokens)
and a two-operand NEAR of one-word stems (``(envoy OR ambassador) NEAR/5 summoned``)
are both a :class:`Proximity`: some occurrence of a stem of ``left`` and some occurrence
of a stem of ``right`` at most ``distance`` tokens apart, inside one field.

A document's known stems are laid out by position, fields one after the other with a
gap wider than any distance, so "inside one field" comes for free. For a batch of
constraints, every occurrence of their stems becomes an event ``(constraint, position,
side)``; after one sort, the closest left/right pair of a constraint is always two
neighbouring events of different sides (any event between them would be closer), so
comparing neighbours decides every constraint at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from newsalert.rules.arrays import IntArray, OffsetArray, unique, unique_counts
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


@dataclass(frozen=True, slots=True)
class Layout:
    """A document's known stems by position: ``keys[i]`` occurs at ``positions[i]``.

    Sorted by key id (then position); positions of different fields are more than any
    constraint's distance apart, and all are below ``span``.
    """

    keys: OffsetArray
    positions: OffsetArray
    span: int


_POSITION_BITS = 32
_POSITION_MASK = (1 << _POSITION_BITS) - 1


class ProximityTable:
    """The proximity constraints of every rule, in fixed-width matrices.

    Row ``r`` lists rule ``r``'s constraint stems (key ids, 0 pads) with a code
    ``constraint * 2 + side`` each; a rule's constraints have consecutive ids.
    """

    __slots__ = (
        "_base",
        "_constraint_rule",
        "_distance",
        "_keys",
        "_needed",
        "_single",
        "max_distance",
    )

    def __init__(
        self, constraints: Sequence[Sequence[Proximity]], key_ids: Mapping[Key, int]
    ) -> None:
        width = max(
            (sum(len(c.left) + len(c.right) for c in rule) for rule in constraints), default=0
        )
        rules = len(constraints)
        self._keys: OffsetArray = np.zeros((rules, width), dtype=np.int64)
        # Each row's event base: constraint << 32 | side (the position goes in between).
        self._base = np.zeros((rules, width), dtype=np.int64)
        owner: list[int] = []
        distance: list[int] = []
        self._needed = np.zeros(rules, dtype=np.int64)
        for number, rule_constraints in enumerate(constraints):
            column = 0
            for constraint in rule_constraints:
                cid = len(distance)
                distance.append(constraint.distance)
                owner.append(number)
                for bit, keys in ((0, constraint.left), (1, constraint.right)):
                    for key in keys:
                        self._keys[number, column] = key_ids[key]
                        self._base[number, column] = (cid << _POSITION_BITS) | bit
                        column += 1
            self._needed[number] = len(rule_constraints)
        self._constraint_rule: IntArray = np.array(owner, dtype=np.int32)
        self._distance = np.array(distance, dtype=np.int64)
        #: The largest distance: fields must be laid out further apart than this.
        self.max_distance = max(distance, default=0)
        # Every constrained rule has one constraint (the common case): no counting.
        self._single = bool(self._needed.max(initial=0) <= 1)

    def constrained(self, numbers: IntArray) -> npt.NDArray[np.bool_]:
        """Which of ``numbers`` have proximity constraints."""
        return self._needed[numbers] > 0

    def holding(self, numbers: IntArray, layout: Layout) -> IntArray:
        """The rules among ``numbers`` (ascending, each constrained) whose constraints all hold."""
        if layout.span >= 1 << (_POSITION_BITS - 1):
            raise ValueError(f"document too long for proximity checks: {layout.span} tokens")
        keys = self._keys[numbers].ravel()
        start = np.searchsorted(layout.keys, keys, side="left")
        counts = np.searchsorted(layout.keys, keys, side="right") - start
        # Every occurrence of every listed stem, as one integer event
        # constraint << 32 | position << 1 | side; one sort orders them all.
        occurrence = np.arange(int(counts.sum()), dtype=np.int64) + np.repeat(
            start - (np.cumsum(counts) - counts), counts
        )
        events = np.repeat(self._base[numbers].ravel(), counts)
        events += layout.positions[occurrence] << 1
        events.sort()
        constraint = events >> _POSITION_BITS
        position = (events & _POSITION_MASK) >> 1
        close = constraint[1:] == constraint[:-1]
        close &= ((events[1:] ^ events[:-1]) & 1).astype(np.bool_)
        close &= position[1:] - position[:-1] <= self._distance[constraint[1:]]
        # Sorted already: constraint ids ascend with the events, and with the rules.
        owners: IntArray = self._constraint_rule[unique(constraint[1:][close])]
        if self._single:
            return owners
        rules, held = unique_counts(owners)
        complete: IntArray = rules[held == self._needed[rules]]
        return complete
