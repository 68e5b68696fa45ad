"""Learned boilerplate: edge sentences a source repeats across many of its articles.

Pure functions, no I/O. Outlets wrap syndicated copy in their own bylines, sign-offs,
copyright and newsletter lines. In a short brief those lines are a large share of the
shingles, so copies of one brief look unlike each other and briefs of one outlet look
alike. The stores keep, per (source, edge sentence) -- the first and last few sentences
of an article, see :func:`newsalert.dedupe.fingerprint.edge_digests` -- the last article
that carried it and how many different articles did within the story window. Once
``boilerplate_articles`` articles of one source carried a sentence, it is left out of the
fingerprints of that source's later articles.

Counting per source keeps story content safe: a wire story's lead sentence appears in
many outlets, but only once per outlet (twice or three times for updates), while an
outlet's footer appears in every one of its articles. Counting *articles* rather than
stories keeps the learning independent of the story grouping it is meant to improve.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import xxhash


class LineMark(NamedTuple):
    """What a store remembers about one (source, edge sentence)."""

    last_article: str
    articles: int
    event_ms: int

    def encode(self) -> str:
        """The Redis string form ``last_article|articles|event_ms``."""
        return f"{self.last_article}|{self.articles}|{self.event_ms}"

    @classmethod
    def decode(cls, value: str | bytes | None) -> LineMark | None:
        """Parse :meth:`encode`'s form; ``None`` for a missing or malformed value."""
        if value is None:
            return None
        text = value.decode() if isinstance(value, bytes) else value
        parts = text.split("|")
        if len(parts) != 3:
            return None
        try:
            return cls(parts[0], int(parts[1]), int(parts[2]))
        except ValueError:
            return None


def line_digest(source: str | None, sentence_digest: str) -> str:
    """The key digest of one edge sentence of one source (XXH3-128, 20 hex characters)."""
    scoped = f"{source or ''}\x1f{sentence_digest}".encode()
    return xxhash.xxh3_128_hexdigest(scoped)[:20]


def boilerplate(
    marks: Mapping[str, LineMark | None], event_ms: int, window_ms: int, min_articles: int
) -> frozenset[str]:
    """The keys of ``marks`` (sentence digests) that count as boilerplate at ``event_ms``."""
    if min_articles <= 0:
        return frozenset()
    return frozenset(
        digest
        for digest, mark in marks.items()
        if mark is not None
        and mark.articles >= min_articles
        and abs(event_ms - mark.event_ms) <= window_ms
    )


def next_mark(mark: LineMark | None, article: str, event_ms: int, window_ms: int) -> LineMark:
    """The mark after ``article`` carried the sentence at ``event_ms``.

    Mirrored by the line-update loop of ``scripts.CHECK_ARTICLE``.
    """
    if mark is None or abs(event_ms - mark.event_ms) > window_ms:
        return LineMark(article, 1, event_ms)
    articles = mark.articles + (mark.last_article != article)
    return LineMark(article, articles, max(mark.event_ms, event_ms))
