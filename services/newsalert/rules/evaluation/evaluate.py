"""Evaluate rule expressions on one document, using position lists (the fast path).

One :class:`Evaluation` lives for one document; it memoises every term it evaluated, so
the many rules sharing a keyword pay for it once. The brute-force oracle
(:mod:`newsalert.rules.evaluation.oracle`) implements the same semantics independently.
"""

from __future__ import annotations

from bisect import bisect_left

from newsalert.rules.evaluation.document import Document, FieldText
from newsalert.rules.language.model import And, Near, Node, Not, Or, Rule, Term, Word


class Evaluation:
    """Rule evaluation against one :class:`Document`, with per-term memoisation."""

    __slots__ = ("_memo", "doc")

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self._memo: dict[Term, bool] = {}

    def rule(self, rule: Rule) -> bool:
        """True when ``rule`` fires on the document (metadata filters included)."""
        if not rule.accepts_meta(self.doc.language, self.doc.source):
            return False
        return self.node(rule.expr)

    def matched_terms(self, rule: Rule) -> tuple[str, ...]:
        """The positive terms of ``rule`` that occur in the document, as written."""
        return tuple(term.text for term in rule.positive_terms() if self.term(term))

    def node(self, node: Node) -> bool:
        """Evaluate any expression node."""
        if isinstance(node, Term):
            return self.term(node)
        if isinstance(node, And):
            return all(self.node(child) for child in node.children)
        if isinstance(node, Or):
            return any(self.node(child) for child in node.children)
        if isinstance(node, Not):
            return not self.node(node.child)
        return self.near(node)

    def term(self, term: Term) -> bool:
        """True when ``term`` matches inside one of its fields."""
        memo = self._memo.get(term)
        if memo is None:
            memo = False
            for name in term.fields:
                text = self.doc.fields.get(name)
                if text is not None and text.tokens and term_in_field(term, text):
                    memo = True
                    break
            self._memo[term] = memo
        return memo

    def near(self, near: Near) -> bool:
        """True when the NEAR chain is satisfied inside one field."""
        return near_holds(near, self.doc)


def near_fields(near: Near) -> tuple[str, ...]:
    """The fields any term of the NEAR chain looks in, sorted."""
    return tuple(sorted({name for operand in near.operands for t in operand for name in t.fields}))


def near_holds(near: Near, doc: Document, names: tuple[str, ...] | None = None) -> bool:
    """True when the NEAR chain ``near`` is satisfied inside one field of ``doc``."""
    for name in names if names is not None else near_fields(near):
        text = doc.fields.get(name)
        if text is not None and text.tokens and _near_in(near, name, text):
            return True
    return False


def _word_positions(word: Word, text: FieldText) -> list[int]:
    if word.prefix:
        return text.prefix_positions(word.value)
    return text.stem_positions(word.value)


def _word_at(word: Word, text: FieldText, position: int) -> bool:
    if word.prefix:
        return text.tokens[position].startswith(word.value)
    return text.stems[position] == word.value


def term_in_field(term: Term, text: FieldText) -> bool:
    """True when ``term`` matches inside the field ``text``."""
    words = term.words
    if term.mode == "word":
        word = words[0]
        if word.prefix:
            return bool(text.prefix_positions(word.value))
        return word.value in text.stem_set
    if not all(w.prefix or w.value in text.stem_set for w in words):
        return False
    if term.mode == "phrase":
        return bool(phrase_starts(term, text))
    return _window(words, term.window, text)


def phrase_starts(term: Term, text: FieldText) -> list[int]:
    """Start positions of the phrase ``term`` in ``text`` (a single word: its positions)."""
    words = term.words
    first = _word_positions(words[0], text)
    if len(words) == 1:
        return first
    last = len(text.tokens) - len(words)
    rest = tuple(enumerate(words))[1:]
    return [
        start
        for start in first
        if start <= last and all(_word_at(w, text, start + i) for i, w in rest)
    ]


def _window(words: tuple[Word, ...], window: int, text: FieldText) -> bool:
    """Smallest range covering one occurrence of every word, compared with the window."""
    distinct = tuple(dict.fromkeys(words))
    events: list[tuple[int, int]] = []
    for index, word in enumerate(distinct):
        positions = _word_positions(word, text)
        if not positions:
            return False
        events.extend((position, index) for position in positions)
    events.sort()
    need = len(distinct)
    counts = [0] * need
    covered = 0
    left = 0
    for position, index in events:
        if counts[index] == 0:
            covered += 1
        counts[index] += 1
        while covered == need:
            first, first_index = events[left]
            if position - first <= window - 1:
                return True
            counts[first_index] -= 1
            if counts[first_index] == 0:
                covered -= 1
            left += 1
    return False


def _operand_positions(operand: tuple[Term, ...], name: str, text: FieldText) -> list[int]:
    if len(operand) == 1:
        return phrase_starts(operand[0], text) if name in operand[0].fields else []
    positions: set[int] = set()
    for term in operand:
        if name in term.fields:
            positions.update(phrase_starts(term, text))
    return sorted(positions)


def _near_in(near: Near, name: str, text: FieldText) -> bool:
    # Chain DP: the positions of operand i that can be linked back to operand 0.
    reachable = _operand_positions(near.operands[0], name, text)
    for operand, distance in zip(near.operands[1:], near.distances, strict=True):
        if not reachable:
            return False
        candidates = _operand_positions(operand, name, text)
        reachable = [p for p in candidates if _any_within(reachable, p, distance)]
    return bool(reachable)


def _any_within(sorted_positions: list[int], position: int, distance: int) -> bool:
    index = bisect_left(sorted_positions, position - distance)
    return index < len(sorted_positions) and sorted_positions[index] <= position + distance
