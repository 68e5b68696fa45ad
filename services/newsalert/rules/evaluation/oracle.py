"""The brute-force evaluator: the reference semantics the indexed matcher must equal.

Deliberately naive and independent of :mod:`newsalert.rules.evaluation.evaluate`: it scans token
lists directly, position by position, with no indexes, memo or pre-filtering. Used by
tests (property tests, corpus comparison) and by ``bench/match.py`` as the baseline.
"""

from __future__ import annotations

from newsalert.rules.evaluation.document import Document, FieldText
from newsalert.rules.evaluation.results import RuleMatch
from newsalert.rules.language.model import And, Near, Node, Not, Or, Rule, Term, Word


def brute_force_match(rules: tuple[Rule, ...], doc: Document) -> list[RuleMatch]:
    """Every rule of ``rules`` that fires on ``doc``, sorted by rule id."""
    matches = []
    for rule in sorted(rules, key=lambda r: r.id):
        if rule_fires(rule, doc):
            matches.append(
                RuleMatch(
                    rule_id=rule.id,
                    title=rule.title,
                    tags=rule.tags,
                    matched=tuple(t.text for t in rule.positive_terms() if term_matches(t, doc)),
                )
            )
    return matches


def rule_fires(rule: Rule, doc: Document) -> bool:
    """True when ``rule`` fires on ``doc``."""
    if rule.languages and doc.language not in rule.languages:
        return False
    if rule.sources and doc.source not in rule.sources:
        return False
    return _node(rule.expr, doc)


def _node(node: Node, doc: Document) -> bool:
    if isinstance(node, Term):
        return term_matches(node, doc)
    if isinstance(node, And):
        return all(_node(child, doc) for child in node.children)
    if isinstance(node, Or):
        return any(_node(child, doc) for child in node.children)
    if isinstance(node, Not):
        return not _node(node.child, doc)
    return _near(node, doc)


def term_matches(term: Term, doc: Document) -> bool:
    """True when ``term`` matches inside one of its fields."""
    return any(
        name in doc.fields and _term_in_field(term, doc.fields[name]) for name in term.fields
    )


def _word_at(word: Word, text: FieldText, i: int) -> bool:
    if word.prefix:
        return text.tokens[i].startswith(word.value)
    return text.stems[i] == word.value


def _starts(term: Term, text: FieldText) -> list[int]:
    """Positions where ``term`` starts as a phrase (a single word is a one-word phrase)."""
    n = len(text.tokens)
    k = len(term.words)
    return [
        i
        for i in range(n - k + 1)
        if all(_word_at(word, text, i + j) for j, word in enumerate(term.words))
    ]


def _term_in_field(term: Term, text: FieldText) -> bool:
    if term.mode != "window":
        return bool(_starts(term, text))
    n = len(text.tokens)
    for first in range(n):
        span = range(first, min(n, first + term.window))
        if all(any(_word_at(word, text, i) for i in span) for word in term.words):
            return True
    return False


def _near(near: Near, doc: Document) -> bool:
    names = {name for operand in near.operands for term in operand for name in term.fields}
    for name in names:
        text = doc.fields.get(name)
        if text is None:
            continue
        per_operand = [
            {p for term in operand if name in term.fields for p in _starts(term, text)}
            for operand in near.operands
        ]
        reachable = per_operand[0]
        for positions, distance in zip(per_operand[1:], near.distances, strict=True):
            reachable = {p for p in positions if any(abs(p - q) <= distance for q in reachable)}
        if reachable:
            return True
    return False
