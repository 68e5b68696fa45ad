"""Rule expressions compiled for the hot path: interned terms and nested closures.

Hashing a frozen :class:`Term` dataclass on every lookup costs more than evaluating a
one-word term, and walking a tree node by node costs more than the test at the leaf. So
:class:`TermTable` gives every distinct term an integer id once, at compile time, and
each rule becomes one closure (a :data:`Check`) made of ``and``/``or``/``not`` closures
over leaf tests. One :class:`FastEvaluation` per document answers one-word terms from
set membership (stems of the document, wildcard prefixes found by the index's
Aho-Corasick pass) and memoises every other term by id.
"""

from __future__ import annotations

from collections.abc import Callable

from newsalert.rules.evaluation.document import Document, FieldText
from newsalert.rules.evaluation.evaluate import near_fields, near_holds, term_in_field
from newsalert.rules.evaluation.nearcheck import compile_near
from newsalert.rules.language.model import FIELDS, And, Node, Not, Or, Term

#: A compiled expression: true when it holds for the document being evaluated.
Check = Callable[["FastEvaluation"], bool]

_ALL_FIELDS = frozenset(FIELDS)
# Term kinds, decided once per term.
_STEM_ANY_FIELD = 0
_STEM_IN_FIELDS = 1
_PREFIX = 2
_GENERAL = 3


class TermTable:
    """Distinct terms of a rule set, numbered; plus how to evaluate each one fast."""

    def __init__(self) -> None:
        self.ids: dict[Term, int] = {}
        self.terms: list[Term] = []
        self.kinds: list[int] = []
        self.prefixes: set[str] = set()

    def intern(self, term: Term) -> int:
        """The id of ``term`` (allocated on first sight)."""
        found = self.ids.get(term)
        if found is not None:
            return found
        number = len(self.terms)
        self.ids[term] = number
        self.terms.append(term)
        if term.mode == "word" and term.words[0].prefix:
            kind = _PREFIX
        elif term.mode == "word":
            kind = _STEM_ANY_FIELD if set(term.fields) >= _ALL_FIELDS else _STEM_IN_FIELDS
        else:
            kind = _GENERAL
        self.kinds.append(kind)
        self.prefixes.update(w.value for w in term.words if w.prefix)
        return number

    def any_field_stem(self, term: Term) -> str | None:
        """The stem of a one-word term looking in every field (a set lookup), else ``None``."""
        number = self.intern(term)
        return term.words[0].value if self.kinds[number] == _STEM_ANY_FIELD else None

    def cost(self, node: Node) -> int:
        """A rough relative cost of evaluating ``node``: set probes vs position lists."""
        if isinstance(node, Term):
            kind = self.kinds[self.intern(node)]
            return {_STEM_ANY_FIELD: 1, _STEM_IN_FIELDS: 2, _PREFIX: 2}.get(kind, 10)
        if isinstance(node, And | Or):
            return sum(self.cost(child) for child in node.children)
        if isinstance(node, Not):
            return self.cost(node.child)
        return 10 * sum(len(operand) for operand in node.operands)

    def _leaf(self, term: Term) -> Check:
        number = self.intern(term)
        kind = self.kinds[number]
        value = term.words[0].value
        if kind == _STEM_ANY_FIELD:
            return lambda ev: value in ev.stems
        if kind == _PREFIX and set(term.fields) >= _ALL_FIELDS:
            return lambda ev: value in ev.prefixes
        return lambda ev: ev.term(number)

    def compile(self, node: Node) -> Check:
        """The check of ``node``."""
        if isinstance(node, Term):
            return self._leaf(node)
        if isinstance(node, And | Or):
            # Cheap children first: a conjunction fails, a disjunction succeeds, before
            # any position list is needed (the children have no side effects).
            children = sorted(node.children, key=self.cost)
            checks = tuple(self.compile(child) for child in children)
            return _combine(checks, conjunction=isinstance(node, And))
        if isinstance(node, Not):
            inner = self.compile(node.child)
            return lambda ev: not inner(ev)
        for operand in node.operands:
            for term in operand:
                self.prefixes.update(w.value for w in term.words if w.prefix)
        flat = compile_near(node)
        if flat is not None:
            return flat
        names = near_fields(node)
        return lambda ev: near_holds(node, ev.doc, names)


