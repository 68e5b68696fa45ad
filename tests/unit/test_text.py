"""Tokens, case folding and stems (RULES-SPEC "Text -> tokens")."""

from __future__ import annotations

import sys
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsalert import text as text_module
from newsalert.text import (
    FORMAT_RANGES,
    MAX_TOKEN_CHARS,
    STEM_CACHE_BYTES,
    Stemmer,
    is_token,
    normalize,
    normalized_pieces,
    token_spans,
    tokenize,
)


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
    assert Stemmer().stem(word) == expected


def test_stems_keep_order_and_are_remembered() -> None:
    stemmer = Stemmer()
    tokens = ["running", "runs", "zebra", "running"]
    assert stemmer.used == 0
    first = stemmer.stems(tokens)
    assert first == ["run", "run", "zebra", "run"]
    assert stemmer.used > 0
    again = stemmer.stems(tokens)
    assert again == first
    assert all(a is b for a, b in zip(again, first, strict=True))  # the remembered objects


def test_a_stemmer_forgets_within_its_budget_and_stems_alike() -> None:
    small, fresh = Stemmer(budget=2_000), Stemmer()
    words = [f"walking{number}s" for number in range(200)]
    for word in words:
        assert small.stem(word) == fresh.stem(word)
        assert small.used <= 2_000
    assert Stemmer().used == 0
    assert Stemmer(STEM_CACHE_BYTES).stems(words) == fresh.stems(words)


def test_equal_stems_are_one_object() -> None:
    first, second = Stemmer(), Stemmer()
    assert first.stem("summoned") is second.stem("summoning")


def test_piece_starts_follow_their_definition_for_every_character() -> None:
    # A boundary before a starter that composes with nothing before it and whose
    # compatibility decomposition starts with such a starter too.
    seconds = text_module._composition_seconds()

    def starts(char: str) -> bool:
        head = unicodedata.normalize("NFKD", char)[:1] or char
        return not (
            unicodedata.combining(char)
            or unicodedata.combining(head)
            or char in seconds
            or head in seconds
        )

    wrong = [
        hex(code)
        for code in range(sys.maxunicode + 1)
        if text_module._starts_piece(chr(code)) != starts(chr(code))
    ]
    assert wrong == []


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


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("port str\u200bike", ["port", "strike"]),
        ("stri\u00adke", ["strike"]),
        ("\u202eport\u202c", ["port"]),
        ("\ufeffport\u2060strike", ["portstrike"]),
        ("ＰＯＲＴ　ｓｔｒｉｋｅ", ["port", "strike"]),
        ("cafe\u0301", ["café"]),
        ("e\u200b\u0301", ["é"]),
        ("ﬁre", ["fire"]),
        ("x" * MAX_TOKEN_CHARS, ["x" * MAX_TOKEN_CHARS]),
        ("x" * (MAX_TOKEN_CHARS + 1) + " ok", ["", "ok"]),
        ("é" * (MAX_TOKEN_CHARS + 1) + " ok", ["", "ok"]),
    ],
)
def test_tokens_of_normalised_text(text: str, tokens: list[str]) -> None:
    assert tokenize(text) == tokens
    assert [token for token, _, _ in token_spans(text)] == tokens


def test_format_ranges_are_the_format_characters_of_this_python() -> None:
    ranges: list[tuple[int, int]] = []
    for code in range(sys.maxunicode + 1):
        if unicodedata.category(chr(code)) == "Cf":
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    assert tuple(ranges) == FORMAT_RANGES, unicodedata.unidata_version


def test_normalize_keeps_ascii_and_removes_every_format_character() -> None:
    assert normalize("Port strike, 10:30") == "Port strike, 10:30"
    hidden = "".join(
        chr(code) for code in range(0x30000) if unicodedata.category(chr(code)) == "Cf"
    )
    assert normalize(f"a{hidden}b") == "ab"


# Letters with accents in both forms, format characters, full-width and compatibility
# characters, Hangul jamo, and some of everything else.
unicode_text = st.text(
    alphabet=st.one_of(
        st.sampled_from("ae\u0301\u0308\u0323\u200b\u00ad\u202eＡｂ１ﬁ½\u1100\u1161\u11a8가 .-"),
        st.characters(blacklist_categories=("Cs",)),
    ),
    max_size=40,
)


@settings(max_examples=400, deadline=None)
@given(unicode_text)
def test_spans_are_tokenize_with_offsets_into_the_original(text: str) -> None:
    spans = token_spans(text)
    assert [token for token, _, _ in spans] == tokenize(text)
    ends = 0
    for token, start, end in spans:
        assert 0 <= start < end <= len(text)
        assert end >= ends  # in order (pieces like "½" -> "1⁄2" may share characters)
        assert not token or token in tokenize(text[start:end])
        ends = end


@settings(max_examples=300, deadline=None)
@given(unicode_text, st.lists(st.sampled_from("\u200b\u200d\u00ad\ufeff\u202e"), max_size=5))
def test_format_characters_around_a_text_change_no_token(text: str, hidden: list[str]) -> None:
    tokens = tokenize(text)
    assert tokenize("".join(hidden) + text + "".join(hidden)) == tokens
    assert tokenize(normalize(text)) == tokens


@settings(max_examples=400, deadline=None)
@given(unicode_text)
def test_normalising_piece_by_piece_equals_normalising_the_whole(text: str) -> None:
    normal, starts, ends = normalized_pieces(text)
    assert normal == normalize(text)
    assert len(starts) == len(ends) == len(normal)
    assert all(0 <= s < e <= len(text) for s, e in zip(starts, ends, strict=True))
