r"""Text normalisation shared by rules, documents and dedupe: tokens, stems, sentences.

Text is normalised before it is cut into tokens, for articles and rule keywords alike:
format characters (Unicode category Cf: zero-width space and joiners, soft hyphen, word
joiner, byte order mark, bidi controls) are removed, then the text is put in NFKC form
(full-width letters become ASCII, a letter followed by a combining accent becomes the
precomposed letter, ligatures are split). Invisible or look-alike characters thus cannot
keep a keyword from matching. ASCII text is already normal and is not touched.

A token is then a maximal run of Unicode letters and digits (``str.isalnum`` characters,
underscore excluded), case-folded with :meth:`str.casefold`. A run longer than
:data:`MAX_TOKEN_CHARS` keeps its position but becomes the empty token, which no keyword
or wildcard matches and no cache keeps (hashes, base64 blobs: never words, and a hostile
article could otherwise fill the caches with megabytes of them). Positions count every
token; there is no stop-word removal. Stems come from the Snowball English stemmer
(Porter2, PyStemmer) through a :class:`Stemmer`, which remembers them within a byte budget
because news vocabulary repeats heavily and a dict lookup costs far less than a stemmer
call. A stemmer belongs to whoever stems again and again (a config loader's parse caches,
an article pipeline); this module keeps no cache of its own.

Dedupe cuts the same text its own way (:func:`sentences`): NFKC without removing format
characters, case-folded as a whole, ``\w`` words (underscore included) per sentence. Its
words are what body hashes and fingerprints cover, so they stay as they are even where they
differ from the tokens (stored hashes and band keys of running systems depend on them).
"""

from __future__ import annotations

import itertools
import re
import sys
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Final

from Stemmer import Stemmer as _Snowball

from newsalert.sizedcache import SizedCache, text_bytes

#: Characters of the longest token that is matched and cached (after normalisation,
#: before case folding); longer runs of letters and digits become the empty token.
MAX_TOKEN_CHARS: Final = 128
#: Bytes the stems a :class:`Stemmer` remembers may hold.
STEM_CACHE_BYTES: Final = 32 * 1024 * 1024

_TOKEN: Final = re.compile(r"[^\W_]+")
# Group 1 is a token of at most MAX_TOKEN_CHARS characters; a longer run matches the
# second branch (possessive quantifiers: no backtracking).
_CAPPED_TOKEN: Final = re.compile(rf"([^\W_]{{1,{MAX_TOKEN_CHARS}}}+)(?![^\W_])|[^\W_]++")
# For ASCII text ``[^\W_]`` is exactly ``[A-Za-z0-9]`` and casefold is lower().
_ASCII_TOKEN: Final = re.compile(r"[a-z0-9]+")
_SEP: Final = "\x00"
# Hangul vowel and trailing consonant jamo compose with the syllable before them
# (algorithmically, so they are in no decomposition table).
_HANGUL_SECONDS: Final = (range(0x1161, 0x1176), range(0x11A8, 0x11C3))

#: One sentence of :func:`sentences`: its words in order.
Sentence = tuple[str, ...]

_SENTENCE_END: Final = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD: Final = re.compile(r"\w+")
_BREAK: Final = "\x00"
_SPACE: Final = re.compile(r"\s")
_NON_ASCII: Final = re.compile(r"[^\x00-\x7f]")
# ASCII fast path of ``sentences``: a line break becomes a sentence break, every other
# whitespace character a space, and (after ``.!?`` + space became breaks) every non-word
# character too, so ``str.split`` yields exactly the ``\w+`` runs.
_ASCII_BREAKS: Final = str.maketrans(
    {code: _BREAK if code == 10 else " " for code in range(128) if chr(code).isspace()}
    | {0: "\x01"}  # a NUL in the text is a word separator, not a break
)
_ASCII_NON_WORD: Final = str.maketrans(
    {code: " " for code in range(1, 128) if not (chr(code).isalnum() or chr(code) == "_")}
)

#: The format characters (Unicode category Cf) as inclusive code point ranges, for the
#: Unicode version of this Python (a test checks them against ``unicodedata``, so no
#: process scans every code point to find them).
FORMAT_RANGES: Final = (
    (0x00AD, 0x00AD), (0x0600, 0x0605), (0x061C, 0x061C), (0x06DD, 0x06DD),
    (0x070F, 0x070F), (0x0890, 0x0891), (0x08E2, 0x08E2), (0x180E, 0x180E),
    (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x2064), (0x2066, 0x206F),
    (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB), (0x110BD, 0x110BD), (0x110CD, 0x110CD),
    (0x13430, 0x13438), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
)  # fmt: skip


