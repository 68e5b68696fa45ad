"""Near-duplicate fingerprints: sentence shingles, one-permutation MinHash, LSH bands.

Pure functions, no I/O. The body is cut into sentences, each sentence into word
``k``-shingles (a sentence shorter than ``k`` words is one shingle), so dropping or
reordering whole sentences only removes shingles and never invents new ones. The
shingle set is sketched with *one-permutation hashing* (Li, Owen & Zhang 2012) and
*optimal densification* (Shrivastava 2017): one 64-bit hash per shingle, ``bins``
minima, empty bins filled from a pseudo-randomly chosen non-empty bin. Two sketches
agree in a bin with probability equal to the Jaccard similarity of the shingle sets,
as with classic MinHash, at the cost of one hash per shingle instead of one per
shingle and permutation. The sketch is cut into ``bands`` of ``rows`` bins; each band
is hashed to a bucket string. Articles sharing ``min_band_hits`` buckets are
near-duplicates (see ``docs/dedupe.md`` for the parameter choice and its measurement).
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from dataclasses import dataclass

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"\w+")
_MASK64 = (1 << 64) - 1


@dataclass(frozen=True, slots=True)
class FingerprintParams:
    """How articles are sketched. Changing any field changes every bucket (new key space)."""

    shingle_words: int = 4
    bands: int = 16
    rows: int = 3
    min_band_hits: int = 2
    bucket_bytes: int = 6
    #: Learned boilerplate: the first ``edge_head`` and last ``edge_tail`` sentences of an
    #: article are tracked per source; one that ``boilerplate_articles`` different articles
    #: of the source carried within the story window is left out of the shingles of that
    #: source's articles (0 turns learning off). See :mod:`newsalert.dedupe.boilerplate`.
    edge_head: int = 2
    edge_tail: int = 3
    boilerplate_articles: int = 3

    @property
    def bins(self) -> int:
        """Number of MinHash bins (``bands * rows``)."""
        return self.bands * self.rows

    def __post_init__(self) -> None:
        if self.shingle_words < 1 or self.bands < 1 or self.rows < 1:
            raise ValueError("shingle_words, bands and rows must be positive")
        if not 1 <= self.min_band_hits <= self.bands:
            raise ValueError("min_band_hits must be between 1 and bands")
        if min(self.edge_head, self.edge_tail, self.boilerplate_articles) < 0:
            raise ValueError("edge_head, edge_tail and boilerplate_articles must be >= 0")


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """An article's sketch: ``buckets[i]`` is the bucket of band ``i``; empty when no text."""

    buckets: tuple[str, ...]
    shingles: int


Sentence = tuple[str, ...]


def sentences(text: str) -> list[Sentence]:
    """The sentences of ``text`` as word tuples (NFKC, casefolded); empty ones dropped."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return [tuple(words) for part in _SENTENCE_END.split(folded) if (words := _WORD.findall(part))]


def sentence_digest(sentence: Sentence) -> str:
    """A short stable digest of one sentence (hex)."""
    return hashlib.blake2b(" ".join(sentence).encode(), digest_size=8).hexdigest()


def edge_digests(parts: list[Sentence], params: FingerprintParams) -> tuple[str, ...]:
    """Digests of the first ``edge_head`` and last ``edge_tail`` sentences (each once).

    Bylines, datelines, sign-offs, copyright and newsletter lines live at the edges of
    an article; these are the sentences tracked for boilerplate.
    """
    if not params.boilerplate_articles:
        return ()
    count = len(parts)
    chosen = list(range(min(params.edge_head, count)))
    chosen += range(max(count - params.edge_tail, 0), count)
    return tuple(dict.fromkeys(sentence_digest(parts[i]) for i in chosen))


def sentence_shingles(
    parts: list[Sentence], words: int, skip: frozenset[str] = frozenset()
) -> set[str]:
    """Word ``words``-shingles inside each sentence, leaving out sentences in ``skip``."""
    out: set[str] = set()
    for tokens in parts:
        if skip and sentence_digest(tokens) in skip:
            continue
        if len(tokens) <= words:
            if len(tokens) > 1:
                out.add(" ".join(tokens))
            continue
        out.update(" ".join(tokens[i : i + words]) for i in range(len(tokens) - words + 1))
    return out


def shingles(text: str, words: int) -> set[str]:
    """The sentence-bounded word ``words``-shingles of ``text`` (casefolded, NFKC)."""
    return sentence_shingles(sentences(text), words)


def _hash64(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


def _mix(value: int) -> int:
    """splitmix64 finaliser: a cheap deterministic pseudo-random permutation of ints."""
    value = (value + 0x9E3779B97F4A7C15) & _MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK64
    return value ^ (value >> 31)


@functools.cache
def _probe_order(bins: int) -> tuple[tuple[int, ...], ...]:
    """For each bin, the fixed pseudo-random sequence of bins densification borrows from."""
    return tuple(
        tuple(_mix((slot << 32) | attempt) % bins for attempt in range(1, 4 * bins + 1))
        for slot in range(bins)
    )


def sketch(items: set[str], bins: int) -> list[int] | None:
    """One-permutation MinHash of ``items`` with optimal densification; ``None`` if empty."""
    if not items:
        return None
    empty = _MASK64 + 1
    minima = [empty] * bins
    for item in items:
        hashed = _hash64(item.encode())
        slot, value = hashed % bins, hashed // bins
        if value < minima[slot]:
            minima[slot] = value
    if empty in minima:
        probes = _probe_order(bins)
        filled = list(minima)
        for slot, value in enumerate(minima):
            if value != empty:
                continue
            for candidate in probes[slot]:
                value = minima[candidate]
                if value != empty:
                    break
            attempt = len(probes[slot])
            while value == empty:  # only for sets far smaller than ``bins``
                attempt += 1
                value = minima[_mix((slot << 32) | attempt) % bins]
            filled[slot] = value
        minima = filled
    return minima


def band_buckets(signature: list[int], params: FingerprintParams) -> tuple[str, ...]:
    """Hash each band of ``signature`` (``rows`` consecutive bins) to a hex bucket."""
    buckets = []
    for band in range(params.bands):
        rows = signature[band * params.rows : (band + 1) * params.rows]
        packed = b"".join(value.to_bytes(8, "little") for value in rows)
        digest = hashlib.blake2b(packed, digest_size=params.bucket_bytes).hexdigest()
        buckets.append(digest)
    return tuple(buckets)


def fingerprint(
    text: str | list[Sentence], params: FingerprintParams, skip: frozenset[str] = frozenset()
) -> Fingerprint:
    """The near-duplicate fingerprint of ``text`` (or its sentences), without ``skip``."""
    parts = sentences(text) if isinstance(text, str) else text
    items = sentence_shingles(parts, params.shingle_words, skip)
    signature = sketch(items, params.bins)
    if signature is None:
        return Fingerprint(buckets=(), shingles=0)
    return Fingerprint(buckets=band_buckets(signature, params), shingles=len(items))


def estimated_jaccard(first: list[int], second: list[int]) -> float:
    """The share of bins in which two sketches agree (estimates Jaccard similarity)."""
    if len(first) != len(second) or not first:
        raise ValueError("sketches must have the same, non-zero number of bins")
    return sum(a == b for a, b in zip(first, second, strict=True)) / len(first)
