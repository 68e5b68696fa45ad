"""The flat NEAR check (one-word operands) agrees with the general evaluator and oracle."""

from __future__ import annotations

import pytest

from newsalert.rules import Document, FieldText
from newsalert.rules.evaluation.evaluate import near_holds
from newsalert.rules.evaluation.nearcheck import compile_near
from newsalert.rules.evaluation.program import FastEvaluation, TermTable
from newsalert.rules.language.model import FIELDS, Near, Term, Word
from newsalert.text import Stemmer

from .helpers import fires

stem = Stemmer().stem


def _word(text: str, fields: tuple[str, ...] = FIELDS) -> Term:
    prefix = text.endswith("*")
    value = text[:-1] if prefix else stem(text)
    return Term((Word(value, prefix=prefix),), "word", 8, fields, text)


def _flat(near: Near, title: str, body: str) -> bool:
    table = TermTable()
    check = table.compile(near)
    doc = Document.from_text(title=title, body=body)

    def prefixes(text: FieldText) -> set[str]:
        return {p for p in table.prefixes if any(t.startswith(p) for t in text.tokens)}

    flat = check(FastEvaluation(doc, table, prefixes))
    assert flat == near_holds(near, doc)
    return flat


CHAIN = Near(
    ((_word("envoy"), _word("ambassador")), (_word("summon*"),), (_word("russia", ("body",)),)),
    (2, 3),
)


@pytest.mark.parametrize(
    ("title", "body", "expected"),
    [
        ("", "the ambassador was summoned by Russia", True),
        ("", "the envoy x summoned a b Russia", True),
        ("", "the envoy x y z summoned Russia", False),  # envoy..summoned = 4 > 2
        ("", "summoned Russia envoy", True),  # any order
        ("", "envoy summoned x x x x Russia", False),  # summoned..Russia = 5 > 3
        ("ambassador summoned Russia", "", False),  # russia only counts in the body
        ("ambassador summoned", "Russia", False),  # never across fields
    ],
)
def test_flat_chain(title: str, body: str, *, expected: bool) -> None:
    assert compile_near(CHAIN) is not None
    assert _flat(CHAIN, title, body) is expected


def test_a_phrase_operand_uses_the_general_evaluator() -> None:
    phrase = Term((Word(stem("nuclear")), Word(stem("test"))), "phrase", 8, FIELDS, '"n t"')
    assert compile_near(Near(((phrase,), (_word("ban"),)), (3,))) is None


def test_query_near_with_or_group_and_wildcard_matches_oracle() -> None:
    rule = "query: '(envoy OR ambassador) NEAR/5 summon*'"
    assert fires(rule, body="Seoul summoned the Russian ambassador on Monday")
    assert not fires(rule, body="the ambassador said nothing at all about being summoned")
    assert not fires(rule, title="ambassador", body="summoned")
