"""Query strings: operators, precedence, NEAR/n, field prefixes, and syntax errors."""

from __future__ import annotations

import pytest

from newsalert.rules import RuleFileError
from newsalert.rules.language.model import And, Near, Not, Or, Term
from newsalert.rules.language.query import QuerySyntaxError, parse_query
from tests.unit.rules.helpers import fires, one_rule


def q(query: str, **text: str) -> bool:
    return fires(f"query: {query!r}", **text)


def parse(query: str) -> object:
    return parse_query(query, window=8, fields=("title", "body"))


def test_and_or_not_and_juxtaposition() -> None:
    assert q("envoy AND summoned", body="the envoy was summoned")
    assert q("envoy summoned", body="the envoy was summoned")
    assert not q("envoy summoned", body="the envoy")
    assert q("envoy OR ambassador", body="the ambassador")
    assert q("envoy NOT film", body="the envoy")
    assert not q("envoy NOT film", body="the envoy in a film")
    assert q("NOT film", body="nothing here")


def test_precedence_and_binds_tighter_than_or() -> None:
    node = parse("a OR b c")
    assert isinstance(node, Or)
    assert isinstance(node.children[1], And)
    assert q("alpha OR beta gamma", body="alpha")
    assert not q("alpha OR beta gamma", body="beta")
    assert q("(alpha OR beta) gamma", body="beta gamma")


def test_lower_case_operators_are_words() -> None:
    node = parse("war and peace")
    assert isinstance(node, And)
    assert len(node.children) == 3
    assert q("rock or roll", body="rock or roll")
    assert not q("rock or roll", body="rock roll")


def test_not_binds_to_the_next_unary() -> None:
    node = parse("NOT a b")
    assert isinstance(node, And)
    assert isinstance(node.children[0], Not)


def test_phrase_and_wildcard_terms() -> None:
    assert q('"power plant"', body="the power plant closed")
    assert not q('"power plant"', body="plant power")
    assert q("nucl*", body="Nuclear tests")
    assert q("anti-tank", body="anti tank")  # a bare multi-token word is a phrase
    assert not q("anti-tank", body="tank anti")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("nuclear weapons test", True),  # distance 2
        ("test of a nuclear", True),  # any order, distance 3
        ("nuclear a b testing", True),  # |0 - 3| = 3
        ("nuclear a b c testing", False),  # |0 - 4| = 4
    ],
)
def test_near_distance(body: str, expected: bool) -> None:
    assert q("nuclear NEAR/3 test*", body=body) is expected


def test_near_edge_exact() -> None:
    assert q("alpha NEAR/2 omega", body="alpha x omega")
    assert not q("alpha NEAR/2 omega", body="alpha x y omega")
    assert q("alpha NEAR/0 alph*", body="alpha")


def test_near_with_or_groups_and_phrase_counts_from_first_token() -> None:
    query = "(envoy OR ambassador) NEAR/5 summon*"
    assert q(query, body="the ambassador was quickly summoned")
    assert not q(query, body="the ambassador a b c d e summoned")
    # phrase starts at "tactical" (0); "test" at 4 -> distance 4
    assert q('"tactical nuclear" NEAR/4 test', body="tactical nuclear weapons x test")
    assert not q('"tactical nuclear" NEAR/3 test', body="tactical nuclear weapons x test")


def test_near_chain_shares_positions() -> None:
    assert q("a1 NEAR/1 b1 NEAR/1 c1", body="a1 b1 c1")
    # b1 near a1 (first b1) and another b1 near c1, but no single b1 links both
    assert not q("a1 NEAR/1 b1 NEAR/1 c1", body="a1 b1 x x x x b1 c1 x")


def test_near_same_field_only() -> None:
    assert not q("envoy NEAR/3 summoned", title="envoy", body="summoned")
    assert q("envoy NEAR/3 summoned", title="envoy summoned")


def test_field_prefix() -> None:
    assert q("title:envoy", title="Envoy recalled")
    assert not q("title:envoy", body="Envoy recalled")
    assert q('body:"power plant"', body="power plant")
    assert not q('title:"power plant"', body="power plant")


def test_spec_example() -> None:
    query = '("tactical nuclear" OR nuclear NEAR/3 test*) NOT "power plant"'
    assert q(query, body="talk of tactical nuclear weapons")
    assert q(query, body="a nuclear device test")
    assert not q(query, body="tactical nuclear talk near the power plant")
    assert not q(query, body="nuclear power")


def test_query_is_anded_with_lists() -> None:
    rule = "all: [korea]\nquery: 'envoy OR ambassador'"
    assert fires(rule, body="Korea summons envoy")
    assert not fires(rule, body="Japan summons envoy")
    assert not fires(rule, body="Korea summons nobody")


def test_structure_of_near() -> None:
    node = parse("(a1 OR b1) NEAR/5 c1 NEAR/2 d1")
    assert isinstance(node, Near)
    assert node.distances == (5, 2)
    assert [len(o) for o in node.operands] == [2, 1, 1]
    assert all(isinstance(t, Term) for o in node.operands for t in o)


@pytest.mark.parametrize(
    ("query", "column", "reason"),
    [
        ("", 1, "empty query"),
        ("(envoy", 7, "expected ')'"),
        ("envoy)", 6, "unexpected"),
        ("envoy AND", 10, "expected a term"),
        ('"power plant', 1, "unterminated phrase"),
        ("envoy NEAR/x summon", 7, "NEAR needs a distance"),
        ("(a1 AND b1) NEAR/3 c1", 1, "NEAR joins terms"),
        ("a1 NEAR/3 NOT b1", 11, "expected a term"),
        ("a1 NEAR/3 (b1 NEAR/2 c1)", 11, "NEAR joins terms"),
        ("author:smith", 1, "unknown field 'author'"),
        ("ab*", 1, "at least 3 characters"),
        ("title:", 1, "a field prefix needs a term"),
        ("*", 1, "one word"),
    ],
)
def test_syntax_errors_have_column_and_reason(query: str, column: int, reason: str) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse(query)
    assert info.value.column == column
    assert reason in info.value.reason


def test_query_errors_name_rule_file_and_line() -> None:
    with pytest.raises(RuleFileError) as info:
        one_rule("query: 'envoy AND'")
    (problem,) = info.value.problems
    assert problem.item == "r"
    assert problem.location.line == 4
    assert "query: column 10" in problem.reason
