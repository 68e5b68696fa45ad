"""Invisible and look-alike characters do not change what a rule matches.

Articles and keywords are normalised alike (format characters removed, NFKC), the index
and the oracle see the same tokens, and ``rules explain`` offsets point into the text as
written.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from newsalert.cli import app
from newsalert.rules import Document
from newsalert.rules.evaluation.explain import explain
from newsalert.text import MAX_TOKEN_CHARS
from tests.unit.rules.helpers import fired, ruleset

RULES = ruleset(
    """
    version: 1
    rules:
      - id: port-strike
        all: ["port strike"]
      - id: phrase
        all: ['"port strike"']
      - id: wildcard
        any: [strik*]
      - id: near
        query: 'port NEAR/2 strike'
      - id: cafe
        any: [café]
    """
)
PORT_RULES = ["near", "phrase", "port-strike", "wildcard"]

# One character of each kind the issue names, and a few more of category Cf.
FORMAT_CHARACTERS = [
    "\u200b",  # zero-width space
    "\u200c",  # zero-width non-joiner
    "\u200d",  # zero-width joiner
    "\u00ad",  # soft hyphen
    "\u2060",  # word joiner
    "\ufeff",  # byte order mark / zero-width no-break space
    "\u202e",  # right-to-left override
    "\u202c",  # pop directional formatting
    "\u2066",  # left-to-right isolate
    "\u200e",  # left-to-right mark
]


def full_width(text: str) -> str:
    """ASCII letters and digits as their full-width forms (NFKC maps them back)."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


@pytest.mark.parametrize(
    "body",
    [
        "dockers call a port str\u200bike",
        "dockers call a port stri\u00adke",
        "dockers call a \u202eport strike\u202c",
        "dockers call a p\u200dort str\u2060ike\ufeff",
        "dockers call a " + full_width("port strike"),
        "dockers call a " + full_width("PORT") + " strike",
        "dockers call a port\u3000strike",  # ideographic space: NFKC makes it a space
    ],
)
def test_hidden_and_look_alike_characters_do_not_stop_a_rule(body: str) -> None:
    assert fired(RULES, body=body) == PORT_RULES
    assert fired(RULES, title=body) == PORT_RULES


@pytest.mark.parametrize("article", ["café", "cafe\u0301", "CAFE\u0301", "caf\u200be\u0301"])
@pytest.mark.parametrize("keyword", ["café", "cafe\u0301", full_width("caf") + "é"])
def test_composed_and_decomposed_accents_match_each_other(keyword: str, article: str) -> None:
    rules = ruleset(f"version: 1\nrules:\n  - id: cafe\n    any: ['{keyword}']\n")
    assert fired(rules, body=f"a {article} strike") == ["cafe"]


@pytest.mark.parametrize(
    "keyword",
    [
        "port str\u200bike",
        "\u202eport strike\u202c",
        full_width("port strike"),
        "po\u00adrt strike",
    ],
)
def test_keywords_are_normalised_like_articles(keyword: str) -> None:
    rules = ruleset(f"version: 1\nrules:\n  - id: r\n    all: ['{keyword}']\n")
    assert fired(rules, body="a port strike") == ["r"]


@pytest.mark.parametrize("prefix", ["str\u200bi*", full_width("stri") + "*", "stri\uff0a"])
def test_wildcards_are_normalised_too(prefix: str) -> None:
    rules = ruleset(f"version: 1\nrules:\n  - id: r\n    any: ['{prefix}']\n")
    assert fired(rules, body="a port strike") == ["r"]
    rules = ruleset(f"version: 1\nrules:\n  - id: r\n    query: 'port AND {prefix}'\n")
    assert fired(rules, body="a port strike") == ["r"]


words = st.sampled_from(["port", "strike", "Strikes", "café", "dock", "the", "PORT"])
texts = st.lists(words, min_size=1, max_size=12)


@settings(max_examples=150, deadline=None)
@given(
    parts=texts,
    inserts=st.lists(
        st.tuples(st.integers(0, 200), st.sampled_from(FORMAT_CHARACTERS)), max_size=8
    ),
)
def test_format_characters_anywhere_never_change_the_matches(
    parts: list[str], inserts: list[tuple[int, str]]
) -> None:
    text = " ".join(parts)
    hidden = text
    for at, char in inserts:
        at %= len(hidden) + 1
        hidden = hidden[:at] + char + hidden[at:]
    assert fired(RULES, body=hidden) == fired(RULES, body=text)
    assert fired(RULES, title=hidden, body=hidden) == fired(RULES, title=text, body=text)


@settings(max_examples=100, deadline=None)
@given(parts=texts, form=st.sampled_from(["NFC", "NFD", "NFKC", "NFKD", "full-width"]))
def test_every_normal_form_of_a_text_matches_alike(parts: list[str], form: str) -> None:
    text = " ".join(parts)
    variant = full_width(text) if form == "full-width" else unicodedata.normalize(form, text)
    assert fired(RULES, body=variant) == fired(RULES, body=text)


def test_explain_offsets_point_into_the_text_as_written() -> None:
    text = "a \u202eport str\u200bike\u202c and a full-width " + full_width("port strike")
    rule = RULES.get("phrase")
    assert rule is not None
    result = explain(rule, Document.from_text(body=text), {"title": "", "body": text})
    assert result.fires
    spans = [text[hit.start : hit.end] for term in result.terms for hit in term.hits]
    assert spans == ["port str\u200bike", full_width("port strike")]


def test_explain_command_shows_original_offsets(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("version: 1\nrules:\n  - id: r\n    all: [strike]\n", encoding="utf-8")
    text = "port\u00ad str\u200bike"
    result = CliRunner().invoke(app, ["rules", "explain", str(path), "--rule", "r", "--text", text])
    assert result.exit_code == 0, result.output
    assert "body[6:13]" in result.output  # "str\u200bike" as written


def test_a_token_over_the_cap_keeps_its_place_but_matches_nothing() -> None:
    rules = ruleset(
        """
        version: 1
        rules:
          - {id: wild, any: [abc*]}
          - {id: near, query: 'port NEAR/1 strike'}
        """
    )
    long = "abc" + "x" * MAX_TOKEN_CHARS
    assert fired(rules, body=f"port {long} strike") == []
    assert fired(rules, body=f"port {long[:MAX_TOKEN_CHARS]} strike") == ["wild"]
    assert fired(rules, body=f"{long} port strike") == ["near"]
