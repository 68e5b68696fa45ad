"""Every row of RULES-SPEC's keyword table, plus the window edge, fields and Unicode."""

from __future__ import annotations

import pytest

from tests.unit.rules.helpers import fires, one_rule


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Seoul summons the envoy", True),
        ("they were summoning him", True),
        ("he was summoned", True),
        ("a summary of the day", False),
        ("", False),
    ],
)
def test_single_word_matches_by_stem(body: str, expected: bool) -> None:
    assert fires("all: [summoned]", body=body) is expected


def test_window_keyword_any_order_within_window() -> None:
    rule = "all: ['ambassador summoned']"
    assert fires(rule, body="Seoul summoned Andrey Kulik, the Russian ambassador")
    assert fires(rule, body="the ambassador was summoned")
    far = "the ambassador " + "word " * 20 + "was summoned"
    assert not fires(rule, body=far)


@pytest.mark.parametrize(("gap", "expected"), [(6, True), (7, False)])
def test_window_edge_last_minus_first_is_window_minus_one(gap: int, expected: bool) -> None:
    # window 8: "alpha" at 0 and "omega" at gap+1; last - first <= 7 matches.
    body = "alpha " + "x " * gap + "omega"
    assert fires("window: 8\nall: ['alpha omega']", body=body) is expected


def test_window_from_defaults_and_rule_override() -> None:
    text = "alpha x x omega"  # positions 0 and 3: needs window >= 4
    defaults3 = "version: 1\ndefaults: {window: 3}\nrules:\n  - {id: r, all: ['alpha omega']}\n"
    defaults4 = "version: 1\ndefaults: {window: 4}\nrules:\n  - {id: r, all: ['alpha omega']}\n"
    from tests.unit.rules.helpers import fired, ruleset

    assert fired(ruleset(defaults3), body=text) == []
    assert fired(ruleset(defaults4), body=text) == ["r"]
    assert fires("window: 4\nall: ['alpha omega']", body=text)


def test_phrase_needs_consecutive_tokens_in_order() -> None:
    rule = """all: ['"military cooperation"']"""
    assert fires(rule, body="over military cooperation with")
    assert fires(rule, body="Military co-operation", title="") is False
    assert not fires(rule, body="cooperation military")
    assert not fires(rule, body="military and cooperation")
    assert fires(rule, body="militaries cooperating")  # stems: militari, cooper


def test_wildcard_matches_unstemmed_prefix_case_folded() -> None:
    rule = "all: ['summon*']"
    assert fires(rule, body="SUMMONS issued")
    assert fires(rule, body="summon")
    assert not fires(rule, body="summit")


def test_wildcard_needs_three_characters() -> None:
    from newsalert.rules import RuleFileError

    with pytest.raises(RuleFileError, match="at least 3 characters"):
        one_rule("all: ['ab*']")


def test_all_any_none_combine() -> None:
    rule = """
    all: [port]
    any: [strike, walkout]
    none: [airport]
    """
    assert fires(rule, body="dock workers at the port began a strike")
    assert fires(rule, body="a walkout at the port")
    assert not fires(rule, body="a strike at the port and the airport")
    assert not fires(rule, body="a strike at the docks")
    assert not fires(rule, body="the port was quiet")


def test_nested_groups() -> None:
    rule = """
    all:
      - any: [russia, moscow]
      - all: [envoy]
        none: [film]
    """
    assert fires(rule, body="Moscow recalled its envoy")
    assert not fires(rule, body="Moscow recalled its envoy from the film festival")
    assert not fires(rule, body="Paris recalled its envoy")


def test_match_never_spans_two_fields() -> None:
    rule = """all: ['"ambassador summoned"']"""
    assert not fires(rule, title="Seoul and the ambassador", body="summoned at dawn")
    assert not fires("all: ['ambassador summoned']", title="ambassador", body="summoned")
    assert fires("all: [ambassador, summoned]", title="ambassador", body="summoned")


def test_fields_restrict_where_keywords_look() -> None:
    rule = "fields: [title]\nall: [envoy]"
    assert fires(rule, title="Envoy summoned")
    assert not fires(rule, body="Envoy summoned")


def test_case_and_unicode_tokens() -> None:
    assert fires("all: ['anti-tank']", body="ANTI TANK missiles")
    assert fires("all: ['\"anti tank\"']", body="Anti-tank missiles")
    assert fires("all: [russia]", body="Russia’s envoy")  # typographic apostrophe splits
    assert fires("all: [straße]", body="STRASSE")  # casefold: ß -> ss
    assert fires("all: [café]", body="Le CAFÉ noir")
    assert fires("all: [москва]", body="МОСКВА сегодня")


def test_empty_fields_never_match_and_none_still_holds() -> None:
    assert not fires("all: [envoy]", title="", body="")
    assert fires("query: 'NOT envoy'", title="", body="")


def test_languages_and_sources_filters() -> None:
    rule = "all: [envoy]\nlanguages: [en]\nsources: [AFP, reuters]"
    assert fires(rule, body="envoy", language="EN", source="afp")
    assert not fires(rule, body="envoy", language="de", source="afp")
    assert not fires(rule, body="envoy", language=None, source="afp")
    assert not fires(rule, body="envoy", language="en", source="bbc")


def test_matched_lists_positive_keywords_as_written() -> None:
    rules = one_rule("all: ['Ambassador summoned']\nany: [Moscow, Seoul]\nnone: [film]")
    from newsalert.rules import Document

    doc = Document.from_text(body="Seoul summoned the ambassador")
    (match,) = rules.compile().match(doc)
    assert match.matched == ("Ambassador summoned", "Seoul")
