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

Hashes are XXH3-64 (``xxhash``, seed 0) of the shingle's words joined by single spaces,
UTF-8: stable across processes, machines and Python versions (never Python's salted
``hash()``) and far cheaper per shingle than a cryptographic hash. :func:`fingerprint`
computes them in one compiled call over the article's words
(:mod:`newsalert.dedupe.xxh3jit`: the same XXH3, tested against ``xxhash``, over byte
windows of one buffer; :func:`_shingle_list` and :func:`_hashes` are the reference);
bin minima, densification and the distinct count are one more compiled call
(:mod:`newsalert.dedupe.sketchjit`), so no Python bytecode runs per shingle. The
sentences come from :func:`newsalert.text.sentences` (an
:class:`~newsalert.analysed.AnalysedArticle` cuts them once per article).
"""

from __future__ import annotations

import functools
import itertools
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import xxhash
from numpy.typing import NDArray

from newsalert.models import Article
from newsalert.text import Sentence, sentences

_MASK64 = (1 << 64) - 1
_hash64 = xxhash.xxh3_64_intdigest
_EMPTY = np.uint64(_MASK64)

#: Version of the hashing scheme (this one: XXH3-64 per shingle): bumped whenever the same
#: text gets different buckets or sentence digests. Buckets of different schemes never
#: match, so replicas of different schemes must not share one Redis key space.
FINGERPRINT_SCHEME = 2


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
    #: Densification's probe sequences for this many bins (built on the first sketch
    #: that needs them, then kept as long as these parameters are).
    probes: ProbeOrder = field(init=False, repr=False, compare=False)

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
        if not 1 <= self.bucket_bytes <= 16:
            raise ValueError("bucket_bytes must be between 1 and 16")
        object.__setattr__(self, "probes", ProbeOrder(self.bins))


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """An article's sketch: ``buckets[i]`` is the bucket of band ``i``; empty when no text."""

    buckets: tuple[str, ...]
    shingles: int


def body_words(article: Article, parts: Sequence[Sentence]) -> Iterator[str] | None:
    """The normalised body words, when ``parts`` are the sentences of ``article.body``
    (see :meth:`newsalert.analysed.AnalysedArticle.body_words`); ``None`` when the body
    is empty (``parts`` then came from the title)."""
    return itertools.chain.from_iterable(parts) if article.body else None


def sentence_digest(sentence: Sentence) -> str:
    """A short stable digest of one sentence (hex)."""
    return xxhash.xxh3_64_hexdigest(" ".join(sentence).encode())


def edge_digests(parts: Sequence[Sentence], params: FingerprintParams) -> tuple[str, ...]:
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


def _kept(parts: Sequence[Sentence], skip: frozenset[str]) -> Sequence[Sentence]:
    """``parts`` without the sentences whose digest is in ``skip`` (learned boilerplate)."""
    if not skip:
        return parts
    return [tokens for tokens in parts if sentence_digest(tokens) not in skip]


def _shingle_list(
    parts: Sequence[Sentence], words: int, skip: frozenset[str] = frozenset()
) -> list[str]:
    """Every word ``words``-shingle inside each sentence, in order, repeats kept (the
    sketch's minima do not see repeats, and a list is cheaper to fill than a set)."""
    out: list[str] = []
    for tokens in _kept(parts, skip):
        if len(tokens) <= words:
            if len(tokens) > 1:
                out.append(" ".join(tokens))
            continue
        # zip of the shifted tuples yields every window in C; no per-shingle slicing.
        out += map(" ".join, zip(*(tokens[i:] for i in range(words)), strict=False))
    return out


def sentence_shingles(
    parts: Sequence[Sentence], words: int, skip: frozenset[str] = frozenset()
) -> set[str]:
    """Word ``words``-shingles inside each sentence, leaving out sentences in ``skip``."""
    return set(_shingle_list(parts, words, skip))


