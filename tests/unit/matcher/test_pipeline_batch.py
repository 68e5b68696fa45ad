"""ArticlePipeline.process_batch on MemoryDedupe: the alerts of a whole batch are those of
processing its articles one by one, also with copies of each other, lanes and an article
whose matching raises."""

from __future__ import annotations

from datetime import datetime

import pytest

from newsalert.config import parse_config_text
from newsalert.dedupe import MemoryDedupe
from newsalert.models import Article
from newsalert.pipeline.lanes import RepeatLanes
from newsalert.pipeline.step import ArticleOutcome, ArticlePipeline
from newsalert.rules import CompiledRules, Document, RuleMatch
from tests.unit.matcher.test_pipeline_copies import CONFIG, DAY, HOUR, T0, wire

STREAM = [
    wire("r-1", "Reuters", T0),
    wire("r-1", "Reuters", T0),  # a redelivery in the same batch
    wire("d-1", "dpa", T0 + HOUR),  # an exact copy from another outlet
    wire("a-1", "AP", T0 + 2 * HOUR, title="Port walkout"),  # a retitled copy
    wire("g-1", "dpa", T0 + 7 * HOUR, language="de"),  # past the 6 h lane
    wire("r-2", "Reuters", T0 + 25 * HOUR),  # past the default interval
]


def pipeline() -> ArticlePipeline:
    config = parse_config_text(CONFIG)
    compiled = config.rules.compile()
    subscriptions = config.subscriptions
    return ArticlePipeline(
        lambda: compiled, MemoryDedupe(), DAY, lanes=RepeatLanes(lambda: subscriptions)
    )


def shown(outcome: ArticleOutcome) -> tuple[object, ...]:
    return (
        outcome.article.id,
        outcome.duplicate,
        outcome.verdict.story_id,
        [
            (a.alert_id, a.rule.id, a.repeat_interval_ms, a.duplicates_folded)
            for a in outcome.alerts
        ],
        [(c.rule_id, c.lane, c.send) for c in outcome.claims],
    )


async def one_by_one(pipe: ArticlePipeline, articles: list[Article]) -> list[tuple[object, ...]]:
    out = []
    for art in articles:
        assert art.published_at is not None
        outcome = await pipe.process(art, art.published_at)
        await pipe.commit(outcome)
        out.append(shown(outcome))
    return out


def items(articles: list[Article]) -> list[tuple[Article, datetime]]:
    return [(art, art.published_at or T0) for art in articles]


@pytest.mark.parametrize("size", [1, 2, 3, len(STREAM)])
async def test_batches_alert_like_one_by_one(size: int) -> None:
    expected = await one_by_one(pipeline(), STREAM)
    assert any(alerts for *_, alerts, _ in expected[1:]), "copies must alert in some lane"
    pipe = pipeline()
    got = []
    for start in range(0, len(STREAM), size):
        outcomes = await pipe.process_batch(items(STREAM[start : start + size]))
        await pipe.commit_batch(outcomes)
        got += [shown(o) for o in outcomes]
    assert got == expected


async def test_a_failing_article_releases_the_whole_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bug while matching the last article: every mark the batch took is released (the
    copies were decided as folds of the first article's alert), so the retried batch
    alerts exactly as one by one processing does."""
    original = CompiledRules.match
    bugs = [1]

    def buggy(self: CompiledRules, document: Document) -> list[RuleMatch]:
        if document.id == "r-2" and bugs[0]:
            bugs[0] -= 1
            raise RuntimeError("injected: a bug while matching")
        return original(self, document)

    expected = await one_by_one(pipeline(), STREAM)
    monkeypatch.setattr(CompiledRules, "match", buggy)
    pipe = pipeline()
    with pytest.raises(RuntimeError, match="injected"):
        await pipe.process_batch(items(STREAM))
    outcomes = await pipe.process_batch(items(STREAM))
    await pipe.commit_batch(outcomes)
    assert [shown(o) for o in outcomes] == expected
