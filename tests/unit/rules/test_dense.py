"""At dense match rates (hundreds of rules firing per document), indexed == oracle.

The corpus is generated text drawn from a small word pool, so the dense rule generator's
rules fire many times per document: every shape of exact rule, the match cache's hits
and misses, the per-language filter, and verified rules all meet on one document.
"""

from __future__ import annotations

import random

from newsalert.models import Article
from newsalert.rules import Document
from newsalert.rules.evaluation.oracle import brute_force_match
from newsalert.rules.language.parse import Defaults, RuleParser
from newsalert.rules.language.problems import Problem
from newsalert.rules.ruleset import RuleSet
from tests.rule_generator import dense_generator

RULES = 600
ARTICLES = 12

_SYLLABLES = ("ka", "lo", "mi", "ren", "sto", "vad", "quo", "tel", "bri", "nor", "pes", "dun")


def _corpus(seed: int) -> list[Article]:
    chance = random.Random(seed)
    pool = sorted({"".join(chance.choices(_SYLLABLES, k=3)) for _ in range(500)})
    # Zipf-like: a few stop words, then the common words the dense rules draw from.
    weights = [1 / (rank + 1) ** 0.7 for rank in range(len(pool))]
    articles = []
    for number in range(ARTICLES):
        words = chance.choices(pool, weights, k=chance.randint(120, 300))
        articles.append(
            Article(
                id=f"a{number}",
                title=" ".join(words[:6]),
                body=" ".join(words[6:]),
                # Some documents are refused by the rules restricted to English.
                language=chance.choice(["en", "en", "de", None]),
            )
        )
    return articles


def test_dense_matches_equal_the_oracle() -> None:
    articles = _corpus(3)
    raw = dense_generator(articles, seed=11).rules(RULES)
    for item in raw[::3]:
        item["languages"] = ["en"]
    problems: list[Problem] = []
    parser = RuleParser("<generated>", problems)
    parsed = [parser.rule(item, raw, i, Defaults()) for i, item in enumerate(raw)]
    assert problems == []
    rules = RuleSet(rule for rule in parsed if rule is not None)
    compiled = rules.compile()
    total = refused = 0
    # Twice: the second pass answers from the match cache the first one filled.
    for _ in range(2):
        for article in articles:
            doc = Document.from_article(article)
            indexed = compiled.match(doc)
            assert indexed == brute_force_match(rules.rules, doc), article.id
            total += len(indexed)
            if doc.language != "en":
                english = article.model_copy(update={"language": "en"})
                refused += len(compiled.match(Document.from_article(english))) - len(indexed)
    # Dense indeed (not a vacuous comparison), with the language filter exercised.
    assert total >= 8 * 2 * ARTICLES
    assert refused > 0
