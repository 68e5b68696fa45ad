"""The compiled shingle hashes are the reference ones: XXH3-64 of each window's words
joined by single spaces, for every length the compiled XXH3 takes, any script, and the
fingerprints built on them."""

from __future__ import annotations

import gzip
import json
import random
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest
import xxhash
from hypothesis import given, settings
from hypothesis import strategies as st

from newsalert.dedupe import fingerprint as fingerprint_module
from newsalert.dedupe.fingerprint import (
    FingerprintParams,
    _hashes,
    _shingle_list,
    fingerprint,
    sentence_digest,
)
from newsalert.dedupe.xxh3jit import MAX_INPUT, shingle_hashes, xxh3_64
from newsalert.text import Sentence, sentences
from tests.hostile_input import ODD_CHARS


def _reference(parts: Sequence[Sentence], words: int) -> Counter[int]:
    items = _shingle_list(parts, words)
    return Counter(_hashes(items, len(items)).tolist())


def test_xxh3_equals_xxhash_for_every_length_it_takes() -> None:
    rng = random.Random(20261206)
    for length in range(MAX_INPUT + 1):
        for _ in range(20):
            data = rng.randbytes(length)
            assert xxh3_64(data) == xxhash.xxh3_64_intdigest(data), length


def test_xxh3_refuses_longer_input() -> None:
    with pytest.raises(ValueError, match="240"):
        xxh3_64(b"x" * (MAX_INPUT + 1))


_WORD = st.text(
    alphabet=st.characters(categories=("Ll", "Lo", "Nd", "Mn")), min_size=1, max_size=20
)


# No deadline: the first call compiles the kernel (or loads it from numba's cache).
@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(st.lists(_WORD, max_size=15).map(tuple), max_size=12),
    words=st.integers(1, 6),
)
def test_shingle_hashes_equal_the_reference(parts: list[Sentence], words: int) -> None:
    hashes = shingle_hashes(parts, words)
    assert hashes is not None
    assert Counter(hashes.tolist()) == _reference(parts, words)


def test_sentences_shorter_than_a_window_are_one_shingle() -> None:
    parts = [("one",), ("two", "words"), ("a", "b", "c", "d", "e", "f")]
    hashes = shingle_hashes(parts, 4)
    assert hashes is not None
    assert Counter(hashes.tolist()) == _reference(parts, 4)
    assert len(hashes) == 1 + 3  # "one" is no shingle


def test_a_window_longer_than_the_compiled_xxh3_takes_is_left_to_the_reference() -> None:
    long_word = "w" * 150  # two of them and two short words: 305 bytes
    parts = [(long_word, long_word, "x", "y")]
    assert shingle_hashes(parts, 4) is None
    params = FingerprintParams()
    text = " ".join([long_word] * 30) + ". " + "the wire said so today in the capital"
    expected = _fingerprint_by_reference(sentences(text), params)
    assert fingerprint(text, params) == expected


def _fingerprint_by_reference(
    parts: Sequence[Sentence], params: FingerprintParams, skip: frozenset[str] = frozenset()
) -> fingerprint_module.Fingerprint:
    original = fingerprint_module._compiled_shingles

    def reference() -> fingerprint_module._ShingleHasher:
        return lambda _parts, _words: None

    fingerprint_module._compiled_shingles = reference  # type: ignore[assignment]
    try:
        return fingerprint(parts, params, skip)
    finally:
        fingerprint_module._compiled_shingles = original


def test_fingerprints_with_skipped_sentences_equal_the_reference() -> None:
    text = (
        "Reuters reported on Monday that the central bank raised rates. "
        "Analysts had expected the move for weeks. "
        "Subscribe to our newsletter for more."
    )
    parts = sentences(text)
    skip = frozenset({sentence_digest(parts[-1])})
    params = FingerprintParams()
    assert fingerprint(parts, params, skip) == _fingerprint_by_reference(parts, params, skip)
    assert fingerprint(parts, params) != fingerprint(parts, params, skip)


def test_corpus_fingerprints_equal_the_reference(corpus_dir: Path) -> None:
    params = FingerprintParams()
    checked = 0
    for name in ("reuters21578.jsonl.gz", "bbc.jsonl.gz"):
        path = corpus_dir / name
        if not path.exists():
            continue
        with gzip.open(path, "rt", encoding="utf-8") as stream:
            for number, line in enumerate(stream):
                if number >= 1500:
                    break
                record = json.loads(line)
                parts = sentences(record.get("body") or record.get("title") or "")
                assert fingerprint(parts, params) == _fingerprint_by_reference(parts, params)
                checked += 1
    if not checked:
        pytest.skip("no corpus file")


_HOSTILE_WORD = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=30),
    st.text(st.sampled_from(ODD_CHARS + "port strike "), min_size=1, max_size=30),
    st.builds(lambda w, n: w * n, st.sampled_from(["x", "é", "\u200b", "日"]), st.integers(1, 400)),
)


# No deadline: the first call compiles the kernel (or loads it from numba's cache).
@settings(max_examples=300, deadline=None)
@given(st.lists(_HOSTILE_WORD, max_size=60).map(" ".join))
def test_hostile_text_fingerprints_equal_the_reference(text: str) -> None:
    """Format and bidi characters, combining marks, NUL, full-width letters, any script,
    tokens far longer than a compiled window: what an article body may hold once the
    edge has refused lone surrogates."""
    params = FingerprintParams()
    parts = sentences(text)
    assert fingerprint(parts, params) == _fingerprint_by_reference(parts, params)


def test_a_megabyte_article_fingerprints_equal_the_reference() -> None:
    rng = random.Random(7)
    vocabulary = ["port", "strike", "ministry", "Zürich", "日本", "\u200bzero", "x" * 70]
    text = ". ".join(
        " ".join(rng.choice(vocabulary) for _ in range(rng.randint(1, 30))) for _ in range(30_000)
    )
    assert len(text.encode()) > 1_000_000
    params = FingerprintParams()
    parts = sentences(text)
    assert fingerprint(parts, params) == _fingerprint_by_reference(parts, params)
    without_long = [tuple(w for w in p if len(w) < 60) for p in parts]
    hashes = shingle_hashes(without_long, params.shingle_words)
    assert hashes is not None
    assert Counter(hashes.tolist()) == _reference(without_long, params.shingle_words)
