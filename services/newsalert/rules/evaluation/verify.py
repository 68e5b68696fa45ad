"""Rules verified one by one with their compiled checks (the general path).

Rules the key forms cannot decide (window keywords of three or more words, longer
phrases, NEAR over phrases or wildcards, field restrictions, NOT over a conjunction...)
are compiled into checks (:mod:`newsalert.rules.evaluation.program`) and verified on each
document where they are candidates. Only those rules are compiled, which keeps the
memory and compile time of a large, mostly exact rule set low.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from newsalert.rules.evaluation.document import Document
from newsalert.rules.evaluation.program import Check, FastEvaluation, PrefixesOf, TermTable
from newsalert.rules.evaluation.results import RuleMatch
from newsalert.rules.language.model import Near, Node, Not, Rule, Term


@dataclass(frozen=True, slots=True)
class _Compiled:
    check: Check
    #: ``(text as written, term id, stem when the term is a one-word stem in every field)``
    positive: tuple[tuple[str, int, str | None], ...]
    #: Stems whose positions the check may ask for (``None``: none).
    position_stems: frozenset[str] | None


class Verifier:
    """Compiled checks of some rules of a sorted rule tuple, by rule number."""

    __slots__ = ("_compiled", "_filtered", "_rules", "_table")

    def __init__(self, rules: Sequence[Rule], numbers: Iterable[int]) -> None:
        self._rules = rules
        self._table = TermTable()
        self._compiled: dict[int, _Compiled] = {}
        for number in numbers:
            rule = rules[number]
            table = self._table
            self._compiled[number] = _Compiled(
                table.compile(rule.expr),
                tuple(
                    (term.text, table.intern(term), table.any_field_stem(term))
                    for term in rule.positive_terms()
                ),
                _position_stems(rule.expr) or None,
            )
        self._filtered = frozenset(
            number for number in self._compiled if rules[number].languages or rules[number].sources
        )

    def __len__(self) -> int:
        return len(self._compiled)

    @property
    def prefixes(self) -> set[str]:
        """Every wildcard prefix the compiled checks may ask about."""
        return self._table.prefixes

    def verify(
        self, doc: Document, numbers: Sequence[int], prefixes_of: PrefixesOf
    ) -> list[RuleMatch]:
        """The rules among ``numbers`` (ascending, all compiled here) that fire on ``doc``."""
        if not numbers:
            return []
        compiled = self._prepare(doc, numbers)
        evaluation = FastEvaluation(doc, self._table, prefixes_of)
        rules, filtered = self._rules, self._filtered
        language, source = doc.language, doc.source
        matches: list[RuleMatch] = []
        for number, entry in zip(numbers, compiled, strict=True):
            if number in filtered and not rules[number].accepts_meta(language, source):
                continue
            if entry.check(evaluation):
                rule = rules[number]
                matched = tuple(
                    text
                    for text, term, value in entry.positive
                    if (value in evaluation.stems if value is not None else evaluation.term(term))
                )
                matches.append(RuleMatch(rule.id, rule.title, rule.tags, matched))
        return matches

    def timed(
        self, doc: Document, numbers: Sequence[int], prefixes_of: PrefixesOf
    ) -> list[tuple[int, float]]:
        """Seconds the check of each rule among ``numbers`` takes on ``doc``, alone.

        Each check gets a fresh evaluation, so a rule pays for its own terms (a shared
        memo would credit the first rule with the terms of all).
        """
        timings: list[tuple[int, float]] = []
        for number, entry in zip(numbers, self._prepare(doc, numbers), strict=True):
            started = time.perf_counter()
            entry.check(FastEvaluation(doc, self._table, prefixes_of))
            timings.append((number, time.perf_counter() - started))
        return timings

    def _prepare(self, doc: Document, numbers: Sequence[int]) -> list[_Compiled]:
        compiled = [self._compiled[number] for number in numbers]
        wanted: set[str] = set()
        for entry in compiled:
            if entry.position_stems is not None:
                wanted |= entry.position_stems
        if wanted:
            # Positions of only the stems these checks can ask for, in one pass a field.
            for text in doc.fields.values():
                text.index_positions(wanted)
        return compiled


def _position_stems(node: Node) -> frozenset[str]:
    """Stems of ``node`` whose positions an evaluation may ask for."""
    if isinstance(node, Near):
        return frozenset(
            word.value
            for operand in node.operands
            for term in operand
            for word in term.words
            if not word.prefix
        )
    if isinstance(node, Term):
        if node.mode == "word":
            return frozenset()
        return frozenset(word.value for word in node.words if not word.prefix)
    if isinstance(node, Not):
        return _position_stems(node.child)
    return frozenset().union(*(_position_stems(child) for child in node.children))
