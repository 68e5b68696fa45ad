"""Parse ``query:`` strings (Lucene/Talkwalker style) into expression nodes.

Grammar (operators upper-case; lower-case and/or/not are ordinary words)::

    or    := and ("OR" and)*
    and   := unary (("AND")? unary)*        juxtaposition means AND
    unary := "NOT" unary | near
    near  := atom ("NEAR/" INT atom)*
    atom  := "(" or ")" | [field ":"] term
    term  := word | word* | "phrase"

A bare word that holds several tokens (``anti-tank``) is a phrase, as in Lucene.
A query is refused past the limits of :mod:`newsalert.rules.language.limits` (its length, its
terms, ``NEAR/n`` distances, nesting of parentheses and ``NOT``) before it is parsed
further, and its messages show terms cut short.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from newsalert.errors import NewsalertError
from newsalert.rules.language.keywords import (
    KeywordError,
    SettingsCache,
    make_term,
    parse_words,
    settings_bucket,
    term_bytes,
)
from newsalert.rules.language.limits import (
    MAX_DISTANCE,
    MAX_NESTING,
    MAX_QUERY_CHARS,
    MAX_TERMS_PER_RULE,
    shown,
)
from newsalert.rules.language.model import FIELDS, And, Near, Node, Not, Or, Term, or_terms
from newsalert.sizedcache import SizedCache

_NEAR = re.compile(r"NEAR/([0-9]+)")
_FIELD = re.compile(r"([A-Za-z]+):(.*)", re.DOTALL)
# After any whitespace (possessive: never given back): a parenthesis, a "phrase", a
# lone quote (unterminated phrase) or a word (up to ASCII whitespace, a paren or quote).
_LEX = re.compile(r'\s*+(?:([()])|"([^"]*)"|(")|([^ \t\r\n()"]+))')
#: Parsed queries kept, by the bytes of their text (bounds memory, not correctness).
_cache: SettingsCache[Node] = SettingsCache()
# Query terms as written (quotes and field prefix included) -> Term, per (window, fields).
_term_cache: SettingsCache[Term] = SettingsCache()


class QuerySyntaxError(NewsalertError):
    """A query string is malformed; ``column`` is 1-based within the query."""

    def __init__(self, column: int, reason: str) -> None:
        super().__init__(f"column {column}: {reason}")
        self.column = column
        self.reason = reason


class _Tok(NamedTuple):
    kind: str  # "(", ")", "AND", "OR", "NOT", "NEAR", "TERM", "END"
    pos: int
    text: str = ""
    quoted: bool = False
    field: str | None = None
    distance: int = 0


def _lex(query: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pending_field: tuple[str, int] | None = None
    pos = 0
    match = _LEX.match
    while (found := match(query, pos)) is not None:
        pos = found.end()
        paren, phrase, lone_quote, word = found.groups()
        if paren is not None:
            if pending_field:
                raise QuerySyntaxError(pending_field[1] + 1, "a field prefix needs a term")
            tokens.append(_Tok(paren, found.start(1)))
        elif phrase is not None:
            field, start = pending_field if pending_field else (None, found.start(2) - 1)
            tokens.append(_Tok("TERM", start, phrase, True, field))
            pending_field = None
        elif lone_quote is not None:
            raise QuerySyntaxError(found.start(3) + 1, "unterminated phrase (missing '\"')")
        else:
            i = found.start(4)
            if pending_field:
                tokens.append(_Tok("TERM", pending_field[1], word, False, pending_field[0]))
                pending_field = None
            elif word in ("AND", "OR", "NOT"):
                tokens.append(_Tok(word, i))
            elif word.startswith("NEAR/"):
                near = _NEAR.fullmatch(word)
                if near is None:
                    reason = f"{shown(word)}: NEAR needs a distance, e.g. NEAR/5"
                    raise QuerySyntaxError(i + 1, reason)
                digits = near.group(1).lstrip("0")
                if len(digits) > len(str(MAX_DISTANCE)) or int(digits or 0) > MAX_DISTANCE:
                    written = digits if len(digits) <= 12 else digits[:12] + "..."
                    reason = f"NEAR/{written}: the distance must be at most {MAX_DISTANCE}"
                    raise QuerySyntaxError(i + 1, reason)
                tokens.append(_Tok("NEAR", i, distance=int(digits or 0)))
            elif ":" in word and (field_match := _FIELD.fullmatch(word)) is not None:
                name, rest = field_match.group(1), field_match.group(2)
                if name not in FIELDS:
                    known = ", ".join(FIELDS)
                    raise QuerySyntaxError(i + 1, f"unknown field {shown(name)} (known: {known})")
                if rest:
                    tokens.append(_Tok("TERM", i, rest, False, name))
                else:
                    pending_field = (name, i)
            else:
                tokens.append(_Tok("TERM", i, word))
    if pending_field:
        raise QuerySyntaxError(pending_field[1] + 1, "a field prefix needs a term")
    tokens.append(_Tok("END", len(query)))
    return tokens


class _Parser:
    def __init__(self, query: str, window: int, fields: tuple[str, ...]) -> None:
        if len(query) > MAX_QUERY_CHARS:
            reason = f"{len(query):,} characters, more than the limit ({MAX_QUERY_CHARS:,})"
            raise QuerySyntaxError(1, reason)
        self.tokens = _lex(query)
        terms = sum(1 for tok in self.tokens if tok.kind == "TERM")
        if terms > MAX_TERMS_PER_RULE:
            reason = f"{terms:,} terms, more than the limit ({MAX_TERMS_PER_RULE:,})"
            raise QuerySyntaxError(1, reason)
        #: Parentheses and NOTs around the current position (bounded: the parser and
        #: every reader of the tree recurse once per level).
        self.depth = 0
        self.i = 0
        self.window = window
        self.fields = fields

    def peek(self) -> _Tok:
        return self.tokens[self.i]

    def take(self) -> _Tok:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def parse(self) -> Node:
        if self.tokens[self.i].kind == "END":
            raise QuerySyntaxError(1, "empty query")
        node = self.or_()
        tok = self.peek()
        if tok.kind != "END":
            raise QuerySyntaxError(tok.pos + 1, f"unexpected {_describe(tok)}")
        return node

    def or_(self) -> Node:
        children = [self.and_()]
        tokens = self.tokens
        while tokens[self.i].kind == "OR":
            self.i += 1
            children.append(self.and_())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_(self) -> Node:
        children = [self.unary()]
        tokens = self.tokens
        while True:
            kind = tokens[self.i].kind
            if kind == "AND":
                self.i += 1
            elif kind not in ("TERM", "(", "NOT"):
                break
            children.append(self.unary())
        return children[0] if len(children) == 1 else And(tuple(children))

    def unary(self) -> Node:
        # NOT* near, where near := atom ("NEAR/n" atom)*: one call per operand.
        tokens = self.tokens
        negations = 0
        while tokens[self.i].kind == "NOT":
            self._enter(tokens[self.i])
            self.i += 1
            negations += 1
        start = tokens[self.i]
        node = self.atom()
        self.depth -= negations
        if tokens[self.i].kind == "NEAR":
            operands = [_near_operand(node, start)]
            distances: list[int] = []
            while tokens[self.i].kind == "NEAR":
                distances.append(tokens[self.i].distance)
                self.i += 1
                tok = tokens[self.i]
                operands.append(_near_operand(self.atom(), tok))
            node = Near(tuple(operands), tuple(distances))
        for _ in range(negations):
            node = Not(node)
        return node

    def atom(self) -> Node:
        tok = self.tokens[self.i]
        self.i += 1
        if tok.kind == "TERM":
            return self.term(tok)
        if tok.kind == "(":
            self._enter(tok)
            node = self.or_()
            self.depth -= 1
            close = self.take()
            if close.kind != ")":
                raise QuerySyntaxError(close.pos + 1, f"expected ')' but found {_describe(close)}")
            return node
        raise QuerySyntaxError(tok.pos + 1, f"expected a term but found {_describe(tok)}")

    def _enter(self, tok: _Tok) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            reason = f"parentheses and NOT nested more than {MAX_NESTING} levels deep"
            raise QuerySyntaxError(tok.pos + 1, reason)

    def term(self, tok: _Tok) -> Term:
        fields = (tok.field,) if tok.field else self.fields
        text = f'"{tok.text}"' if tok.quoted else tok.text
        if tok.field:
            text = f"{tok.field}:{text}"
        # ``text`` determines the words (quoted or not, field prefix), so it keys the term.
        terms = _terms_for(self.window, fields)
        term = terms.get(text)
        if term is not None:
            return term
        try:
            if tok.quoted:
                words = [w for chunk in tok.text.split() for w in parse_words(chunk)]
            else:
                words = parse_words(tok.text)
            term = make_term(text, words, quoted=True, window=self.window, fields=fields)
        except KeywordError as exc:
            raise QuerySyntaxError(tok.pos + 1, str(exc)) from exc
        return terms.put(text, term, term_bytes(text))


def _terms_for(window: int, fields: tuple[str, ...]) -> SizedCache[str, Term]:
    return settings_bucket(_term_cache, window, fields)


def _describe(tok: _Tok) -> str:
    if tok.kind == "END":
        return "end of query"
    if tok.kind == "TERM":
        return f"term {shown(tok.text)}"
    if tok.kind == "NEAR":
        return f"NEAR/{tok.distance}"
    return repr(tok.kind)


def _near_operand(node: Node, tok: _Tok) -> tuple[Term, ...]:
    terms = or_terms(node)
    if terms is None:
        raise QuerySyntaxError(
            tok.pos + 1, "NEAR joins terms or (a OR b) groups of terms, not NOT/AND/NEAR"
        )
    return terms


def parse_query(query: str, *, window: int, fields: tuple[str, ...]) -> Node:
    """Parse ``query``; raises :class:`QuerySyntaxError` with the column and reason.

    Parsing is pure, so results are cached (bounded) and equal queries share one tree.
    """
    parsed = settings_bucket(_cache, window, fields)
    node = parsed.get(query)
    if node is None:
        node = _Parser(query, window, fields).parse()
        # A tree holds a few objects per character of its query.
        parsed.put(query, node, term_bytes(query) + 8 * len(query))
    return node
