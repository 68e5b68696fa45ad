"""Tokens, case folding and stems (RULES-SPEC "Text -> tokens")."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsalert.text import is_token, stem, stems, token_spans, tokenize


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Anti-tank", ["anti", "tank"]),
        ("Russia’s", ["russia", "s"]),
        ("  ", []),
        ("", []),
        ("a_b", ["a", "b"]),
        ("COVID-19 in 2024!", ["covid", "19", "in", "2024"]),
        ("STRASSE Straße", ["strasse", "strasse"]),
        ("Москва и Сеул", ["москва", "и", "сеул"]),
        ("東京 2024", ["東京", "2024"]),
    ],
)
def test_tokenize(text: str, tokens: list[str]) -> None:
    assert tokenize(text) == tokens


def test_spans_are_offsets_into_the_original() -> None:
    text = "Seoul summons Russia’s envoy"
    spans = token_spans(text)
    assert [t for t, _, _ in spans] == tokenize(text)
    assert [text[s:e] for _, s, e in spans] == ["Seoul", "summons", "Russia", "s", "envoy"]


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("summoned", "summon"),
        ("summons", "summon"),
        ("summoning", "summon"),
        ("cooperation", "cooper"),
    ],
)
def test_snowball_english_stems(word: str, expected: str) -> None:
    assert stem(word) == expected


def test_stems_keep_order_and_use_the_cache() -> None:
    tokens = ["running", "runs", "zebra-unlikely-word"]
    assert stems(tokens) == [stem(t) for t in tokens]
    assert stems(tokens) == stems(tokens)


def test_is_token() -> None:
    assert is_token("summon")
    assert not is_token("anti-tank")
    assert not is_token("")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_ascii_fast_path_equals_the_general_definition(text: str) -> None:
    # tokenize() takes a shortcut for ASCII text; token_spans() always uses the general
    # regex + casefold, which is the definition.
    assert tokenize(text) == [token for token, _, _ in token_spans(text)]
