"""Memos of rule parsing, owned by whoever parses again and again.

Parsing is a pure function of the text (and of a rule's window and fields), and a big
rule file repeats the same words, keywords and queries many times; a reload repeats
nearly every rule. A :class:`ParseCaches` remembers them and the stems of their words,
bounded by bytes (emptying a cache changes speed, never results), and equal keywords
then also share one immutable :class:`~newsalert.rules.language.model.Term`. It belongs
to an owner whose lifetime is clear: a config loader keeps one across its loads; a parse
given none uses a fresh one, so no result depends on what was parsed before.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

from newsalert.rules.language.model import Node, Rule, Term, Word
from newsalert.sizedcache import CachePool, SizedCache
from newsalert.text import Stemmer

#: Bytes each cache may hold before it is emptied (bounds memory, not correctness).
CACHE_BYTES = 64 * 1024 * 1024
#: Bytes of valid rules kept (by mapping repr and defaults) before that cache is
#: emptied; a rule is estimated at a few times its repr.
RULE_CACHE_BYTES = 256 * 1024 * 1024
#: Distinct (window, fields) settings kept before a cache starts over.
_SETTINGS_LIMIT = 64

_Parsed = TypeVar("_Parsed")


class SettingsCache(Generic[_Parsed]):
    """A parse cache whose results depend on a rule's ``window`` and ``fields``: one
    text -> result cache per (window, fields) in use, all within one byte budget."""

    def __init__(self, budget: int = CACHE_BYTES) -> None:
        self._pool: CachePool[_Parsed] = CachePool(budget)
        self._buckets: dict[tuple[int, tuple[str, ...]], SizedCache[str, _Parsed]] = {}

    def bucket(self, window: int, fields: tuple[str, ...]) -> SizedCache[str, _Parsed]:
        """The text -> result cache for rules with ``window`` and ``fields``."""
        key = (window, fields)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= _SETTINGS_LIMIT:
                self._pool.drop()
                self._buckets.clear()
            bucket = self._buckets[key] = self._pool.cache()
        return bucket


class ParseCaches:
    """Everything one owner's parses remember (see the module docstring)."""

    __slots__ = (
        "chunks",
        "fields",
        "keywords",
        "queries",
        "query_terms",
        "rules",
        "stemmer",
        "words",
    )

    def __init__(self, budget: int = CACHE_BYTES, rule_budget: int = RULE_CACHE_BYTES) -> None:
        #: Normalised word -> :class:`Word` (one object per word).
        self.words: SizedCache[str, Word] = SizedCache(budget)
        #: Whitespace-free chunk as written -> its words.
        self.chunks: SizedCache[str, tuple[Word, ...]] = SizedCache(budget)
        #: Keyword as written -> :class:`Term`, per (window, fields).
        self.keywords: SettingsCache[Term] = SettingsCache(budget)
        #: Query string -> its tree, per (window, fields).
        self.queries: SettingsCache[Node] = SettingsCache(budget)
        #: Query term as written (quotes and field prefix included) -> :class:`Term`.
        self.query_terms: SettingsCache[Term] = SettingsCache(budget)
        #: (rule mapping's repr, the parser's defaults) -> the valid :class:`Rule` it gave.
        self.rules: SizedCache[tuple[str, Hashable], Rule] = SizedCache(rule_budget)
        #: One tuple object per distinct ``fields`` value: rules and terms share it.
        self.fields: dict[tuple[str, ...], tuple[str, ...]] = {}
        #: Stems of the keywords' tokens.
        self.stemmer = Stemmer()
