"""The backtest decides articles in batches, as the live matcher does: the same report.

The reference is the live pipeline driven one article at a time (``process`` then
``commit``), over a sample with exact copies under other ids, redelivered records, near
copies, copies past the repeat window and articles matching many rules at once; batches
of every size must give its alerts, and the same report whatever the batch size.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from newsalert.backtest.engine import Arm, BacktestOptions, run_backtest
from newsalert.backtest.records import FileSource
from newsalert.backtest.render_json import dumps, to_json
from newsalert.config import Config, parse_config_text
from newsalert.models import Article
from newsalert.pipeline.eventtime import EventTimeBounds
from newsalert.pipeline.lanes import RepeatLanes
from newsalert.pipeline.step import ArticlePipeline
from tests.unit.backtest.corpus import ARTICLES, RULES_DENSE, sample_with_copies, write_jsonl

ENV = {
    "BACKTEST_TEST_URL": "http://127.0.0.1:9",
    "BACKTEST_TEST_SECRET": "whsec_dGVzdHNlY3JldHRlc3Q=",
}


#: The sample's times are used as they are, however long ago they are when the test runs.
WIDE = EventTimeBounds(timedelta(days=1), timedelta(days=36500))

#: Report fields that are measurements of the run, not what it decided.
VOLATILE = ("elapsed_s", "records_per_s", "compile_s", "slowest_rules")


def _options(config: Config, *, lanes: bool) -> BacktestOptions:
    return BacktestOptions(
        repeat_interval=timedelta(hours=6),
        profile_every=0,
        subscriptions=(config.subscriptions[0],) if lanes else (),
        event_time_bounds=WIDE,
    )


async def _report(path: Path, *, batch_size: int, lanes: bool) -> dict[str, Any]:
    config = parse_config_text(RULES_DENSE, ENV)
    options = _options(config, lanes=lanes)
    arm = Arm("A", config, options)
    result = await run_backtest(FileSource([path]), [arm], options, batch_size=batch_size)
    data: dict[str, Any] = json.loads(dumps(to_json(result)))
    for key in VOLATILE:
        data.pop(key)
    return data


async def _one_at_a_time(items: list[dict[str, Any]], *, lanes: bool) -> list[tuple[Any, ...]]:
    """The alerts the live pipeline sends deciding and committing each article in turn."""
    config = parse_config_text(RULES_DENSE, ENV)
    options = _options(config, lanes=lanes)
    arm = Arm("reference", config, options)  # its compiled rules and empty dedupe store
    subscriptions = options.subscriptions
    pipeline = ArticlePipeline(
        rules=lambda: arm.compiled,
        dedupe=arm.dedupe,
        repeat_interval=options.repeat_interval,
        lanes=RepeatLanes(lambda: subscriptions) if lanes else None,
    )
    sent = []
    for item in items:
        article_ = Article.model_validate(item)
        assert article_.published_at is not None
        outcome = await pipeline.process(article_, article_.published_at)
        await pipeline.commit(outcome)
        sent += [
            (a.alert_id, a.rule.id, a.story_id, a.article.id, a.duplicates_folded)
            for a in outcome.alerts
        ]
    return sent


@pytest.mark.parametrize("lanes", [False, True], ids=["default-lane", "subscription-lanes"])
async def test_batches_send_the_alerts_of_one_article_at_a_time(
    tmp_path: Path, lanes: bool
) -> None:
    items = sample_with_copies()
    path = write_jsonl(tmp_path / "in.jsonl", items)
    expected = await _one_at_a_time(items, lanes=lanes)
    assert len(expected) > len(items)  # articles match several rules
    assert len({alert[2] for alert in expected}) < len(items)  # copies share stories
    for batch_size in (1, 3, 256):
        report = await _report(path, batch_size=batch_size, lanes=lanes)
        got = [
            (a["alert_id"], a["rule_id"], a["story_id"], a["article_id"], a["duplicates_folded"])
            for a in report["alerts"]
        ]
        assert got == expected, f"batch size {batch_size}"
        assert report["duplicates"] > 0


@pytest.mark.parametrize("lanes", [False, True], ids=["default-lane", "subscription-lanes"])
async def test_the_report_does_not_depend_on_the_batch_size(tmp_path: Path, lanes: bool) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", sample_with_copies())
    single = await _report(path, batch_size=1, lanes=lanes)
    assert single["alerts"]
    assert single["never_fired"] == ["never"]
    for batch_size in (2, 7, 256):
        assert await _report(path, batch_size=batch_size, lanes=lanes) == single


GOLDEN = Path(__file__).with_name("report_golden.json")


async def test_the_json_report_is_the_one_it_always_was(tmp_path: Path) -> None:
    # GOLDEN was written by the engine that fed the pipeline one article at a time and
    # built an Alert record per alert (standard json module), on this very input. No near
    # copies: which of those join a story is the fingerprint's tuning, not the engine's.
    items = [*ARTICLES, *sample_with_copies(near=False)]
    path = write_jsonl(tmp_path / "in.jsonl", items)
    config = parse_config_text(RULES_DENSE, ENV)
    options = BacktestOptions(profile_every=0, event_time_bounds=WIDE)
    result = await run_backtest(FileSource([path]), [Arm("A", config, options)], options)
    data = json.loads(dumps(to_json(result)))
    for key in (*VOLATILE, "source", "rules_file"):
        data.pop(key)
    assert data == json.loads(GOLDEN.read_text(encoding="utf-8"))
