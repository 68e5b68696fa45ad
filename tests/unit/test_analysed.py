"""The analysed article gives every consumer exactly what its own functions gave.

Matching tokens and stems, the exact-duplicate digests (body hash), the dedupe sentences
and the near-duplicate fingerprint of an :class:`AnalysedArticle` are compared on hostile
Unicode with the functions each consumer defined them by. The sentence cut and the
MinHash sketch were rewritten for speed, so this file keeps the earlier code as the
oracle (``_oracle_*``): stored body hashes and band keys must not change.
"""

from __future__ import annotations

import functools
import itertools
import re
import struct
import unicodedata

import xxhash
from hypothesis import given, settings
from hypothesis import strategies as st

from newsalert.analysed import AnalysedArticle, analyse
from newsalert.dedupe.canonical import exact_digests, normalised_text
from newsalert.dedupe.fingerprint import (
    FingerprintParams,
    band_buckets,
    edge_digests,
    fingerprint,
    sentence_digest,
    sentence_shingles,
    sketch,
)
from newsalert.models import Article
from newsalert.rules import Document
from newsalert.text import Stemmer, sentences, token_spans, tokenize

_MASK64 = (1 << 64) - 1


def _oracle_sentences(text: str) -> list[tuple[str, ...]]:
    """The sentences by their definition: NFKC, casefold, two regular expressions."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    parts = re.split(r"(?<=[.!?])\s+|\n+", folded)
    return [tuple(words) for part in parts if (words := re.findall(r"\w+", part))]


def _oracle_mix(value: int) -> int:
    value = (value + 0x9E3779B97F4A7C15) & _MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK64
    return value ^ (value >> 31)


@functools.cache
def _oracle_probes(bins: int) -> tuple[tuple[int, ...], ...]:
    return tuple(
        tuple(_oracle_mix((slot << 32) | attempt) % bins for attempt in range(1, 4 * bins + 1))
        for slot in range(bins)
    )


def _oracle_sketch(items: set[str], bins: int) -> list[int] | None:
    """One-permutation MinHash with optimal densification, one shingle at a time."""
    if not items:
        return None
    empty = _MASK64 + 1
    minima = [empty] * bins
    for item in items:
        hashed = xxhash.xxh3_64_intdigest(item.encode())
        slot, value = hashed % bins, hashed // bins
        minima[slot] = min(minima[slot], value)
    filled = list(minima)
    for slot, value in enumerate(minima):
        if value != empty:
            continue
        probes = _oracle_probes(bins)[slot]
        value = next((minima[p] for p in probes if minima[p] != empty), empty)
        attempt = len(probes)
        while value == empty:
            attempt += 1
            value = minima[_oracle_mix((slot << 32) | attempt) % bins]
        filled[slot] = value
    return filled


def _oracle_buckets(signature: list[int], params: FingerprintParams) -> tuple[str, ...]:
    width = params.rows * 8
    packed = struct.pack(f"<{params.bins}Q", *signature[: params.bins])
    digest = xxhash.xxh3_64_hexdigest if params.bucket_bytes <= 8 else xxhash.xxh3_128_hexdigest
    return tuple(
        digest(packed[start : start + width])[: params.bucket_bytes * 2]
        for start in range(0, params.bands * width, width)
    )


def _oracle_fingerprint(
    parts: list[tuple[str, ...]], params: FingerprintParams, skip: frozenset[str]
) -> tuple[tuple[str, ...], int]:
    items: set[str] = set()
    for tokens in parts:
        if sentence_digest(tokens) in skip:
            continue
        if len(tokens) <= params.shingle_words:
            if len(tokens) > 1:
                items.add(" ".join(tokens))
            continue
        for start in range(len(tokens) - params.shingle_words + 1):
            items.add(" ".join(tokens[start : start + params.shingle_words]))
    signature = _oracle_sketch(items, params.bins)
    if signature is None:
        return (), 0
    return _oracle_buckets(signature, params), len(items)


# Characters that normalisation, case folding or the word and sentence rules treat
# specially: format characters, combining marks, Hangul jamo, full-width and ligature
# forms, dotted capital I (folds to i + combining dot), sharp s, Unicode spaces and line
# separators, NUL, currency and typographic punctuation, astral letters and digits.
_HOSTILE = st.sampled_from(
    list(
        "aZ9_ .!?\n\t\r\x00\x0b\x1c,;'\"-"
        "\u00ad\u200b\u200d\u2060\ufeff\u202e\U000e0041"
        "\u0301\u0308\u0307\u1100\u1161\u11a8\uac00"
        "\uff21\uff41\uff11\ufb01\u2460\u00b2\u2126"
        "\u0130\u00df\u03a3\u03c2\u00e9\u00c5"
        "\u00a0\u2028\u2029\u3000\u0085"
        "\u00a3\u20ac\u2019\u201c\u2014\u00b7\u0660\U0001d400\U00010400"
    )
)
_TEXT = st.lists(_HOSTILE, max_size=80).map("".join) | st.text(max_size=80)
_PARAMS = st.builds(
    FingerprintParams,
    shingle_words=st.integers(1, 5),
    bands=st.integers(2, 20),
    rows=st.integers(1, 4),
    min_band_hits=st.just(1),
    bucket_bytes=st.integers(1, 16),
)


@settings(max_examples=300, deadline=None)
@given(title=_TEXT, body=_TEXT)
def test_matching_sees_the_tokens_stems_and_spans_of_text(title: str, body: str) -> None:
    analysed = AnalysedArticle(Article(id="a", title=title, body=body))
    for field, text in (("title", title), ("body", body)):
        cut = getattr(analysed, field)
        assert cut.tokens == tokenize(text)
        assert cut.stems == Stemmer().stems(tokenize(text))
        assert cut.spans == token_spans(text)
    doc, direct = Document.from_analysed(analysed), Document.from_text(title=title, body=body)
    for name in ("title", "body"):
        assert doc.fields[name].tokens == direct.fields[name].tokens
        assert doc.fields[name].stems == direct.fields[name].stems


_ASCII = st.text(st.sampled_from(list("aZ9_ .!?\n\t\x00,-")), max_size=80) | st.builds(
    lambda n, tail: "x" * n + tail, st.integers(120, 140), st.sampled_from(["", " a", "_b"])
)


@settings(max_examples=300, deadline=None)
@given(body=_TEXT | _ASCII, title=_TEXT)
def test_body_tokens_taken_from_the_sentences_are_the_tokens(body: str, title: str) -> None:
    analysed = AnalysedArticle(Article(id="a", title=title, body=body))
    assert analysed.sentences is not None  # cut first, as the pipeline does
    assert analysed.body.tokens == tokenize(body)
    assert analysed.body.stems == Stemmer().stems(tokenize(body))


@settings(max_examples=300, deadline=None)
@given(title=_TEXT, body=_TEXT, url=st.sampled_from(["", "https://example.com/a?utm_x=1"]))
def test_dedupe_sees_the_sentences_and_body_hash_it_always_did(
    title: str, body: str, url: str
) -> None:
    article = Article(id="a", title=title, body=body, url=url or None)
    analysed = analyse(article)
    assert list(analysed.sentences) == _oracle_sentences(body or title)
    assert list(analysed.sentences) == sentences(body or title)
    assert exact_digests(article, analysed.body_words()) == exact_digests(article)
    words = analysed.body_words()
    assert (" ".join(words) if words is not None else "") == normalised_text(body)


@settings(max_examples=200, deadline=None)
@given(text=_TEXT, params=_PARAMS, data=st.data())
def test_fingerprint_keeps_its_buckets(
    text: str, params: FingerprintParams, data: st.DataObject
) -> None:
    parts = _oracle_sentences(text)
    skipped = data.draw(st.sets(st.sampled_from(parts))) if parts else set()
    skip = frozenset(map(sentence_digest, skipped))
    got = fingerprint(tuple(parts), params, skip)
    assert (got.buckets, got.shingles) == _oracle_fingerprint(parts, params, skip)
    assert fingerprint(text, params, skip) == got
    assert edge_digests(parts, params) == edge_digests(tuple(parts), params)


# No deadline: the first sketch of a bin count builds its probe table (both versions).
@settings(deadline=None)
@given(
    items=st.sets(st.text(max_size=12), max_size=60) | st.sets(st.just("x"), max_size=1),
    bins=st.integers(1, 130),
)
def test_vectorised_sketch_equals_the_scalar_one(items: set[str], bins: int) -> None:
    expected = _oracle_sketch(items, bins)
    assert sketch(items, bins) == expected
    if expected is not None and bins >= 1:
        params = FingerprintParams(bands=bins, rows=1, min_band_hits=1)
        assert band_buckets(expected, params) == _oracle_buckets(expected, params)


def test_shingle_sets_are_unchanged() -> None:
    parts = _oracle_sentences("One two three four five. Six seven!\nEight nine ten eleven twelve")
    windows = {
        " ".join(p[i : i + 4]) for p in parts for i in range(max(len(p) - 3, 1)) if len(p) > 1
    }
    assert sentence_shingles(parts, 4) == windows
    assert list(itertools.chain.from_iterable(parts))[:2] == ["one", "two"]


def test_densification_beyond_the_precomputed_probes() -> None:
    # Two filled bins of 256: now and then an empty bin misses both in all 1,024
    # precomputed probes and continues its sequence one probe at a time.
    for number in range(60):
        items = {f"a{number}", f"b{number}"}
        assert sketch(items, 256) == _oracle_sketch(items, 256)
