"""Text normalisation shared by rules and documents: tokens, case folding, stems.

A token is a maximal run of Unicode letters and digits (``str.isalnum`` characters,
underscore excluded), case-folded with :meth:`str.casefold`. Positions count every token;
there is no stop-word removal. Stems come from the Snowball English stemmer (Porter2,
PyStemmer) behind a process-wide cache, because news vocabulary repeats heavily and a
dict lookup is several times cheaper than a stemmer call.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from typing import Final

import Stemmer

_TOKEN: Final = re.compile(r"[^\W_]+")
# For ASCII text ``[^\W_]`` is exactly ``[A-Za-z0-9]`` and casefold is lower().
_ASCII_TOKEN: Final = re.compile(r"[a-z0-9]+")
_SEP: Final = "\x00"
_CACHE_LIMIT: Final = 500_000

_stemmer = Stemmer.Stemmer("english")
_stem_cache: dict[str, str] = {}


def tokenize(text: str) -> list[str]:
    """The case-folded tokens of ``text`` in order (``"Anti-tank"`` -> ``anti``, ``tank``)."""
    if text.isascii():
        # Most news text: lower-case once, then one regex pass yields the tokens.
        return _ASCII_TOKEN.findall(text.lower())
    raw = _TOKEN.findall(text)
    if not raw:
        return []
    # One casefold call over the joined tokens instead of one per token; NUL is not a
    # token character and case-folds to itself, so the split is exact.
    return _SEP.join(raw).casefold().split(_SEP)


def token_spans(text: str) -> list[tuple[str, int, int]]:
    """``(token, start, end)`` for every token: character offsets into ``text``."""
    return [(m.group().casefold(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def stem(token: str) -> str:
    """The Snowball English stem of one case-folded token."""
    cached = _stem_cache.get(token)
    if cached is None:
        if len(_stem_cache) >= _CACHE_LIMIT:
            _stem_cache.clear()
        # Interned: equal stems are then one object, so the index's dict and set probes
        # succeed on identity without comparing characters (fewer cache misses).
        cached = sys.intern(_stemmer.stemWord(token))
        _stem_cache[token] = cached
    return cached


def stems(tokens: Iterable[str]) -> list[str]:
    """The stems of ``tokens`` in order (cached)."""
    tokens = list(tokens)
    try:
        return list(map(_stem_cache.__getitem__, tokens))
    except KeyError:
        return [stem(token) for token in tokens]


def is_token(text: str) -> bool:
    """True when ``text`` is exactly one token (letters and digits only)."""
    return _TOKEN.fullmatch(text) is not None
