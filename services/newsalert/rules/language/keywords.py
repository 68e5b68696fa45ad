"""Parse one keyword string (``summoned``, ``ambassador summoned``, ``"a b"``, ``summon*``).

Parsing is a pure function of its arguments, and a 100,000-rule file repeats the same
words and keywords many times, so parsed words and keywords are kept in the caller's
:class:`~newsalert.rules.language.caches.ParseCaches`: equal keywords then also share
one immutable :class:`Term`.
Words are normalised as article text is (:func:`newsalert.text.normalize`), wildcard
prefixes included; a word longer than the token limit is an error (it could never match).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from newsalert.errors import NewsalertError
from newsalert.rules.language.caches import ParseCaches, SettingsCache
from newsalert.rules.language.limits import MAX_TERM_WORDS, shown
from newsalert.rules.language.model import Term, TermMode, Word
from newsalert.sizedcache import ENTRY_OVERHEAD, SizedCache, text_bytes
from newsalert.text import MAX_TOKEN_CHARS, is_token, normalize, tokenize

#: Characters a wildcard needs before its ``*``.
MIN_PREFIX = 3
#: Estimated bytes of a parsed word or term beyond its text (objects, tuples).
_PARSED_BYTES = 200


class KeywordError(NewsalertError):
    """A keyword string cannot be parsed; the message is the one-line reason."""


_Parsed = TypeVar("_Parsed")


def _word(value: str, words: SizedCache[str, Word]) -> Word:
    word = words.get(value)
    if word is None:
        word = words.put(value, Word(value), text_bytes(value) + _PARSED_BYTES)
    return word


def _chunk_words(chunk: str, caches: ParseCaches) -> tuple[Word, ...]:
    chunk = normalize(chunk)
    if len(chunk) > MAX_TOKEN_CHARS and max(map(len, chunk.split("*"))) > MAX_TOKEN_CHARS:
        raise KeywordError(
            f"{shown(chunk)}: a word longer than {MAX_TOKEN_CHARS} characters never matches"
        )
    if "*" in chunk:
        prefix = chunk[:-1]
        if not chunk.endswith("*") or "*" in prefix:
            raise KeywordError(f"{shown(chunk)}: '*' is only allowed at the end of a word")
        if not is_token(prefix):
            raise KeywordError(f"{shown(chunk)}: a wildcard must be one word of letters and digits")
        if len(prefix) < MIN_PREFIX:
            raise KeywordError(
                f"{shown(chunk)}: a wildcard needs at least {MIN_PREFIX} characters before '*'"
            )
        return (Word(prefix.casefold(), prefix=True),)
    tokens = tokenize(chunk)
    if "" in tokens:
        raise KeywordError(
            f"{shown(chunk)}: a word longer than {MAX_TOKEN_CHARS} characters never matches"
        )
    return tuple(_word(value, caches.words) for value in caches.stemmer.stems(tokens))


def chunk_words(chunk: str, caches: ParseCaches) -> tuple[Word, ...]:
    """The words of one whitespace-free chunk: a wildcard, or its tokens' stems (cached)."""
    words = caches.chunks.get(chunk)
    if words is None:
        words = _chunk_words(chunk, caches)
        size = text_bytes(chunk) + _PARSED_BYTES + ENTRY_OVERHEAD * len(words)
        caches.chunks.put(chunk, words, size)
    return words


def parse_words(chunk: str, caches: ParseCaches) -> list[Word]:
    """The words of one whitespace-free chunk: a wildcard, or its tokens' stems."""
    return list(chunk_words(chunk, caches))


def make_term(
    text: str, words: Sequence[Word], *, quoted: bool, window: int, fields: tuple[str, ...]
) -> Term:
    """A term of ``words``: one word, a phrase (``quoted``) or a window keyword."""
    if not words:
        raise KeywordError(f"{shown(text)} contains no word (letters or digits)")
    if len(words) > MAX_TERM_WORDS:
        raise KeywordError(
            f"{shown(text)} has {len(words):,} words, more than the limit ({MAX_TERM_WORDS})"
        )
    mode: TermMode = "word" if len(words) == 1 else ("phrase" if quoted else "window")
    return Term(words=tuple(words), mode=mode, window=window, fields=fields, text=text)


def _parse_keyword(text: str, window: int, fields: tuple[str, ...], caches: ParseCaches) -> Term:
    stripped = text.strip()
    if not stripped:
        raise KeywordError("empty keyword")
    quoted = len(stripped) >= 2 and stripped[0] == stripped[-1] == '"'
    inner = stripped[1:-1] if quoted else stripped
    if '"' in inner:
        raise KeywordError(f"{shown(text)}: double quotes must enclose the whole keyword")
    chunks = inner.split()
    if len(chunks) == 1:
        words: Sequence[Word] = chunk_words(chunks[0], caches)
    else:
        words = [word for chunk in chunks for word in chunk_words(chunk, caches)]
    return make_term(text, words, quoted=quoted, window=window, fields=fields)


def keyword_terms(
    window: int, fields: tuple[str, ...], caches: ParseCaches
) -> SizedCache[str, Term]:
    """The cache of parsed keywords for ``window``/``fields``: text -> :class:`Term`.

    A parser of many rules fetches it once per rule and looks keywords up directly;
    a miss goes through :func:`parse_keyword`, which fills it. Read-only for callers.
    """
    return settings_bucket(caches.keywords, window, fields)


def settings_bucket(
    cache: SettingsCache[_Parsed], window: int, fields: tuple[str, ...]
) -> SizedCache[str, _Parsed]:
    """The text -> result cache of ``cache`` for rules with ``window`` and ``fields``."""
    return cache.bucket(window, fields)


def term_bytes(text: str) -> int:
    """The estimated bytes of a cache entry from ``text`` to a parsed term or tree."""
    return text_bytes(text) + _PARSED_BYTES


def parse_keyword(
    text: str, *, window: int, fields: tuple[str, ...], caches: ParseCaches | None = None
) -> Term:
    """Parse a keyword as written in ``all``/``any``/``none``.

    Unquoted words must all occur within ``window`` tokens, in any order; a keyword
    wrapped in double quotes is a phrase. Wildcards (``word*``) may appear anywhere.
    ``caches``: the caller's memo (``None``: a fresh one).
    """
    caches = ParseCaches() if caches is None else caches
    terms = keyword_terms(window, fields, caches)
    term = terms.get(text)
    if term is None:
        term = terms.put(text, _parse_keyword(text, window, fields, caches), term_bytes(text))
    return term
