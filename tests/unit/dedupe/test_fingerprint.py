"""Shingles, the one-permutation MinHash sketch and LSH band buckets."""

from __future__ import annotations

import random

import pytest

from newsalert.dedupe.fingerprint import (
    FingerprintParams,
    estimated_jaccard,
    fingerprint,
    shingles,
    sketch,
)
from tests.unit.dedupe.texts import OTHER_STORY, STORY, syndicated


def test_shingles_stay_inside_sentences() -> None:
    got = shingles("One two three four five. Six seven!\nEight", 4)
    assert got == {"one two three four", "two three four five", "six seven"}


def test_reordering_sentences_changes_nothing() -> None:
    params = FingerprintParams()
    shuffled = list(STORY)
    random.Random(3).shuffle(shuffled)
    assert fingerprint(" ".join(shuffled), params) == fingerprint(" ".join(STORY), params)


def test_empty_text_has_no_buckets() -> None:
    assert fingerprint("", FingerprintParams()).buckets == ()
    assert fingerprint("Word.", FingerprintParams()).buckets == ()
    assert sketch(set(), 8) is None


def test_copies_share_bands_and_other_stories_do_not() -> None:
    params = FingerprintParams()
    original = fingerprint(" ".join(STORY), params).buckets
    copy = fingerprint(" ".join(syndicated(STORY)), params).buckets
    other = fingerprint(" ".join(OTHER_STORY), params).buckets
    assert len(original) == params.bands
    same = sum(a == b for a, b in zip(original, copy, strict=True))
    assert same >= params.min_band_hits
    assert sum(a == b for a, b in zip(original, other, strict=True)) == 0


def test_sketch_agreement_estimates_jaccard() -> None:
    rnd = random.Random(11)
    universe = [f"token {i}" for i in range(5000)]
    errors = []
    for _ in range(200):
        shared = rnd.randrange(0, 300)
        a = set(rnd.sample(universe, 300))
        b = set(rnd.sample(sorted(a), shared)) | set(rnd.sample(universe, 300 - shared))
        truth = len(a & b) / len(a | b)
        first, second = sketch(a, 128), sketch(b, 128)
        assert first is not None
        assert second is not None
        errors.append(abs(estimated_jaccard(first, second) - truth))
    assert sum(errors) / len(errors) < 0.05
    assert max(errors) < 0.25


def test_densification_fills_every_bin_of_tiny_sets() -> None:
    signature = sketch({"only one shingle"}, 16)
    assert signature is not None
    assert len(set(signature)) == 1


def test_params_are_validated() -> None:
    with pytest.raises(ValueError, match="positive"):
        FingerprintParams(bands=0)
    with pytest.raises(ValueError, match="min_band_hits"):
        FingerprintParams(bands=4, min_band_hits=5)
    with pytest.raises(ValueError, match="same"):
        estimated_jaccard([1], [1, 2])
    assert FingerprintParams(bands=16, rows=3).bins == 48
