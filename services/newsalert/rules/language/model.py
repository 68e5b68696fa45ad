"""The compiled form of a watch rule: an expression tree over terms.

Every construct of the rule language (``all``/``any``/``none`` lists, nested groups,
``query:`` strings) is parsed into the same small tree of :class:`Term`, :class:`And`,
:class:`Or`, :class:`Not` and :class:`Near` nodes, which both the indexed matcher and
the brute-force oracle evaluate.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

#: The text fields of an article a rule can look at.
FIELDS: tuple[str, ...] = ("title", "body")
DEFAULT_WINDOW = 8

TermMode = Literal["word", "window", "phrase"]


@dataclass(frozen=True, slots=True)
class Word:
    """One word of a term: a stem, or (``prefix``) a case-folded unstemmed token prefix."""

    value: str
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class Term:
    """A keyword or query term, matched inside one field at a time.

    ``mode`` is ``word`` (one word), ``window`` (every word within ``window`` consecutive
    tokens, any order) or ``phrase`` (consecutive, in order). ``text`` is the term as
    the rule wrote it and does not take part in equality, so equal terms of different
    rules share one evaluation per document.
    """

    words: tuple[Word, ...]
    mode: TermMode
    window: int
    fields: tuple[str, ...]
    text: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class And:
    """Every child matches."""

    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """At least one child matches."""

    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """The child does not match."""

    child: Node


@dataclass(frozen=True, slots=True)
class Near:
    """A chain ``o1 NEAR/d1 o2 NEAR/d2 o3 ...`` inside one field.

    Each operand is an OR of single-word, wildcard or phrase terms. The chain matches in
    a field when there are positions ``p1..pk`` (a phrase counts from its first token),
    ``pi`` an occurrence of operand ``i``, with ``|pi - p(i+1)| <= di`` for every link.
    """

    operands: tuple[tuple[Term, ...], ...]
    distances: tuple[int, ...]


Node = Term | And | Or | Not | Near


@dataclass(frozen=True, slots=True)
class Location:
    """Where something was written: file, 1-based line and column when known."""

    file: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.file
        if self.column is None:
            return f"{self.file}:{self.line}"
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class Rule:
    """One watch rule, parsed and validated.

    ``languages`` and ``sources`` are case-folded; empty means "any". ``expr`` is the
    conjunction of the rule's ``all``, ``any``, ``none`` and ``query`` parts.
    """

    id: str
    expr: Node
    title: str | None = None
    tags: tuple[str, ...] = ()
    fields: tuple[str, ...] = FIELDS
    window: int = DEFAULT_WINDOW
    languages: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    location: Location | None = field(default=None, compare=False)

    def positive_terms(self) -> tuple[Term, ...]:
        """The terms not under a NOT, in written order, without repeats."""
        seen: dict[Term, None] = {}
        for term in iter_terms(self.expr, negated=False):
            seen.setdefault(term, None)
        return tuple(seen)

    def accepts_meta(self, language: str | None, source: str | None) -> bool:
        """True when the article's language and source pass the rule's filters.

        Both arguments must already be case-folded.
        """
        if self.languages and language not in self.languages:
            return False
        return not (self.sources and source not in self.sources)


def or_terms(node: Node) -> tuple[Term, ...] | None:
    """The terms of ``node`` when it is a term or an OR of (ORs of) terms, else ``None``."""
    if isinstance(node, Term):
        return (node,)
    if isinstance(node, Or):
        terms: list[Term] = []
        for child in node.children:
            sub = or_terms(child)
            if sub is None:
                return None
            terms.extend(sub)
        return tuple(terms)
    return None


def iter_terms(node: Node, *, negated: bool | None = None) -> Iterator[Term]:
    """Terms under ``node`` in written order.

    ``negated=False`` yields only terms not under a NOT, ``True`` only those under one,
    ``None`` every term.
    """
    yield from _walk(node, negated, False)


def _walk(node: Node, want: bool | None, under_not: bool) -> Iterator[Term]:
    if isinstance(node, Term):
        if want is None or want == under_not:
            yield node
    elif isinstance(node, And | Or):
        for child in node.children:
            yield from _walk(child, want, under_not)
    elif isinstance(node, Not):
        yield from _walk(node.child, want, not under_not)
    else:
        for operand in node.operands:
            for term in operand:
                if want is None or want == under_not:
                    yield term
