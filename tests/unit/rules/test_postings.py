"""The flat-array postings select exactly the rules whose two clauses both occur."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from newsalert.rules.anchors import Clause
from newsalert.rules.postings import Postings

KEYS = ["a", "b", "c", "d", "e", "a\x00b"]
PREFIXES = ["abc", "a", "zzz"]

clauses = st.builds(
    lambda stems, prefixes: Clause(frozenset(stems), frozenset(prefixes), 0.0),
    st.sets(st.sampled_from(KEYS), max_size=3),
    st.sets(st.sampled_from(PREFIXES), max_size=2),
).filter(lambda c: bool(c.stems or c.prefixes))


def _hit(clause: Clause, stems: set[str], prefixes: set[str]) -> bool:
    return bool(clause.stems & stems or clause.prefixes & prefixes)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(clauses, clauses), max_size=12),
    st.sets(st.sampled_from([*KEYS, "zz"])),
    st.sets(st.sampled_from([*PREFIXES, "qqq"])),
)
def test_candidates_equal_the_set_definition(
    rules: list[tuple[Clause, Clause]], stems: set[str], prefixes: set[str]
) -> None:
    postings = Postings(len(rules), [(n, a, b) for n, (a, b) in enumerate(rules)])
    expected = [
        n for n, (a, b) in enumerate(rules) if _hit(a, stems, prefixes) and _hit(b, stems, prefixes)
    ]
    assert postings.candidates(stems, prefixes).tolist() == expected


def test_a_key_shared_by_both_clauses_of_one_rule_makes_it_a_candidate() -> None:
    only = Clause(frozenset({"a"}), frozenset(), 0.0)
    other = Clause(frozenset({"b"}), frozenset(), 0.0)
    postings = Postings(3, [(0, only, only), (2, only, other)])
    assert postings.candidates({"a"}, set()).tolist() == [0]
    assert postings.candidates({"a", "b"}, set()).tolist() == [0, 2]
    assert postings.candidates({"b"}, {"a"}).tolist() == []
    assert postings.candidates(set(), set()).tolist() == []
