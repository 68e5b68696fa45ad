"""Learned boilerplate marks and the edge sentences they track."""

from __future__ import annotations

from newsalert.dedupe.boilerplate import LineMark, boilerplate, line_digest, next_mark
from newsalert.dedupe.fingerprint import (
    FingerprintParams,
    edge_digests,
    fingerprint,
    sentence_digest,
    sentences,
)

WINDOW = 1000


def test_line_mark_round_trips_and_rejects_garbage() -> None:
    mark = LineMark("abc", 3, 1_700_000_000_000)
    assert LineMark.decode(mark.encode()) == mark
    assert LineMark.decode(mark.encode().encode()) == mark
    for bad in (None, "", "a|b", "a|x|1", "a|1|2|3"):
        assert LineMark.decode(bad) is None


def test_next_mark_counts_different_articles_within_the_window() -> None:
    first = next_mark(None, "a1", 100, WINDOW)
    assert first == LineMark("a1", 1, 100)
    assert next_mark(first, "a1", 150, WINDOW) == LineMark("a1", 1, 150)  # a redelivery
    second = next_mark(first, "a2", 50, WINDOW)
    assert second == LineMark("a2", 2, 100)  # older article: newest time kept
    assert next_mark(second, "a3", 100 + WINDOW + 1, WINDOW) == LineMark("a3", 1, 1101)


def test_boilerplate_needs_enough_articles_in_the_window() -> None:
    marks = {
        "often": LineMark("x", 3, 100),
        "rare": LineMark("x", 2, 100),
        "stale": LineMark("x", 9, 100),
        "new": None,
    }
    assert boilerplate(marks, 100, WINDOW, 3) == {"often", "stale"}
    assert boilerplate(marks, 100 + WINDOW + 1, WINDOW, 3) == frozenset()
    assert boilerplate(marks, 100, WINDOW, 0) == frozenset()


def test_lines_are_scoped_by_source() -> None:
    assert line_digest("AFP", "d1") != line_digest("DPA", "d1")
    assert line_digest(None, "d1") == line_digest("", "d1")


def test_edges_are_the_first_two_and_last_three_sentences() -> None:
    text = " ".join(f"Sentence number {n} is here." for n in range(8))
    parts = sentences(text)
    expected = [sentence_digest(parts[i]) for i in (0, 1, 5, 6, 7)]
    assert list(edge_digests(parts, FingerprintParams())) == expected
    assert len(edge_digests(parts[:3], FingerprintParams())) == 3
    assert edge_digests(parts, FingerprintParams(boilerplate_articles=0)) == ()


def test_skipped_sentences_leave_the_fingerprint() -> None:
    params = FingerprintParams()
    core = "The harbour will close for six weeks. Ferries use the south pier until then."
    footer = "Sign up for our newsletter to get the top stories in your inbox every day."
    wrapped = sentences(f"{core} {footer}")
    skip = frozenset({sentence_digest(wrapped[-1])})
    assert fingerprint(wrapped, params, skip) == fingerprint(core, params)
    assert fingerprint(wrapped, params) != fingerprint(core, params)
