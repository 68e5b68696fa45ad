"""NEAR chains of one-word operands, compiled into one flat check per chain.

The general evaluator (:func:`newsalert.rules.evaluate.near_holds`) walks operands,
terms and words through several calls per position lookup. Most NEAR chains written by
users (``(envoy OR ambassador) NEAR/5 summon*``) have only one-word terms, stems or
wildcards; for those the fields, operands and words are laid out once at compile time,
a field is skipped by set membership unless every operand has a word in it, and only
then are position lists read. Same semantics as the general evaluator (tested against
the oracle).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from typing import TYPE_CHECKING

from newsalert.rules.document import FieldText
from newsalert.rules.evaluate import near_fields
from newsalert.rules.model import Near

if TYPE_CHECKING:
    from newsalert.rules.program import FastEvaluation

#: One operand in one field: ``(value, is_prefix)`` for each of its one-word terms.
_Operand = tuple[tuple[str, bool], ...]


def compile_near(node: Near) -> Callable[[FastEvaluation], bool] | None:
    """A flat check of ``node``, or ``None`` when an operand holds a phrase."""
    if any(term.mode != "word" for operand in node.operands for term in operand):
        return None
    plan: list[tuple[str, tuple[_Operand, ...]]] = []
    for name in near_fields(node):
        operands = tuple(
            tuple(
                dict.fromkeys(
                    (term.words[0].value, term.words[0].prefix)
                    for term in operand
                    if name in term.fields
                )
            )
            for operand in node.operands
        )
        if all(operands):
            plan.append((name, operands))
    distances = node.distances

    def check(ev: FastEvaluation) -> bool:
        fields = ev.doc.fields
        for name, operands in plan:
            text = fields.get(name)
            if text is None or not text.tokens:
                continue
            stem_set = text.stem_set
            prefixes = ev.field_prefixes.get(name, ())
            if all(
                any((value in prefixes) if prefix else (value in stem_set) for value, prefix in op)
                for op in operands
            ) and _chain(text, operands, distances):
                return True
        return False

    return check


def _positions(text: FieldText, operand: _Operand) -> list[int]:
    if len(operand) == 1:
        value, prefix = operand[0]
        return text.prefix_positions(value) if prefix else text.stem_positions(value)
    found: set[int] = set()
    for value, prefix in operand:
        found.update(text.prefix_positions(value) if prefix else text.stem_positions(value))
    return sorted(found)


def _chain(text: FieldText, operands: tuple[_Operand, ...], distances: tuple[int, ...]) -> bool:
    # Chain DP: the positions of operand i that can be linked back to operand 0.
    reachable = _positions(text, operands[0])
    for operand, distance in zip(operands[1:], distances, strict=True):
        if not reachable:
            return False
        size = len(reachable)
        kept = []
        for position in _positions(text, operand):
            index = bisect_left(reachable, position - distance)
            if index < size and reachable[index] <= position + distance:
                kept.append(position)
        reachable = kept
    return bool(reachable)
