"""Caches fed by article text and rule text are bounded by bytes, not by entries."""

from __future__ import annotations

import random
import tracemalloc

import pytest

from newsalert.rules import Document
from newsalert.rules.indexing import dockeys
from newsalert.rules.language.caches import ParseCaches
from newsalert.rules.language.keywords import parse_keyword
from newsalert.sizedcache import CachePool, SizedCache, text_bytes
from newsalert.text import MAX_TOKEN_CHARS, Stemmer
from tests.unit.rules.helpers import ruleset

RULES = ruleset(
    """
    version: 1
    rules:
      - {id: a, all: ['"port strike"', dock*]}
      - {id: b, query: 'envoy NEAR/2 (summoned OR recalled)'}
    """
)


def unique_tokens(rng: random.Random, count: int, size: int) -> str:
    """``count`` random tokens of ``size`` letters and digits (hex), space-separated."""
    digits = rng.randbytes(count * size // 2 + 1).hex()
    return " ".join(digits[i * size : (i + 1) * size] for i in range(count))


def test_a_sized_cache_empties_itself_before_passing_its_budget() -> None:
    cache: SizedCache[str, str] = SizedCache(budget=1000)
    for number in range(100):
        key = f"key{number}"
        cache.put(key, key, 2 * text_bytes(key))
        assert cache.used <= cache.budget
        assert cache[key] == key
    cache.put("huge", "x", 2000)  # bigger than the budget: not kept
    assert "huge" not in cache


def test_caches_of_a_pool_share_its_budget() -> None:
    pool: CachePool[int] = CachePool(budget=1000)
    first, second = pool.cache(), pool.cache()
    for number in range(50):
        first.put(f"a{number}", number, 30)
        second.put(f"b{number}", number, 30)
        assert pool.used <= 1000
        assert first.used + second.used == pool.used


def test_articles_of_long_unique_tokens_leave_nothing_in_the_caches() -> None:
    # Sixty 0.9 MB articles whose tokens are all unique and over the token cap.
    compiled = RULES.compile()
    rng = random.Random(7)
    bodies = [
        unique_tokens(rng, 900_000 // 1001, 1000) + " port strike at the docks" for _ in range(61)
    ]
    stemmer = Stemmer()  # the articles' one stemmer, as a pipeline's
    # learns the few real words
    compiled.match(Document.from_text(body=bodies.pop(), stemmer=stemmer))
    stems_before = stemmer.used
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for body in bodies:
            doc = Document.from_text(body=body, stemmer=stemmer)
            assert [m.rule_id for m in compiled.match(doc)] == ["a"]
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # One shared empty token for all of them: nothing is kept per article.
    assert kept < 1_000_000, f"{kept:,} bytes kept after 60 articles"
    assert stemmer.used == stems_before
    assert compiled._keys.table.bytes < 1_000_000


def test_the_token_table_and_stem_cache_stay_within_their_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    budget = 256 * 1024
    monkeypatch.setattr(dockeys, "_TABLE_BYTES", budget)
    stemmer = Stemmer(budget)
    compiled = RULES.compile()
    rng = random.Random(11)
    tables = set()
    for _ in range(20):
        body = unique_tokens(rng, 2000, MAX_TOKEN_CHARS) + " the envoy was recalled"
        doc = Document.from_text(body=body, stemmer=stemmer)
        assert [m.rule_id for m in compiled.match(doc)] == ["b"]
        table = compiled._keys.table
        tables.add(id(table))
        # A table may pass its budget by the tokens of one article, never more.
        assert table.bytes < budget + 2000 * 2 * (MAX_TOKEN_CHARS + 300)
        assert stemmer.used <= budget
    assert len(tables) > 1, "the table never started over"
    assert stemmer.stem("recalled") == "recal"


def test_parse_caches_are_bounded_by_bytes() -> None:
    caches = ParseCaches(budget=50_000)
    rng = random.Random(3)
    for window in range(1, 6):
        for _ in range(200):
            keyword = unique_tokens(rng, 2, 100)
            term = parse_keyword(keyword, window=window, fields=("body",), caches=caches)
            assert term.window == window
    assert caches.keywords._pool.used <= 50_000
    assert caches.chunks.used <= 50_000
    assert caches.words.used <= 50_000
