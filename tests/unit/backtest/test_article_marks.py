"""Samples of several rules explained on one article through one shared ArticleMarks
equal each rule's sample explained alone."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from newsalert.backtest.samples import ArticleMarks, sample_of
from newsalert.config import load_config
from newsalert.models import Article

T0 = datetime(2026, 3, 1, tzinfo=UTC)

RULES = """
version: 1
rules:
  - id: a
    all: [oil, "price*"]
  - id: b
    all: [oil]
    any: ['"crude oil"', opec]
  - id: c
    query: 'price* NEAR/3 oil'
  - id: d
    all: [opec]
    none: [oil]
    fields: [title]
"""


def test_shared_marks_equal_each_rule_alone(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(RULES)
    rules = list(load_config(tmp_path / "rules.yaml").rules)
    article = Article(
        id="x1",
        title="Oil prices climb as OPEC meets",
        body="Crude oil rose. The price of oil and priced-in gains; OPEC ministers said oil "
        "output would hold. " * 3,
    )
    shared = ArticleMarks(article)
    for rule in rules * 2:  # asked twice: the second time from the cache
        together = shared.sample(rule.positive_terms(), T0, ("m",))
        assert together == sample_of(rule, article, T0, ("m",))
    assert any(shared.sample(rule.positive_terms(), T0, ()).title_marks for rule in rules)
