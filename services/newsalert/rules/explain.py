"""Why a rule fires or not on a document: every term, where it matched, at which offsets."""

from __future__ import annotations

from dataclasses import dataclass

from newsalert.rules.document import Document, FieldText
from newsalert.rules.evaluate import Evaluation, phrase_starts
from newsalert.rules.model import Near, Node, Not, Rule, Term, Word, iter_terms
from newsalert.text import token_spans


@dataclass(frozen=True, slots=True)
class Hit:
    """One matched stretch of a field: token positions and character offsets."""

    field: str
    first: int
    last: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class TermReport:
    """One term of the rule: did it match, and where (``negated`` terms must not)."""

    text: str
    negated: bool
    matched: bool
    hits: tuple[Hit, ...]


@dataclass(frozen=True, slots=True)
class Explanation:
    """The verdict of one rule on one document, with the evidence."""

    rule: Rule
    fires: bool
    meta_ok: bool
    meta_reason: str | None
    terms: tuple[TermReport, ...]
    texts: dict[str, str]


def _word_at(word: Word, text: FieldText, position: int) -> bool:
    if word.prefix:
        return text.tokens[position].startswith(word.value)
    return text.stems[position] == word.value


def _term_spans(term: Term, text: FieldText) -> list[tuple[int, int]]:
    """Token position ranges that make ``term`` match in ``text``."""
    if term.mode != "window":
        size = len(term.words)
        return [(start, start + size - 1) for start in phrase_starts(term, text)]
    spans: set[tuple[int, int]] = set()
    n = len(text.tokens)
    for first in range(n):
        window = range(first, min(n, first + term.window))
        found = [[i for i in window if _word_at(w, text, i)] for w in term.words]
        if all(found):
            spans.update((i, i) for positions in found for i in positions)
    return sorted(spans)


def _near_nodes(node: Node) -> list[Near]:
    if isinstance(node, Near):
        return [node]
    if isinstance(node, Not):
        return _near_nodes(node.child)
    if isinstance(node, Term):
        return []
    return [near for child in node.children for near in _near_nodes(child)]


def explain(rule: Rule, doc: Document, texts: dict[str, str]) -> Explanation:
    """Explain ``rule`` on ``doc``; ``texts`` are the raw field texts (for offsets)."""
    evaluation = Evaluation(doc)
    meta_reason = None
    if rule.languages and doc.language not in rule.languages:
        meta_reason = f"language {doc.language!r} is not one of {list(rule.languages)}"
    elif rule.sources and doc.source not in rule.sources:
        meta_reason = f"source {doc.source!r} is not one of {list(rule.sources)}"
    spans = {name: token_spans(texts.get(name, "")) for name in doc.fields}
    negated = set(iter_terms(rule.expr, negated=True))
    reports: list[TermReport] = []
    seen: set[tuple[Term, bool]] = set()
    for term in iter_terms(rule.expr):
        is_negated = term in negated and term not in set(iter_terms(rule.expr, negated=False))
        if (term, is_negated) in seen:
            continue
        seen.add((term, is_negated))
        hits = []
        for name in term.fields:
            text = doc.fields.get(name)
            if text is None:
                continue
            for first, last in _term_spans(term, text):
                hits.append(Hit(name, first, last, spans[name][first][1], spans[name][last][2]))
        reports.append(TermReport(term.text, is_negated, evaluation.term(term), tuple(hits)))
    return Explanation(
        rule=rule,
        fires=evaluation.rule(rule),
        meta_ok=meta_reason is None,
        meta_reason=meta_reason,
        terms=tuple(reports),
        texts=texts,
    )


def near_summary(rule: Rule, doc: Document) -> list[tuple[str, bool]]:
    """Each NEAR chain of ``rule`` (as text) and whether it holds in ``doc``."""
    evaluation = Evaluation(doc)
    result = []
    for near in _near_nodes(rule.expr):
        parts = [" OR ".join(t.text for t in operand) for operand in near.operands]
        text = parts[0]
        for part, distance in zip(parts[1:], near.distances, strict=True):
            text += f" NEAR/{distance} {part}"
        result.append((text, evaluation.near(near)))
    return result
