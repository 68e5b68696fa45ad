"""The backtest clamps event times as the live matcher does, so both decide alike.

An article dated in the year 9999 or the year 1, followed by a copy of it from another
outlet dated now: clamped (live), the first article sits within the story window of the
copy, which folds into its alert; unclamped, the copy is a story of its own and alerts
again. The live side below is what the matcher does with each record: the event time
from :func:`bounded_event_time` around its clock, then the shared pipeline.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsalert.backtest.engine import Arm, BacktestOptions, run_backtest
from newsalert.backtest.records import FileSource
from newsalert.config import parse_config_text
from newsalert.dedupe.contract import DedupeConfig
from newsalert.dedupe.memory import MemoryDedupe
from newsalert.models import Article
from newsalert.pipeline.eventtime import EventTimeBounds, bounded_event_time, marked_clamped
from newsalert.pipeline.step import ArticlePipeline

RULES = """
version: 1
rules:
  - id: port-strike
    query: '"port strike"'
"""
BOUNDS = EventTimeBounds(max_future=timedelta(hours=1), max_past=timedelta(hours=1))
BODY = "Dock workers walked out at dawn; the port strike halted every container terminal."


def _articles(odd_time: str) -> list[dict[str, str]]:
    now = datetime.now(UTC).isoformat()
    return [
        {"id": "odd", "source": "wire-a", "title": "Port strike", "body": BODY,
         "published_at": odd_time},
        {"id": "copy", "source": "wire-b", "title": "Port strike", "body": BODY,
         "published_at": now},
    ]  # fmt: skip


async def _live(articles: list[dict[str, str]]) -> list[tuple[str, str, bool]]:
    compiled = parse_config_text(RULES).rules.compile()
    pipeline = ArticlePipeline(
        rules=lambda: compiled,
        dedupe=MemoryDedupe(DedupeConfig()),
        repeat_interval=DedupeConfig().repeat_interval,
    )
    decided: list[tuple[str, str, bool]] = []
    for raw in articles:
        article = Article.model_validate(raw)
        event_time, clamped = bounded_event_time(article, None, datetime.now(UTC), BOUNDS)
        outcome = await pipeline.process(article, event_time)
        await pipeline.commit(outcome)
        if clamped:
            outcome.alerts = marked_clamped(outcome.alerts)
        decided += [(a.alert_id, a.article.id, a.event_time_clamped) for a in outcome.alerts]
    return decided


async def _backtest(tmp_path: Path, articles: list[dict[str, str]]) -> list[tuple[str, str, bool]]:
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(a) + "\n" for a in articles), encoding="utf-8")
    options = BacktestOptions(event_time_bounds=BOUNDS)
    arm = Arm("A", parse_config_text(RULES), options)
    await run_backtest(FileSource([path]), [arm], options)
    return [(r.alert.alert_id, r.alert.article.id, r.alert.event_time_clamped) for r in arm.alerts]


@pytest.mark.parametrize("odd_time", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"])
async def test_backtest_and_live_agree_on_articles_dated_far_away(
    tmp_path: Path, odd_time: str
) -> None:
    articles = _articles(odd_time)
    live = await _live(articles)
    # One alert, from the odd article, marked clamped; the copy folded into it.
    assert [(article_id, clamped) for _, article_id, clamped in live] == [("odd", True)]
    assert await _backtest(tmp_path, articles) == live
