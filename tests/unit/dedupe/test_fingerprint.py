"""Shingles, the one-permutation MinHash sketch and LSH band buckets."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsalert.dedupe.canonical import body_hash, exact_digests
from newsalert.dedupe.fingerprint import (
    FingerprintParams,
    body_words,
    estimated_jaccard,
    fingerprint,
    sentences,
    shingles,
    sketch,
)
from newsalert.models import Article
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
    with pytest.raises(ValueError, match="bucket_bytes"):
        FingerprintParams(bucket_bytes=17)
    with pytest.raises(ValueError, match="same"):
        estimated_jaccard([1], [1, 2])
    assert FingerprintParams(bands=16, rows=3).bins == 48


def _regex_sentences(text: str) -> list[tuple[str, ...]]:
    """The specification of ``sentences``: the two regular expressions, no fast path."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    parts = re.split(r"(?<=[.!?])\s+|\n+", folded)
    return [tuple(words) for part in parts if (words := re.findall(r"\w+", part))]


_TRICKY = st.sampled_from(list("ab1_ .!?\n\t\r\x0b\x0c\x1c\x1f\x00,;'\"-()Aé\u00a0\u2019\u2028"))


@given(st.lists(_TRICKY, max_size=40).map("".join) | st.text(max_size=60))
def test_sentences_fast_path_matches_the_regex_definition(text: str) -> None:
    assert sentences(text) == _regex_sentences(text)


@given(st.lists(_TRICKY, max_size=40).map("".join))
def test_reused_sentence_words_give_the_same_body_hash(body: str) -> None:
    article = Article(id="a", title="T", body=body)
    words = body_words(article, sentences(article.body or article.title))
    assert body_hash(body, words) == body_hash(body)
    assert exact_digests(article, body_words(article, sentences(body))) == exact_digests(article)


def test_title_sentences_are_not_taken_for_body_words() -> None:
    article = Article(id="a", title="A headline only", body="")
    assert body_words(article, sentences(article.title)) is None


def test_buckets_do_not_depend_on_the_process_hash_seed() -> None:
    text = " ".join(STORY)
    code = (
        "import json, sys; from newsalert.dedupe.fingerprint import FingerprintParams, "
        "fingerprint; print(json.dumps(fingerprint(sys.argv[1], FingerprintParams()).buckets))"
    )
    here = list(fingerprint(text, FingerprintParams()).buckets)
    for seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", code, text], env=env, capture_output=True, check=True, text=True
        )
        assert json.loads(out.stdout) == here
