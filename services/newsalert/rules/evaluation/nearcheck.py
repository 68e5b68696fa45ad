"""NEAR chains of one-word operands, compiled into one flat check per chain.

The general evaluator (:func:`newsalert.rules.evaluation.evaluate.near_holds`) walks operands,
terms and words through several calls per position lookup. Most NEAR chains written by
users (``(envoy OR ambassador) NEAR/5 summon*``) have only one-word terms, stems or
wildcards; for those the fields, operands and words are laid out once at compile time,
absent words cost one dict or set probe, and position lists come straight from the
field's stem index. Same semantics as the general evaluator (tested against
the oracle).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Container
from typing import Protocol

from newsalert.rules.evaluation.document import Document, FieldText
from newsalert.rules.evaluation.evaluate import near_fields
from newsalert.rules.language.model import Near


class NearInput(Protocol):
    """What a compiled NEAR check reads of one evaluation (``program.FastEvaluation``)."""

    @property
    def doc(self) -> Document:
        """The document under evaluation."""

    def field_prefixes(self, name: str) -> Container[str]:
        """The table's wildcard prefixes some token of field ``name`` starts with."""


#: One operand in one field: ``(value, is_prefix)`` for each of its one-word terms.
_Operand = tuple[tuple[str, bool], ...]


def compile_near(node: Near) -> Callable[[NearInput], bool] | None:
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

    def check(ev: NearInput) -> bool:
        fields = ev.doc.fields
        for name, operands in plan:
            text = fields.get(name)
            if text is None or not text.tokens:
                continue
            if _chain(text, ev.field_prefixes(name), operands, distances):
                return True
        return False

    return check


def _positions(text: FieldText, prefixes: Container[str], operand: _Operand) -> list[int]:
    # An absent stem or prefix costs one dict/set probe: no position list is built.
    if len(operand) == 1:
        value, prefix = operand[0]
        if prefix:
            return text.prefix_positions(value) if value in prefixes else []
        return text.stem_positions(value)
    found: set[int] = set()
    for value, prefix in operand:
        if prefix:
            if value in prefixes:
                found.update(text.prefix_positions(value))
        else:
            found.update(text.stem_positions(value))
    return sorted(found)


def _chain(
    text: FieldText,
    prefixes: Container[str],
    operands: tuple[_Operand, ...],
    distances: tuple[int, ...],
) -> bool:
    # Chain DP: the positions of operand i that can be linked back to operand 0.
    reachable = _positions(text, prefixes, operands[0])
    for operand, distance in zip(operands[1:], distances, strict=True):
        if not reachable:
            return False
        size = len(reachable)
        kept = []
        for position in _positions(text, prefixes, operand):
            index = bisect_left(reachable, position - distance)
            if index < size and reachable[index] <= position + distance:
                kept.append(position)
        reachable = kept
    return bool(reachable)
