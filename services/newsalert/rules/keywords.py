"""Parse one keyword string (``summoned``, ``ambassador summoned``, ``"a b"``, ``summon*``).

Parsing is a pure function of its arguments, and a 100,000-rule file repeats the same
words and keywords many times, so parsed words and keywords are kept in bounded
process-wide caches: equal keywords then also share one immutable :class:`Term`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from newsalert.errors import NewsalertError
from newsalert.rules.model import Term, TermMode, Word
from newsalert.text import is_token, stems, tokenize

#: Characters a wildcard needs before its ``*``.
MIN_PREFIX = 3
#: Entries each cache holds before it is emptied (bounds memory, not correctness).
CACHE_LIMIT = 300_000

_chunk_cache: dict[str, tuple[Word, ...]] = {}
_word_cache: dict[str, Word] = {}
_Parsed = TypeVar("_Parsed")
#: Parse caches whose results depend on a rule's ``window`` and ``fields``: one small
#: text -> result dict per (window, fields) in use.
SettingsCache = dict[tuple[int, tuple[str, ...]], dict[str, _Parsed]]
#: Distinct (window, fields) settings kept before a cache starts over.
_SETTINGS_LIMIT = 64
_keyword_cache: SettingsCache[Term] = {}


class KeywordError(NewsalertError):
    """A keyword string cannot be parsed; the message is the one-line reason."""


def _word(value: str) -> Word:
    word = _word_cache.get(value)
    if word is None:
        if len(_word_cache) >= CACHE_LIMIT:
            _word_cache.clear()
        word = _word_cache[value] = Word(value)
    return word


def _chunk_words(chunk: str) -> tuple[Word, ...]:
    if "*" in chunk:
        prefix = chunk[:-1]
        if not chunk.endswith("*") or "*" in prefix:
            raise KeywordError(f"{chunk!r}: '*' is only allowed at the end of a word")
        if not is_token(prefix):
            raise KeywordError(f"{chunk!r}: a wildcard must be one word of letters and digits")
        if len(prefix) < MIN_PREFIX:
            raise KeywordError(
                f"{chunk!r}: a wildcard needs at least {MIN_PREFIX} characters before '*'"
            )
        return (Word(prefix.casefold(), prefix=True),)
    return tuple(map(_word, stems(tokenize(chunk))))


def chunk_words(chunk: str) -> tuple[Word, ...]:
    """The words of one whitespace-free chunk: a wildcard, or its tokens' stems (cached)."""
    words = _chunk_cache.get(chunk)
    if words is None:
        words = _chunk_words(chunk)
        if len(_chunk_cache) >= CACHE_LIMIT:
            _chunk_cache.clear()
        _chunk_cache[chunk] = words
    return words


def parse_words(chunk: str) -> list[Word]:
    """The words of one whitespace-free chunk: a wildcard, or its tokens' stems."""
    return list(chunk_words(chunk))


def make_term(
    text: str, words: Sequence[Word], *, quoted: bool, window: int, fields: tuple[str, ...]
) -> Term:
    """A term of ``words``: one word, a phrase (``quoted``) or a window keyword."""
    if not words:
        raise KeywordError(f"{text!r} contains no word (letters or digits)")
    mode: TermMode = "word" if len(words) == 1 else ("phrase" if quoted else "window")
    return Term(words=tuple(words), mode=mode, window=window, fields=fields, text=text)


def _parse_keyword(text: str, window: int, fields: tuple[str, ...]) -> Term:
    stripped = text.strip()
    if not stripped:
        raise KeywordError("empty keyword")
    quoted = len(stripped) >= 2 and stripped[0] == stripped[-1] == '"'
    inner = stripped[1:-1] if quoted else stripped
    if '"' in inner:
        raise KeywordError(f"{text!r}: double quotes must enclose the whole keyword")
    chunks = inner.split()
    if len(chunks) == 1:
        words: Sequence[Word] = chunk_words(chunks[0])
    else:
        words = [word for chunk in chunks for word in chunk_words(chunk)]
    return make_term(text, words, quoted=quoted, window=window, fields=fields)


def keyword_terms(window: int, fields: tuple[str, ...]) -> dict[str, Term]:
    """The cache of parsed keywords for ``window``/``fields``: text -> :class:`Term`.

    A parser of many rules fetches it once per rule and looks keywords up directly;
    a miss goes through :func:`parse_keyword`, which fills it. Read-only for callers.
    """
    return settings_bucket(_keyword_cache, window, fields)


def settings_bucket(
    cache: SettingsCache[_Parsed], window: int, fields: tuple[str, ...]
) -> dict[str, _Parsed]:
    """The text -> result dict of ``cache`` for rules with ``window`` and ``fields``."""
    key = (window, fields)
    bucket = cache.get(key)
    if bucket is None:
        if len(cache) >= _SETTINGS_LIMIT:
            cache.clear()
        bucket = cache[key] = {}
    return bucket


def parse_keyword(text: str, *, window: int, fields: tuple[str, ...]) -> Term:
    """Parse a keyword as written in ``all``/``any``/``none``.

    Unquoted words must all occur within ``window`` tokens, in any order; a keyword
    wrapped in double quotes is a phrase. Wildcards (``word*``) may appear anywhere.
    """
    terms = keyword_terms(window, fields)
    term = terms.get(text)
    if term is None:
        term = _parse_keyword(text, window, fields)
        if len(terms) >= CACHE_LIMIT:
            terms.clear()
        terms[text] = term
    return term
