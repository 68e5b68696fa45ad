"""Generated hostile rule files: each is a config or a list of short problems, nothing else.

Hypothesis writes rule files from the pieces that have broken parsers before (deep
brackets, aliases, huge numbers, operator soup in queries, format characters, quotes,
wildcards in odd places); loading one either gives a config that compiles and matches,
or raises :class:`RuleFileError` whose problems are one short line each. Saved one after
another under a :class:`RuleReloader`, each goes live or keeps the last good rule set
with ``newsalert_rules_reload_failing`` set.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsalert.config import parse_config_text
from newsalert.rules import Document
from newsalert.rules.language.problems import RuleFileError
from newsalert.rulesvc.metrics import RELOAD_FAILING
from newsalert.rulesvc.reload import RuleReloader

WORDS = ["envoy", "summon*", "port", "str\u200bike", "ｐｏｒｔ", "é", "a" * 130, "x*y", "**"]
QUERY_PIECES = [
    *WORDS,
    "(",
    ")",
    "NOT",
    "AND",
    "OR",
    '"',
    "title:",
    "body:",
    "nope:",
    "NEAR/",
]

numbers = st.one_of(
    st.integers(-3, 12),
    st.integers(10**3, 10**30),
    st.just(10**4000),
    st.floats(allow_nan=True, allow_infinity=True),
)


@st.composite
def queries(draw: st.DrawFn) -> str:
    pieces = draw(st.lists(st.sampled_from(QUERY_PIECES), max_size=30))
    out = []
    for piece in pieces:
        if piece == "NEAR/":
            piece += str(draw(st.one_of(st.integers(0, 20), st.integers(10**4, 10**25))))
        out.append(piece * draw(st.sampled_from([1, 1, 1, 60])))
    return " ".join(out)


def keywords(depth: int) -> st.SearchStrategy[object]:
    word = st.sampled_from(WORDS)
    phrase = st.lists(st.sampled_from(WORDS), min_size=1, max_size=4).map(" ".join)
    leaf = st.one_of(word, phrase, phrase.map(lambda p: f'"{p}"'), numbers)
    if depth == 0:
        return leaf
    group = st.dictionaries(
        st.sampled_from(["all", "any", "none", "odd"]),
        st.lists(keywords(depth - 1), max_size=3),
        max_size=2,
    )
    return st.one_of(leaf, group)


@st.composite
def rule_files(draw: st.DrawFn) -> str:
    rules = []
    for number in range(draw(st.integers(1, 4))):
        rule: dict[str, object] = {"id": draw(st.sampled_from([f"r{number}", "Bad Id", "r0"]))}
        for key in draw(st.sets(st.sampled_from(["all", "any", "none", "query", "window"]))):
            if key == "query":
                rule[key] = draw(queries())
            elif key == "window":
                rule[key] = draw(numbers)
            else:
                rule[key] = draw(st.lists(keywords(2), max_size=4))
        rules.append(rule)
    text = "version: 1\nrules:\n" + "".join(
        f"  - {json.dumps(rule, allow_nan=True)}\n" for rule in rules
    )
    nest = draw(st.sampled_from([0, 0, 60, 200]))
    if nest:
        text += "extra: " + "[" * nest + "]" * nest + "\n"
    if draw(st.booleans()):
        text = (
            'a: &a ["lol","lol","lol","lol"]\n'
            + "".join(
                f"{n}: &{n} [{','.join([f'*{p}'] * 9)}]\n"
                for p, n in zip("abcdefg", "bcdefgh", strict=True)
            )
            + text.replace("[]", "*h", 1)
        )
    return text


def assert_short_problems(error: RuleFileError) -> None:
    assert error.problems
    for problem in error.problems:
        line = str(problem)
        assert line.startswith("rules.yaml"), line[:200]
        assert len(line) < 400, line[:400]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule_files())
def test_a_generated_file_is_a_config_or_short_problems(text: str) -> None:
    try:
        config = parse_config_text(text, source="rules.yaml")
    except RuleFileError as exc:
        assert_short_problems(exc)
        return
    compiled = config.rules.compile()
    doc = Document.from_text(title="port strike", body="the envoy was summoned")
    compiled.match(doc)


yaml_soup = st.lists(
    st.one_of(
        st.sampled_from("[]{}&*!:-,|>'\"#%?@` \n\t\r\u200b\ufeff\x85"),
        st.sampled_from(["a", "b", "1", "rules:", "- id: r\n", "query: ", "<<: ", "!!int "]),
    ),
    max_size=60,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(yaml_soup)
def test_yaml_soup_is_a_config_or_short_problems(text: str) -> None:
    test_a_generated_file_is_a_config_or_short_problems.hypothesis.inner_test(  # type: ignore[attr-defined]
        "version: 1\n" + text
    )


GOOD = "version: 1\nrules:\n  - {id: good, all: [envoy]}\n"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rule_files(), min_size=1, max_size=3))
def test_hot_reload_of_generated_files_keeps_a_good_rule_set(
    tmp_path_factory: pytest.TempPathFactory, texts: list[str]
) -> None:
    path = tmp_path_factory.mktemp("reload") / "rules.yaml"
    path.write_text(GOOD, encoding="utf-8")
    reloader = RuleReloader(path, env={})
    doc = Document.from_text(body="the envoy was summoned")
    previous = GOOD
    for text in texts:
        before = reloader.compiled
        path.write_text(text, encoding="utf-8")
        live = asyncio.run(reloader.check())
        if live:
            assert RELOAD_FAILING._value.get() == 0
            assert reloader.compiled is not before
        else:
            assert reloader.compiled is before
            # Unchanged content is not loaded again; a changed one failed.
            assert text == previous or RELOAD_FAILING._value.get() == 1
        previous = text
        reloader.compiled.match(doc)
    path.write_text(GOOD.replace("good", "again"), encoding="utf-8")
    assert asyncio.run(reloader.check())
    assert [m.rule_id for m in reloader.compiled.match(doc)] == ["again"]
    assert RELOAD_FAILING._value.get() == 0
