"""Generate realistic, reproducible rule sets from a corpus (benchmarks, corpus tests).

Shapes follow the Luwak/Manticore percolator benchmarks and media-monitoring saved
searches: 2-5 keyword groups, phrases taken from real bigrams, window keywords, some
NOT/``none``, wildcards, ``query:`` strings with OR groups and NEAR/n, field restrictions.
A share of the rules (``anchored``, default 10 %) draws its words from one random article
so that it matches something; the rest draw from the whole vocabulary. The same seed
and corpus give the same rules.

``common`` draws the free (not anchored) rules' words from the corpus's ``common`` most
frequent content words instead of the whole vocabulary: the rules then match as often as
a busy newsroom's watch list does (alerts on most articles, growing with the rule count),
which is the load the live pipeline's benchmarks need.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from newsalert.models import Article
from newsalert.text import tokenize


@dataclass(frozen=True)
class Vocabulary:
    """Words and bigrams of a corpus, without the most frequent (stop) words."""

    words: tuple[str, ...]
    long_words: tuple[str, ...]
    doc_words: tuple[tuple[str, ...], ...]
    doc_bigrams: tuple[tuple[str, ...], ...]
    #: ``words`` ordered by how many articles hold them, most frequent first.
    by_frequency: tuple[str, ...] = ()

    @classmethod
    def of(cls, articles: Iterable[Article], *, stop_top: int = 400) -> Vocabulary:
        """Build from ``articles``: words in >= 2 articles, minus the ``stop_top`` commonest.

        Saved searches are written with content words; the commonest few hundred words
        of news ("said", "year", "despite", "including") are left out.
        """
        docs = [tokenize(f"{a.title} {a.body}") for a in articles]
        frequency: Counter[str] = Counter()
        for tokens in docs:
            frequency.update(set(tokens))
        stop = {word for word, _ in frequency.most_common(stop_top)}

        def good(word: str) -> bool:
            return word not in stop and len(word) > 2 and not word.isdigit()

        words = tuple(sorted(w for w, n in frequency.items() if n >= 2 and good(w)))
        doc_words = tuple(tuple(sorted({t for t in tokens if good(t)})) for tokens in docs)
        doc_bigrams = tuple(
            tuple(sorted({f"{a} {b}" for a, b in pairwise(t) if good(a) and good(b)})) for t in docs
        )
        long_words = tuple(w for w in words if len(w) >= 6)
        by_frequency = tuple(sorted(words, key=lambda w: (-frequency[w], w)))
        return cls(words, long_words, doc_words, doc_bigrams, by_frequency)


class RuleGenerator:
    """Seeded generator of rule mappings (the YAML shape of one rule)."""

    def __init__(
        self,
        vocabulary: Vocabulary,
        seed: int = 42,
        anchored: float = 0.1,
        *,
        common: int | None = None,
    ) -> None:
        self.vocab = vocabulary
        self.anchored = anchored
        self.random = random.Random(seed)
        self._free_words: Sequence[str] = (
            vocabulary.by_frequency[:common] if common else vocabulary.words
        )
        self._source: tuple[Sequence[str], Sequence[str]] = ((), ())
        self.shapes: list[Callable[[], dict[str, Any]]] = [
            self._all_words,
            self._phrase_any,
            self._all_any_none,
            self._window_keyword,
            self._nested,
            self._wildcard,
            self._query_boolean,
            self._query_near,
        ]

    def _pick_source(self) -> tuple[Sequence[str], Sequence[str]]:
        # A share of rules is built around one real article so that they surely match
        # something; the others combine words of the whole vocabulary.
        r = self.random
        if r.random() < self.anchored:
            index = r.randrange(len(self.vocab.doc_words))
            words: Sequence[str] = self.vocab.doc_words[index] or self.vocab.words
            bigrams: Sequence[str] = self.vocab.doc_bigrams[index]
        else:
            words = self._free_words
            bigrams = ()
        if not bigrams:
            bigrams = (f"{r.choice(words)} {r.choice(words)}",)
        return words, bigrams

    def _words(self, n: int) -> list[str]:
        words = self._source[0]
        if len(words) <= n:
            return [self.random.choice(words) for _ in range(n)]
        return self.random.sample(words, n)

    def _phrase(self) -> str:
        return self.random.choice(self._source[1])

    def _all_words(self) -> dict[str, Any]:
        return {"all": self._words(self.random.randint(2, 4))}

    def _phrase_any(self) -> dict[str, Any]:
        return {"all": [f'"{self._phrase()}"'], "any": self._words(self.random.randint(1, 3))}

    def _all_any_none(self) -> dict[str, Any]:
        return {
            "all": self._words(2),
            "any": self._words(self.random.randint(2, 3)),
            "none": [self.random.choice(self.vocab.words)],
        }

    def _window_keyword(self) -> dict[str, Any]:
        return {"all": [" ".join(self._words(2)), *self._words(1)]}

    def _nested(self) -> dict[str, Any]:
        return {
            "all": [
                *self._words(1),
                {"any": self._words(2)},
                {"any": [*self._words(1), f'"{self._phrase()}"']},
            ],
            "none": [self.random.choice(self.vocab.words)],
        }

    def _wildcard(self) -> dict[str, Any]:
        words = self._source[0]
        word = max((self.random.choice(words) for _ in range(4)), key=len)
        if len(word) < 6:
            word = self.random.choice(self.vocab.long_words)
        prefix = word[: self.random.randint(5, min(len(word), 8))]
        return {"all": [f"{prefix}*", *self._words(1)]}

    def _query_boolean(self) -> dict[str, Any]:
        a, b, c = self._words(3)
        return {"query": f'({a} OR {b}) AND "{self._phrase()}" NOT {c}'}

    def _query_near(self) -> dict[str, Any]:
        a, b, c = self._words(3)
        return {"query": f"{a} NEAR/{self.random.randint(2, 10)} ({b} OR {c})"}

    def rule(self, number: int) -> dict[str, Any]:
        """One rule mapping with id ``g<number>``."""
        r = self.random
        self._source = self._pick_source()
        body = r.choice(self.shapes)()
        rule: dict[str, Any] = {"id": f"g{number:06d}", **body}
        if r.random() < 0.05:
            rule["fields"] = ["title"]
        if r.random() < 0.05:
            rule["languages"] = ["en"]
        if r.random() < 0.1:
            rule["tags"] = [r.choice(["markets", "politics", "tech", "sport"])]
        return rule

    def rules(self, count: int) -> list[dict[str, Any]]:
        """``count`` rule mappings."""
        return [self.rule(i) for i in range(count)]


#: Stop words and word pool of :func:`dense_generator` (about 2 matches per Reuters or
#: BBC article at 1,000 rules, growing in proportion with the rule count).
DENSE_STOP_TOP = 150
DENSE_COMMON = 300


def dense_generator(articles: Iterable[Article], seed: int = 42) -> RuleGenerator:
    """A generator whose rules match often: the alert volume of a busy watch list."""
    vocabulary = Vocabulary.of(articles, stop_top=DENSE_STOP_TOP)
    return RuleGenerator(vocabulary, seed=seed, common=DENSE_COMMON)
