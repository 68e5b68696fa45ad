"""``--compare`` over a Kafka time range: alerts only in A, only in B, in both."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsalert import constants
from newsalert.backtest.cli import app
from newsalert.settings import Settings
from tests.integration.test_backtest_kafka import RULES, T0, backtest_env, produce

pytestmark = pytest.mark.integration


RULES_EDITED = """
version: 1
rules:
  - id: port-news
    all: ["port"]
    none: ["harbour"]
  - id: berth-news
    all: ["berth", "alpha"]
"""


def test_cli_compare_over_a_topic_reports_the_added_and_removed_alerts(
    settings: Settings, tmp_path: Path
) -> None:
    topic = settings.topic(constants.TOPIC_ARTICLES)
    asyncio.run(produce(settings, topic))
    (tmp_path / "a.yaml").write_text(RULES)
    (tmp_path / "b.yaml").write_text(RULES_EDITED)
    start, end = T0 + timedelta(hours=2), T0 + timedelta(hours=8)
    result = CliRunner().invoke(
        app,
        [
            "--rules",
            str(tmp_path / "a.yaml"),
            "--compare",
            str(tmp_path / "b.yaml"),
            "--topic",
            constants.TOPIC_ARTICLES,
            "--from",
            start.isoformat(),
            "--to",
            end.isoformat(),
            "--format",
            "json",
        ],
        env=backtest_env(settings),
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    alerts_a = {(a["rule_id"], a["article_id"]) for a in report["alerts"]}
    alerts_b = {(a["rule_id"], a["article_id"]) for a in report["compare"]["alerts"]}
    diff = {d["rule_id"]: d for d in report["compare"]["diff"]}
    # The edit drops port-news on odd bulletins (they mention harbour pilots).
    odd = {a for r, a in alerts_a if r == "port-news" and int(a.split("-")[1]) % 2}
    assert odd  # the range holds odd bulletins
    assert diff["port-news"]["only_a"] == len(odd)
    assert {e["article_id"] for e in diff["port-news"]["examples_a"]} <= odd
    assert diff["port-news"]["only_b"] == 0
    assert diff["port-news"]["both"] == len({a for r, a in alerts_a if r == "port-news"} - odd)
    # harbour-news exists only in A; berth-news only in B (no bulletin 0 in the range).
    assert (diff["harbour-news"]["in_b"], diff["harbour-news"]["only_b"]) == (False, 0)
    assert diff["harbour-news"]["only_a"] == len({a for r, a in alerts_a if r == "harbour-news"})
    assert diff["berth-news"]["in_a"] is False
    assert diff["berth-news"]["only_b"] == len({a for r, a in alerts_b if r == "berth-news"})
    totals = report["compare"]["totals"]
    assert totals["only_a"] + totals["both"] == len(alerts_a)
    assert totals["only_b"] + totals["both"] == len(alerts_b)