@lru_cache(maxsize=1)
def _format_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(every format character, a format character of the BMP or any astral character).

    The second is the quick test: a class of BMP ranges plus one astral range is
    matched faster than the exact class, whose astral ranges are checked one by one;
    texts it finds nothing in (nearly all) need no removal.
    """

    def char_class(spans: Iterable[tuple[int, int]]) -> str:
        return "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in spans)

    bmp = [(a, b) for a, b in FORMAT_RANGES if b <= 0xFFFF]
    return (
        re.compile(f"[{char_class(FORMAT_RANGES)}]"),
        re.compile(f"[{char_class([*bmp, (0x10000, sys.maxunicode)])}]"),
    )


def _format_characters() -> re.Pattern[str]:
    return _format_patterns()[0]


def normalize(text: str) -> str:
    """``text`` without format characters (Cf), in NFKC form (ASCII text unchanged).

    Format characters go first, so that one between a letter and its combining accent
    does not keep them from composing.
    """
    if text.isascii():
        return text
    every, quick = _format_patterns()
    if quick.search(text) is not None:
        text = every.sub("", text)
    return unicodedata.normalize("NFKC", text)


def tokenize(text: str) -> list[str]:
    """The case-folded tokens of normalised ``text`` in order (``"Anti-tank"`` -> ``anti``,
    ``tank``); a token longer than :data:`MAX_TOKEN_CHARS` is ``""``."""
    if text.isascii():
        # Most news text: lower-case once, then one regex pass yields the tokens.
        tokens = _ASCII_TOKEN.findall(text.lower())
        return tokens if len(text) <= MAX_TOKEN_CHARS else _capped(tokens)
    raw = _TOKEN.findall(normalize(text))
    if not raw:
        return []
    # One casefold call over the joined tokens instead of one per token; NUL is not a
    # token character and case-folds to itself, so the split is exact.
    return _capped(_SEP.join(raw).casefold().split(_SEP), raw)


def tokens_of_sentences(text: str, cut: Iterable[Sentence]) -> list[str] | None:
    """:func:`tokenize` of ``text`` taken from ``cut`` (its :func:`sentences`) when the two
    cuts agree, else ``None``.

    They agree on ASCII text without an underscore: both lower-case it (``casefold`` is
    ``lower`` on ASCII) and keep the runs of letters and digits, in order. Joining the
    sentences' words then saves a regular-expression pass over the text.
    """
    if not text.isascii() or "_" in text:
        return None
    tokens = list(itertools.chain.from_iterable(cut))
    return tokens if len(text) <= MAX_TOKEN_CHARS else _capped(tokens)


def _capped(tokens: list[str], raw: list[str] | None = None) -> list[str]:
    # The longest token is found at C speed; long ones are rare, so the list is
    # rebuilt only then. ``raw``: the tokens before case folding (which may lengthen).
    lengths = map(len, tokens if raw is None else raw)
    if not tokens or max(lengths) <= MAX_TOKEN_CHARS:
        return tokens
    before = tokens if raw is None else raw
    return [t if len(b) <= MAX_TOKEN_CHARS else "" for t, b in zip(tokens, before, strict=True)]


def token_spans(text: str) -> list[tuple[str, int, int]]:
    """``(token, start, end)`` for every token of :func:`tokenize`: character offsets
    into the original ``text`` (a token made of removed or rewritten characters spans
    the characters it came from)."""
    normal, starts, ends = _offset_map(text)
    spans = []
    for m in _CAPPED_TOKEN.finditer(normal):
        token = m.group(1)
        start, end = m.start(), m.end()
        if starts is not None and ends is not None:
            start, end = starts[start], ends[end - 1]
        spans.append((token.casefold() if token else "", start, end))
    return spans


def _offset_map(text: str) -> tuple[str, list[int] | None, list[int] | None]:
    """``normalize(text)`` and, per character of it, where it came from in ``text``.

    ``starts[i]``/``ends[i]``: the original span of the piece character ``i`` belongs
    to. The text is normalised piece by piece, cut before each character that nothing
    before it can compose or reorder with, so the pieces joined are the normal form of
    the whole. ``None`` maps: the text is ASCII and its own normal form.
    """
    if text.isascii():
        return text, None, None
    normal, starts, ends = normalized_pieces(text)
    whole = normalize(text)
    if normal != whole:  # not expected (tested); then every token spans the whole text
        return whole, [0] * len(whole), [len(text)] * len(whole)
    return normal, starts, ends


def normalized_pieces(text: str) -> tuple[str, list[int], list[int]]:
    """``text`` normalised piece by piece: (normal text, start and end of each character's
    piece in ``text``). Equal to :func:`normalize` (the pieces are cut where nothing can
    compose or reorder across the cut)."""
    formats = _format_characters()
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    piece: list[str] = []
    first = last = 0

    def flush() -> None:
        normal = unicodedata.normalize("NFKC", "".join(piece))
        pieces.append(normal)
        starts.extend([first] * len(normal))
        ends.extend([last + 1] * len(normal))

    for index, char in enumerate(text):
        if formats.match(char):
            continue
        if piece and _starts_piece(char):
            flush()
            piece = []
        if not piece:
            first = index
        piece.append(char)
        last = index
    if piece:
        flush()
    return "".join(pieces), starts, ends


def _starts_piece(char: str) -> bool:
    # A boundary before ``char`` when it is a starter that composes with nothing before
    # it and whose compatibility decomposition starts with such a starter too.
    return char not in _piece_continuations()


@lru_cache(maxsize=1)
def _piece_continuations() -> frozenset[str]:
    # The characters that do not start a piece (see _starts_piece): combining ones, the
    # second characters of compositions, and those whose compatibility decomposition
    # starts with either. A character without a decomposition is its own NFKD (Hangul
    # syllables decompose to a leading jamo, which starts a piece), so only characters
    # with one are normalised. Built once, on the first non-ASCII text cut into spans.
    seconds = _composition_seconds()
    found = set(seconds)
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if unicodedata.combining(char):
            found.add(char)
        elif unicodedata.decomposition(char):
            head = unicodedata.normalize("NFKD", char)[:1]
            if unicodedata.combining(head) or head in seconds:
                found.add(char)
    return frozenset(found)


@lru_cache(maxsize=1)
def _composition_seconds() -> frozenset[str]:
    # Every character that is the second of a two-character canonical decomposition
    # (a superset of what composes with a preceding character), and the Hangul jamo.
    found = {chr(code) for block in _HANGUL_SECONDS for code in block}
    for code in range(sys.maxunicode + 1):
        decomposition = unicodedata.decomposition(chr(code))
        if decomposition and not decomposition.startswith("<"):
            parts = decomposition.split()
            if len(parts) == 2:
                found.add(chr(int(parts[1], 16)))
    return frozenset(found)


class Stemmer:
    """Snowball English stems of case-folded tokens, remembered up to a byte budget.

    Emptying the memory (when the budget would be passed) changes speed, never a stem,
    so a fresh stemmer gives the same stems as a long-lived one. Stems are interned:
    equal stems are then one object, so the index's dict and set probes succeed on
    identity without comparing characters (fewer cache misses). Not locked: threads
    sharing one may stem a token twice, never wrongly.
    """

    __slots__ = ("_memory", "_snowball")

    def __init__(self, budget: int = STEM_CACHE_BYTES) -> None:
        self._snowball = _Snowball("english")
        self._memory: SizedCache[str, str] = SizedCache(budget)

    @property
    def used(self) -> int:
        """Estimated bytes of the stems remembered now."""
        return self._memory.used

    def stem(self, token: str) -> str:
        """The stem of one case-folded token."""
        found = self._memory.get(token)
        if found is None:
            found = sys.intern(self._snowball.stemWord(token))
            # A stem is no longer than its token.
            self._memory.put(token, found, 2 * text_bytes(token))
        return found

    def stems(self, tokens: Iterable[str]) -> list[str]:
        """The stems of ``tokens`` in order."""
        tokens = list(tokens)
        try:
            return list(map(self._memory.__getitem__, tokens))
        except KeyError:
            return [self.stem(token) for token in tokens]


def sentences(text: str) -> list[Sentence]:
    r"""The sentences of ``text`` as word tuples (NFKC, casefolded); empty ones dropped.

    A sentence ends at whitespace after ``.``, ``!`` or ``?`` and at a line break; words
    are ``\w+`` runs. ASCII text (NFKC leaves it unchanged) takes an exact fast path of
    ``str`` methods instead of two regular expressions.
    """
    folded = (text if text.isascii() else unicodedata.normalize("NFKC", text)).casefold()
    if not folded.isascii():
        folded = _ascii_stand_ins(folded)
    if folded.isascii():
        marked = folded.translate(_ASCII_BREAKS)
        # The space after an end mark becomes the break; the mark itself is then a
        # non-word character like any other (a same-length replace is the cheap one).
        for end in ".!?":
            if end + " " in marked:
                marked = marked.replace(end + " ", end + _BREAK)
        parts = marked.translate(_ASCII_NON_WORD).split(_BREAK)
        return list(filter(None, map(tuple, map(str.split, parts))))
    return [tuple(words) for part in _SENTENCE_END.split(folded) if (words := _WORD.findall(part))]


def _ascii_stand_ins(folded: str) -> str:
    r"""``folded`` with each non-ASCII character that is no ``\w`` character replaced by an
    ASCII one the sentence and word rules treat alike: a space for whitespace, a comma for
    anything else (``£``, ``€``, curly quotes, dashes). Then news text with no non-ASCII
    letter takes the ASCII path of :func:`sentences`; text with one is returned unchanged.
    """
    for char in set(_NON_ASCII.findall(folded)):
        if _WORD.match(char):
            return folded
        folded = folded.replace(char, " " if _SPACE.match(char) else ",")
    return folded


def is_token(text: str) -> bool:
    """True when ``text`` is exactly one token (letters and digits only)."""
    return _TOKEN.fullmatch(text) is not None
