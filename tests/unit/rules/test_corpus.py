"""On the real corpus: a few thousand generated rules, indexed == brute force everywhere."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from newsalert.models import Article
from newsalert.rules import Document
from newsalert.rules.evaluation.oracle import brute_force_match
from newsalert.rules.language.parse import Defaults, RuleParser
from newsalert.rules.language.problems import Problem
from newsalert.rules.ruleset import RuleSet
from tests.rule_generator import RuleGenerator, Vocabulary

pytestmark = pytest.mark.corpus

RULES = 2000
ORACLE_ARTICLES = 12


@pytest.fixture(scope="module")
def bbc(corpus_dir: Path) -> list[Article]:
    path = corpus_dir / "bbc.jsonl.gz"
    if not path.exists():
        pytest.skip(f"{path} absent")
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [Article.model_validate(json.loads(line)) for line in lines]


def test_generated_rules_indexed_equals_brute_force(bbc: list[Article]) -> None:
    raw = RuleGenerator(Vocabulary.of(bbc), seed=7).rules(RULES)
    problems: list[Problem] = []
    parser = RuleParser("<generated>", problems)
    parsed = [parser.rule(item, raw, i, Defaults()) for i, item in enumerate(raw)]
    assert problems == []
    rules = RuleSet(rule for rule in parsed if rule is not None)
    assert len(rules) == RULES
    compiled = rules.compile()
    total = 0
    for number, article in enumerate(bbc):
        doc = Document.from_article(article)
        indexed = compiled.match(doc)
        # Every article: the same checks on every rule, no pre-filter.
        assert indexed == compiled.match_without_index(Document.from_article(article)), article.id
        if number % (len(bbc) // ORACLE_ARTICLES) == 0:
            # A sample: the independent naive oracle (slow: scans tokens per term).
            assert indexed == brute_force_match(rules.rules, doc), article.id
        total += len(indexed)
    assert total > 100  # the generated rules really fire: the comparison is not vacuous


def test_seed_rule_fires_on_seed_article(corpus_dir: Path) -> None:
    seed = corpus_dir / "seed-article.json"
    if not seed.exists():
        pytest.skip(f"{seed} absent")
    from newsalert.config import parse_config_text

    config = parse_config_text(
        'version: 1\nrules:\n  - id: kr-summons-russia\n    all: ["ambassador summoned",'
        ' "military cooperation"]\n'
    )
    article = Article.model_validate(json.loads(seed.read_text(encoding="utf-8")))
    matches = config.rules.compile().match(Document.from_article(article))
    assert [m.rule_id for m in matches] == ["kr-summons-russia"]
    assert matches[0].matched == ("ambassador summoned", "military cooperation")