def shingles(text: str, words: int) -> set[str]:
    """The sentence-bounded word ``words``-shingles of ``text`` (casefolded, NFKC)."""
    return sentence_shingles(sentences(text), words)


def _mix(value: int) -> int:
    """splitmix64 finaliser: a cheap deterministic pseudo-random permutation of ints."""
    value = (value + 0x9E3779B97F4A7C15) & _MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK64
    return value ^ (value >> 31)


class ProbeOrder:
    """For each of ``bins`` bins, the fixed pseudo-random sequence of bins densification
    borrows from: attempt ``a`` of bin ``s`` is ``_mix(s << 32 | a) % bins``.

    The first ``4 * bins`` attempts of every bin are tabled on first use (a sketch then
    finds the first non-empty bin in C) and kept by the owner, the
    :class:`FingerprintParams` of a store; a rare bin that needs more goes on one attempt
    at a time.
    """

    __slots__ = ("_array", "_table", "bins")

    def __init__(self, bins: int) -> None:
        self.bins = bins
        self._table: tuple[tuple[int, ...], ...] | None = None
        self._array: NDArray[np.int64] | None = None

    def table(self) -> tuple[tuple[int, ...], ...]:
        """Each bin's first ``4 * bins`` attempts."""
        if self._table is None:
            bins = self.bins
            # _mix over the whole table at once: uint64 arithmetic wraps modulo 2**64,
            # as _mix's masks do.
            values = (np.arange(bins, dtype=np.uint64)[:, None] << np.uint64(32)) | np.arange(
                1, 4 * bins + 1, dtype=np.uint64
            )[None, :]
            values = values + np.uint64(0x9E3779B97F4A7C15)
            values = (values ^ (values >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            values = (values ^ (values >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            values = values ^ (values >> np.uint64(31))
            self._table = tuple(map(tuple, (values % np.uint64(bins)).tolist()))
        return self._table

    def array(self) -> NDArray[np.int64]:
        """:meth:`table` as a ``bins`` × ``4 * bins`` array, for
        :func:`~newsalert.dedupe.sketchjit.sketch_into`."""
        if self._array is None:
            self._array = np.array(self.table(), dtype=np.int64).reshape(self.bins, -1)
        return self._array


_Kernel = Callable[[NDArray[np.uint64], NDArray[np.int64], NDArray[np.uint64]], int]


@functools.cache
def _compiled() -> _Kernel:
    """The compiled sketch, imported on first use: numba is large, and a process that
    never fingerprints (the dispatcher) does not load it."""
    from newsalert.dedupe.sketchjit import sketch_into

    return sketch_into


_ShingleHasher = Callable[[Sequence[Sentence], int], "NDArray[np.uint64] | None"]


@functools.cache
def _compiled_shingles() -> _ShingleHasher:
    """The compiled shingle hashing (:mod:`newsalert.dedupe.xxh3jit`), imported on first
    use like :func:`_compiled`."""
    from newsalert.dedupe.xxh3jit import shingle_hashes

    return shingle_hashes


def warm_up() -> None:
    """Compile the shingle and sketch kernels (or load them from numba's disk cache) now:
    a matcher does it while it starts, not on its first article (seconds when not
    cached)."""
    fingerprint("warm up the compiled sketch", FingerprintParams())


def _hashes(items: Iterable[str], count: int) -> NDArray[np.uint64]:
    """The 64-bit hash of each item (one C-level pass: encode, hash, store)."""
    return np.fromiter(map(_hash64, map(str.encode, items)), dtype=np.uint64, count=count)


def _sketch(hashes: NDArray[np.uint64], probes: ProbeOrder) -> list[int] | None:
    """One-permutation MinHash of ``hashes`` with optimal densification.

    The bin minima are one vectorised pass; the few empty bins of a short text are
    filled in Python (a handful of list probes costs less than more array calls).
    :func:`fingerprint` uses the compiled :func:`~newsalert.dedupe.sketchjit.sketch_into`
    instead; this is its reference (tests) and :func:`sketch`'s implementation.
    """
    if not hashes.size:
        return None
    bins = probes.bins
    values, slots = np.divmod(hashes, np.uint64(bins))
    table = np.full(bins, _EMPTY, dtype=np.uint64)
    np.minimum.at(table, slots, values)
    minima: list[int] = table.tolist()
    # With two or more bins no value reaches the empty mark; one bin is never empty here.
    if bins == 1 or _MASK64 not in minima:
        return minima
    order = probes.table()
    filled = list(minima)
    for slot, value in enumerate(minima):
        if value != _MASK64:
            continue
        # The first non-empty bin of the slot's probe sequence, found in C.
        value = next(filter(_MASK64.__ne__, map(minima.__getitem__, order[slot])), _MASK64)
        attempt = len(order[slot])
        while value == _MASK64:  # only for sets far smaller than ``bins``
            attempt += 1
            value = minima[_mix((slot << 32) | attempt) % bins]
        filled[slot] = value
    return filled


def sketch(items: set[str], bins: int) -> list[int] | None:
    """One-permutation MinHash of ``items`` with optimal densification; ``None`` if empty.

    Builds its own probe table when it needs one: :func:`fingerprint` keeps its
    parameters' table instead.
    """
    return _sketch(_hashes(items, len(items)), ProbeOrder(bins))


def band_buckets(signature: Sequence[int], params: FingerprintParams) -> tuple[str, ...]:
    """Hash each band of ``signature`` (``rows`` consecutive bins) to a hex bucket.

    The bucket is the first ``bucket_bytes`` bytes of the XXH3 digest (64-bit, or
    128-bit for buckets wider than 8 bytes) of the band's bins packed little-endian.
    """
    return _packed_buckets(struct.pack(f"<{params.bins}Q", *signature[: params.bins]), params)


def _packed_buckets(packed: bytes, params: FingerprintParams) -> tuple[str, ...]:
    """:func:`band_buckets` of the signature's bins packed as little-endian uint64s."""
    width = params.rows * 8
    digest = xxhash.xxh3_64_hexdigest if params.bucket_bytes <= 8 else xxhash.xxh3_128_hexdigest
    chars = params.bucket_bytes * 2
    return tuple(
        digest(packed[start : start + width])[:chars]
        for start in range(0, params.bands * width, width)
    )


def fingerprint(
    text: str | Sequence[Sentence], params: FingerprintParams, skip: frozenset[str] = frozenset()
) -> Fingerprint:
    """The near-duplicate fingerprint of ``text`` (or its sentences), without ``skip``.

    ``shingles`` counts distinct shingle hashes (a 64-bit collision among one article's
    shingles is not to be expected).
    """
    parts = sentences(text) if isinstance(text, str) else text
    parts = _kept(parts, skip)
    # The hashes of :func:`_shingle_list`'s shingles, computed over one buffer of the
    # words without a string per shingle; the reference path when a window is too long.
    hashes = _compiled_shingles()(parts, params.shingle_words)
    if hashes is None:
        items = _shingle_list(parts, params.shingle_words)
        hashes = _hashes(items, len(items))
    if not hashes.size:
        return Fingerprint(buckets=(), shingles=0)
    # The sketch of :func:`_sketch`, in one compiled call (the numpy version's per-call
    # overheads were most of its cost on an article's few hundred shingles).
    minima = np.empty(params.bins, dtype=np.uint64)
    distinct = _compiled()(hashes, params.probes.array(), minima)
    packed = minima.astype("<u8", copy=False).tobytes()
    return Fingerprint(buckets=_packed_buckets(packed, params), shingles=distinct)


def estimated_jaccard(first: list[int], second: list[int]) -> float:
    """The share of bins in which two sketches agree (estimates Jaccard similarity)."""
    if len(first) != len(second) or not first:
        raise ValueError("sketches must have the same, non-zero number of bins")
    return sum(a == b for a, b in zip(first, second, strict=True)) / len(first)
