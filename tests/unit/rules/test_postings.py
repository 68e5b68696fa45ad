"""The flat-array postings select exactly the rules whose two clauses both occur."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from newsalert.rules.indexing.anchors import Clause
from newsalert.rules.indexing.arrays import IntArray
from newsalert.rules.indexing.keyids import KeyIds
from newsalert.rules.indexing.postings import Postings, anchor_slots

KEYS = ["a", "b", "c", "d", "e", "a\x00b"]
PREFIXES = ["abc", "a", "zzz"]

clauses = st.builds(
    lambda stems, prefixes: Clause(frozenset(stems), frozenset(prefixes), 0.0),
    st.sets(st.sampled_from(KEYS), max_size=3),
    st.sets(st.sampled_from(PREFIXES), max_size=2),
).filter(lambda c: bool(c.stems or c.prefixes))


def _hit(clause: Clause, stems: set[str], prefixes: set[str]) -> bool:
    return bool(clause.stems & stems or clause.prefixes & prefixes)


def _postings(rules: int, entries: list[tuple[int, Clause, Clause]]) -> tuple[Postings, KeyIds]:
    ids = KeyIds()
    slots: list[tuple[int, ...]] = [()] * rules
    for number, first, second in entries:
        slots[number] = anchor_slots([first, second], ids.stem, ids.prefix)
    return Postings(slots, len(ids) + 1), ids


def _candidates(postings: Postings, ids: KeyIds, stems: set[str], prefixes: set[str]) -> IntArray:
    present = [ids.stems[s] for s in stems if s in ids.stems]
    present += [ids.prefixes[p] for p in prefixes if p in ids.prefixes]
    return postings.candidates_of(np.array(present, dtype=np.int64))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(clauses, clauses), max_size=12),
    st.sets(st.sampled_from([*KEYS, "zz"])),
    st.sets(st.sampled_from([*PREFIXES, "qqq"])),
)
def test_candidates_equal_the_set_definition(
    rules: list[tuple[Clause, Clause]], stems: set[str], prefixes: set[str]
) -> None:
    postings, ids = _postings(len(rules), [(n, a, b) for n, (a, b) in enumerate(rules)])
    expected = [
        n for n, (a, b) in enumerate(rules) if _hit(a, stems, prefixes) and _hit(b, stems, prefixes)
    ]
    assert _candidates(postings, ids, stems, prefixes).tolist() == expected


def test_a_key_shared_by_both_clauses_of_one_rule_makes_it_a_candidate() -> None:
    only = Clause(frozenset({"a"}), frozenset(), 0.0)
    other = Clause(frozenset({"b"}), frozenset(), 0.0)
    # Rule 1 has no anchor: a candidate on every document.
    postings, ids = _postings(3, [(0, only, only), (2, only, other)])
    assert _candidates(postings, ids, {"a"}, set()).tolist() == [0, 1]
    assert _candidates(postings, ids, {"a", "b"}, set()).tolist() == [0, 1, 2]
    assert _candidates(postings, ids, {"b"}, {"a"}).tolist() == [1]
    assert _candidates(postings, ids, set(), set()).tolist() == [1]


def test_a_rule_with_one_clause_uses_it_twice() -> None:
    only = Clause(frozenset({"a", "c"}), frozenset({"zzz"}), 0.0)
    ids = KeyIds()
    postings = Postings([anchor_slots([only], ids.stem, ids.prefix)], len(ids) + 1)
    for stems, prefixes in (({"a"}, set()), ({"c"}, set()), (set(), {"zzz"})):
        assert _candidates(postings, ids, stems, prefixes).tolist() == [0]
    assert _candidates(postings, ids, {"b"}, set()).tolist() == []


def test_both_stems_of_a_pair_key_get_ids() -> None:
    ids = KeyIds()
    pair = ids.stem("title\x01military\x00cooperation")
    assert {"military", "cooperation"} <= set(ids.stems)
    assert pair == ids.stem("title\x01military\x00cooperation")
    assert len(set(ids.stems.values()) | set(ids.prefixes.values())) == len(ids)