def _combine(checks: tuple[Check, ...], *, conjunction: bool) -> Check:
    # Unrolled for the common small arities: a closure call is far cheaper than a
    # generator driven by all()/any().
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        a, b = checks
        if conjunction:
            return lambda ev: a(ev) and b(ev)
        return lambda ev: a(ev) or b(ev)
    if len(checks) == 3:
        a, b, c = checks
        if conjunction:
            return lambda ev: a(ev) and b(ev) and c(ev)
        return lambda ev: a(ev) or b(ev) or c(ev)
    if conjunction:
        return lambda ev: all(check(ev) for check in checks)
    return lambda ev: any(check(ev) for check in checks)


#: The table's wildcard prefixes some token of one field starts with.
PrefixesOf = Callable[[FieldText], set[str]]


class FastEvaluation:
    """Evaluates programs on one document with per-term-id memoisation.

    ``prefixes_of(field)`` gives the wildcard prefixes (of the table) that some token of
    the field starts with; it is called only for the fields a check asks about.
    """

    __slots__ = (
        "_field_prefixes",
        "_kinds",
        "_memo",
        "_prefixes",
        "_prefixes_of",
        "_stems",
        "_terms",
        "doc",
    )

    def __init__(
        self,
        doc: Document,
        table: TermTable,
        prefixes_of: PrefixesOf,
        stems: set[str] | None = None,
    ) -> None:
        self.doc = doc
        self._terms = table.terms
        self._kinds = table.kinds
        self._stems = stems
        self._prefixes_of = prefixes_of
        self._field_prefixes: dict[str, set[str]] = {}
        self._prefixes: set[str] | None = None
        self._memo: dict[int, bool] = {}

    @property
    def stems(self) -> set[str]:
        """Every distinct stem of the document (computed on first use)."""
        if self._stems is None:
            self._stems = self.doc.all_stems()
        return self._stems

    def field_prefixes(self, name: str) -> set[str]:
        """The table's wildcard prefixes some token of field ``name`` starts with."""
        found = self._field_prefixes.get(name)
        if found is None:
            text = self.doc.fields.get(name)
            found = self._prefixes_of(text) if text is not None and text.tokens else set()
            self._field_prefixes[name] = found
        return found

    @property
    def prefixes(self) -> set[str]:
        """The table's wildcard prefixes some token of any field starts with."""
        if self._prefixes is None:
            self._prefixes = set().union(*map(self.field_prefixes, self.doc.fields))
        return self._prefixes

    def term(self, number: int) -> bool:
        """Whether term ``number`` matches in one of its fields."""
        memo = self._memo.get(number)
        if memo is not None:
            return memo
        term = self._terms[number]
        kind = self._kinds[number]
        fields = self.doc.fields
        if kind == _STEM_ANY_FIELD:
            result = term.words[0].value in self.stems
        elif kind == _STEM_IN_FIELDS:
            value = term.words[0].value
            result = any(name in fields and value in fields[name].stem_set for name in term.fields)
        elif kind == _PREFIX:
            value = term.words[0].value
            result = any(value in self.field_prefixes(name) for name in term.fields)
        else:
            result = any(self._general(term, name) for name in term.fields)
        self._memo[number] = result
        return result

    def _general(self, term: Term, name: str) -> bool:
        text = self.doc.fields.get(name)
        if text is None or not text.tokens:
            return False
        prefixes = self.field_prefixes(name)
        for word in term.words:
            if word.prefix:
                if word.value not in prefixes:
                    return False
            elif word.value not in text.stem_set:
                return False
        return term_in_field(term, text)
