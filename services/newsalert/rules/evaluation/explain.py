"""Why a rule fires or not on a document: every term, where it matched, at which offsets."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from newsalert.rules.evaluation.document import Document, FieldText
from newsalert.rules.evaluation.evaluate import Evaluation, phrase_starts
from newsalert.rules.language.model import Near, Node, Not, Rule, Term, Word, iter_terms
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


def _positions(word: Word, text: FieldText) -> list[int]:
    if word.prefix:
        return text.prefix_positions(word.value)
    return text.stem_positions(word.value)


def _term_spans(term: Term, text: FieldText) -> list[tuple[int, int]]:
    """Token position ranges that make ``term`` match in ``text``.

    A window keyword marks every occurrence of its words inside any window of
    ``term.window`` tokens that holds all of them. Only windows around the rarest word
    can hold all of them, so only those are looked at (an article can be long).
    """
    if term.mode != "window":
        size = len(term.words)
        return [(start, start + size - 1) for start in phrase_starts(term, text)]
    found = [_positions(word, text) for word in term.words]
    if not all(found):
        return []
    rarest = min(found, key=len)
    width = term.window
    firsts = sorted({f for p in rarest for f in range(max(0, p - width + 1), p + 1)})
    spans: set[int] = set()
    for first in firsts:
        end = first + width
        inside = [
            positions[bisect_left(positions, first) : bisect_left(positions, end)]
            for positions in found
        ]
        if all(inside):
            for positions in inside:
                spans.update(positions)
    return [(i, i) for i in sorted(spans)]


def _near_nodes(node: Node) -> list[Near]:
    if isinstance(node, Near):
        return [node]
    if isinstance(node, Not):
        return _near_nodes(node.child)
    if isinstance(node, Term):
        return []
    return [near for child in node.children for near in _near_nodes(child)]


def explain(
    rule: Rule,
    doc: Document,
    texts: dict[str, str],
    *,
    spans: Mapping[str, Sequence[tuple[str, int, int]]] | None = None,
) -> Explanation:
    """Explain ``rule`` on ``doc``; ``texts`` are the raw field texts (for offsets).

    ``spans`` are :func:`~newsalert.text.token_spans` of those texts, by field, when the
    caller explains several rules on one document and computed them once.
    """
    evaluation = Evaluation(doc)
    meta_reason = None
    if rule.languages and doc.language not in rule.languages:
        meta_reason = f"language {doc.language!r} is not one of {list(rule.languages)}"
    elif rule.sources and doc.source not in rule.sources:
        meta_reason = f"source {doc.source!r} is not one of {list(rule.sources)}"
    if spans is None:
        spans = {name: _spans(doc.fields[name], texts.get(name, "")) for name in doc.fields}
    negated = set(iter_terms(rule.expr, negated=True))
    positive = set(iter_terms(rule.expr, negated=False))
    reports: list[TermReport] = []
    seen: set[tuple[Term, bool]] = set()
    for term in iter_terms(rule.expr):
        is_negated = term in negated and term not in positive
        if (term, is_negated) in seen:
            continue
        seen.add((term, is_negated))
        hits = _hits(term, doc, spans)
        reports.append(TermReport(term.text, is_negated, evaluation.term(term), hits))
    return Explanation(
        rule=rule,
        fires=evaluation.rule(rule),
        meta_ok=meta_reason is None,
        meta_reason=meta_reason,
        terms=tuple(reports),
        texts=texts,
    )


def _spans(field: FieldText, text: str) -> list[tuple[str, int, int]]:
    """The token spans of ``text``: the field's own when it is the field's text."""
    return field.analysed.spans if text == field.text else token_spans(text)


#: The hits of terms already searched in one document, by the term's identity: the rule
#: loader shares equal terms between rules, so thousands of rules explained on one
#: article search each of their common terms once (see :func:`positive_hits`).
TermHits = dict[int, tuple[Hit, ...]]


def positive_hits(
    rule: Rule | Sequence[Term],
    doc: Document,
    spans: Mapping[str, Sequence[tuple[str, int, int]]],
    *,
    cache: TermHits | None = None,
) -> list[Hit]:
    """Where the terms of ``rule`` that are not under a NOT matched in ``doc``.

    What a highlighted sample needs, without :func:`explain`'s verdicts: a term has hits
    exactly when it matches in one of its fields. ``spans`` as for :func:`explain`.
    ``rule`` may be given as its :meth:`~Rule.positive_terms` (a caller explaining one
    rule on several documents computes them once). ``cache``: an empty dict per
    document, passed for every rule explained on it, so a term shared by several rules
    is searched once (keyed by identity: the cache must not outlive the rules' terms).
    """
    terms = rule.positive_terms() if isinstance(rule, Rule) else rule
    hits: list[Hit] = []
    if cache is None:
        for term in terms:
            hits.extend(_hits(term, doc, spans))
        return hits
    for term in terms:
        found = cache.get(id(term))
        if found is None:
            found = cache[id(term)] = _hits(term, doc, spans)
        hits.extend(found)
    return hits


def _hits(
    term: Term, doc: Document, spans: Mapping[str, Sequence[tuple[str, int, int]]]
) -> tuple[Hit, ...]:
    hits = []
    for name in term.fields:
        text = doc.fields.get(name)
        if text is None:
            continue
        offsets = spans[name]
        for first, last in _term_spans(term, text):
            hits.append(Hit(name, first, last, offsets[first][1], offsets[last][2]))
    return tuple(hits)


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
