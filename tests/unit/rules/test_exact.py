"""Rules decided in bulk by key presence and two-word proximities (exact.py, proximity.py).

Every behavioural case also checks that the rule really takes the bulk path, so these
tests fail if a change silently sends it back to the compiled checks.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsalert.rules import CompiledRules, Document, RuleMatch
from newsalert.rules.evaluation.oracle import brute_force_match
from newsalert.rules.indexing import dockeys as dockeys_module
from newsalert.rules.indexing import kernels
from newsalert.rules.indexing.exact import MAX_LITERALS, KeyForm, key_form
from newsalert.rules.indexing.key import Key
from newsalert.rules.indexing.proximity import Proximity, ProximityTable

from .helpers import one_rule, ruleset


def _form(body: str) -> KeyForm | None:
    (rule,) = one_rule(body).rules
    return key_form(rule.expr)


def _is_exact(compiled: CompiledRules, rule_id: str) -> bool:
    number = [rule.id for rule in compiled.rules].index(rule_id)
    return bool(compiled._exact.exact[number])


def _matches(body_yaml: str, *, title: str = "", body: str = "") -> list[RuleMatch]:
    rules = one_rule(body_yaml)
    compiled = rules.compile()
    assert _is_exact(compiled, "r"), "the rule should be decided in bulk"
    doc = Document.from_text(title=title, body=body)
    found = compiled.match(doc)
    assert found == brute_force_match(rules.rules, doc)
    return found


@pytest.mark.parametrize(
    ("body", "exact"),
    [
        ("all: [envoy, summoned]", True),
        ("any: [envoy, ambassador]", True),
        ("all: [envoy]\nnone: [football, cricket]", True),
        ("all: ['\"military cooperation\"']", True),
        ("all: [summon*, envoy]", True),
        ("all: [ambassador summoned]", True),
        ("query: 'envoy NEAR/3 (summoned OR recalled)'", True),
        ("query: '(a1 OR b1) AND \"power plant\" NOT c1'", True),
        ("all: [ambassador was summoned]", False),
        ("all: ['\"tactical nuclear weapon\"']", False),
        ("query: 'envoy NEAR/3 summon*'", False),
        ("query: 'a1 NEAR/3 b1 NEAR/2 c1'", False),
        ("all: [envoy]\nfields: [title]", True),
        ("all: [envoy, '\"military cooperation\"', summon*]\nfields: [body]", True),
        ("query: 'envoy NEAR/3 summoned'\nfields: [title]", True),
        ("all: [ambassador summoned]\nfields: [title]", True),
        ("query: 'envoy NEAR/3 title:summoned'", False),
        ("query: 'envoy NOT (football AND cricket)'", False),
        ("query: '(envoy AND summoned) OR recalled'", False),
        ("none: [football]\nany: [x1]", True),
    ],
)
def test_which_rules_are_decided_by_keys(body: str, exact: bool) -> None:
    assert (_form(body) is not None) == exact


def test_too_many_keys_go_to_the_checks() -> None:
    words = [f"w{i}" for i in range(MAX_LITERALS + 1)]
    assert _form(f"any: [{', '.join(words)}]") is None
    assert _form(f"any: [{', '.join(words[:-1])}]") is not None


def test_field_keys_count_in_their_field_only() -> None:
    rule = "all: [envoy, summon*, '\"military cooperation\"']\nfields: [title]"
    title = "Envoy summoned over military cooperation"
    assert _matches(rule, title=title, body="")
    assert not _matches(rule, title="", body=title)
    assert not _matches(rule, title="Envoy summoned", body="military cooperation")
    body_rule = "any: [envoy, ambassador]\nnone: [football]\nfields: [body]"
    assert _matches(body_rule, title="football", body="the envoy")
    assert not _matches(body_rule, title="the envoy", body="football")


def test_proximity_in_one_field() -> None:
    near = "query: 'envoy NEAR/2 (summoned OR recalled)'\nfields: [title]"
    assert _matches(near, title="Envoy was summoned", body="")
    assert not _matches(near, title="", body="Envoy was summoned")
    assert not _matches(near, title="Envoy", body="summoned")
    assert not _matches(near, title="Envoy and others were summoned", body="envoy summoned")
    window = "all: [ambassador summoned]\nfields: [body]"
    assert _matches(window, title="ambassador", body="summoned the ambassador")
    assert not _matches(window, title="ambassador summoned", body="ambassador")


def test_two_word_phrase_is_its_stem_pair() -> None:
    form = _form("all: ['\"military cooperation\"']")
    assert form is not None
    assert form.clauses == ((Key("militari\x00cooper"),),)


def test_window_edge_in_bulk() -> None:
    rule = "all: [ambassador summoned]\nwindow: 8"
    # last - first <= window - 1: seven tokens apart fires, eight does not.
    assert _matches(rule, body="ambassador a b c d e f summoned")
    assert not _matches(rule, body="ambassador a b c d e f g summoned")
    assert _matches(rule, body="summoned a b c d e f ambassador")


def test_proximity_never_spans_fields() -> None:
    rule = "query: 'envoy NEAR/5 summoned'"
    assert not _matches(rule, title="the envoy", body="summoned at dawn")
    assert _matches(rule, title="the envoy was summoned", body="")
    assert _matches(rule, title="", body="x envoy y summoned")


def test_phrase_pair_never_spans_fields() -> None:
    rule = "all: ['\"military cooperation\"']"
    assert not _matches(rule, title="deeper military", body="cooperation with Pyongyang")
    assert _matches(rule, body="Military cooperation with Pyongyang")
    assert not _matches(rule, body="cooperation military")


def test_none_vetoes_and_matched_lists_only_present_terms() -> None:
    rule = "all: [envoy]\nany: [summoned, recalled, expelled]\nnone: [football]"
    (match,) = _matches(rule, body="The envoy was recalled and later expelled")
    assert match.matched == ("envoy", "recalled", "expelled")
    assert not _matches(rule, body="The envoy was recalled after the football match")


def test_window_keyword_is_listed_when_the_rule_fires() -> None:
    (match,) = _matches("all: [ambassador summoned, russia]", body="Russia: ambassador summoned")
    assert match.matched == ("ambassador summoned", "russia")


def test_near_of_a_word_with_itself() -> None:
    assert _matches("query: 'envoy NEAR/0 envoy'", body="an envoy")


def test_metadata_filters_still_apply_to_bulk_rules() -> None:
    rules = ruleset(
        """
        version: 1
        rules:
          - {id: en, all: [envoy], languages: [en]}
          - {id: afp, all: [envoy], sources: [AFP]}
        """
    )
    compiled = rules.compile()
    assert _is_exact(compiled, "en")
    assert _is_exact(compiled, "afp")
    doc = Document.from_text(body="the envoy", language="de", source="afp")
    assert [m.rule_id for m in compiled.match(doc)] == ["afp"]
    assert compiled.match(doc) == brute_force_match(rules.rules, doc)


def test_token_table_growth_and_overflow_keep_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dockeys_module, "_TABLE_LIMIT", 3)
    monkeypatch.setattr(dockeys_module, "_TABLE_CAPACITY", 1)
    rules = ruleset(
        """
        version: 1
        rules:
          - {id: a, all: ['"military cooperation"', summon*]}
          - {id: b, query: 'envoy NEAR/2 (summoned OR recalled)'}
        """
    )
    compiled = rules.compile()
    for text in [
        "Seoul summoned the envoy over military cooperation",
        "military cooperation, summons, and the envoy recalled",
        "nothing here at all",
    ] * 2:
        doc = Document.from_text(body=text)
        assert compiled.match(doc) == brute_force_match(rules.rules, doc)


def test_tokens_that_contribute_nothing_share_one_row_and_keep_answers() -> None:
    # Numbers and names that are no key get the table's shared row 0 (no rows of their
    # own); they must still break up phrases and count in proximities like any token.
    rules = ruleset(
        """
        version: 1
        rules:
          - {id: phrase, all: ['"military cooperation"']}
          - {id: near, query: 'envoy NEAR/1 summoned'}
          - {id: wild, all: [summon*, xqz*]}
          - {id: title, all: [seoul], fields: [title]}
        """
    )
    compiled = rules.compile()
    texts = [
        ("Seoul", "military cooperation"),
        ("talks", "military 1987 cooperation"),
        ("Seoul 1987", "envoy summoned"),
        ("zzyzx", "envoy zzyzx qwerty summoned"),
        ("qwerty", "summoned xqzzy and 42 envoys"),
        ("42", "the envoy 42 summoned, military cooperation 1987"),
    ]
    for title, body in texts:
        doc = Document.from_text(title=title, body=body)
        assert compiled.match(doc) == brute_force_match(rules.rules, doc), (title, body)
    table = compiled._keys.table
    inert = ["1987", "zzyzx", "qwerty", "42", "the", "and", "talks"]
    assert [table.index[token] for token in inert] == [0] * len(inert)
    keyed = ["military", "cooperation", "envoy", "envoys", "summoned", "xqzzy", "seoul"]
    rows = [table.index[token] for token in keyed]
    assert 0 not in rows
    assert len(set(rows)) == len(rows)
    assert table.rows == len(keyed) + 1


def test_threads_sharing_a_growing_token_table_keep_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The matcher may match from several threads, and a cache emptied at its limit by
    # one thread must not change another's answers. (A smoke test: the narrow window in
    # which one thread empties a cache between another's learn and read is rarely hit.)
    monkeypatch.setattr(dockeys_module, "_TABLE_LIMIT", 4)
    monkeypatch.setattr(dockeys_module, "_TABLE_CAPACITY", 1)
    rules = ruleset(
        """
        version: 1
        rules:
          - {id: a, all: ['"military cooperation"', summon*], fields: [title]}
          - {id: b, query: 'envoy NEAR/2 (summoned OR recalled)'}
          - {id: c, any: [pyongyang, seoul], none: [football]}
        """
    )
    compiled = rules.compile()
    texts = [
        ("Military cooperation summons", "Seoul summoned the envoy"),
        ("Envoy recalled", "military cooperation with Pyongyang, and the envoy recalled"),
        ("Football", "Seoul football envoy"),
    ]
    docs = [Document.from_text(title=t, body=b) for t, b in texts]
    expected = [brute_force_match(rules.rules, doc) for doc in docs]

    def work() -> list[list[RuleMatch]]:
        out: list[list[RuleMatch]] = []
        for _ in range(200):
            out.extend(compiled.match(Document.from_text(title=t, body=b)) for t, b in texts)
        return out

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = [future.result() for future in [pool.submit(work) for _ in range(4)]]
    for result in results:
        assert result == expected * 200


@settings(max_examples=300, deadline=None)
@given(
    constraints=st.lists(
        st.lists(
            st.tuples(
                st.lists(st.integers(1, 6), min_size=1, max_size=3),
                st.lists(st.integers(1, 6), min_size=1, max_size=3),
                st.integers(0, 5),
            ),
            min_size=1,
            max_size=3,
        ),
        min_size=1,
        max_size=5,
    ),
    field_a=st.lists(st.integers(0, 7), max_size=30),
    field_b=st.lists(st.integers(0, 7), max_size=30),
)
def test_proximity_table_equals_pairwise_check(
    constraints: list[list[tuple[list[int], list[int], int]]],
    field_a: list[int],
    field_b: list[int],
) -> None:
    stems = {Key(f"s{i}"): i for i in range(1, 7)}
    rules = [
        [
            Proximity(tuple(Key(f"s{i}") for i in left), tuple(Key(f"s{i}") for i in right), d)
            for left, right, d in rule
        ]
        for rule in constraints
    ]
    table = ProximityTable([[c.ids(stems.__getitem__) for c in rule] for rule in rules])
    # Two fields as the kernels see them: token i has stem key id i (0 and 7: unknown
    # stems), no field has stem keys of its own.
    document = kernels.Document(
        np.array(field_a + field_b, dtype=np.int64),
        np.array([0, len(field_a), len(field_a) + len(field_b)], dtype=np.int64),
    )
    stem_of_token = np.array([0, 1, 2, 3, 4, 5, 6, 0], dtype=np.int32)
    nothing = np.zeros(0, dtype=np.int32)
    token_table = kernels.TokenArrays(
        stem_of_token,
        np.zeros((2, 8), dtype=np.int32),
        np.zeros(9, dtype=np.int64),
        nothing,
        np.zeros(0, dtype=np.int8),
    )

    def holds(constraint: Proximity) -> bool:
        for field in (field_a, field_b):
            left = [i for i, k in enumerate(field) if Key(f"s{k}") in constraint.left]
            right = [i for i, k in enumerate(field) if Key(f"s{k}") in constraint.right]
            if any(abs(a - b) <= constraint.distance for a in left for b in right):
                return True
        return False

    expected = [n for n, rule in enumerate(rules) if all(map(holds, rule))]
    numbers = np.arange(len(rules), dtype=np.int32)
    assert table.holding(numbers, document, token_table) == expected
