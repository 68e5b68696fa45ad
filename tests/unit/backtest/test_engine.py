"""The backtest engine over the live pipeline: raw matches, alerts, folds, hits, invalid input."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from newsalert.backtest.engine import Arm, BacktestOptions, run_backtest
from newsalert.backtest.records import FileSource
from newsalert.backtest.render_json import to_json
from newsalert.config import parse_config_text
from newsalert.models import alert_id
from tests.unit.backtest.corpus import ARTICLES, RULES_A, RULES_B, write_jsonl

ENV = {
    "BACKTEST_TEST_URL": "http://127.0.0.1:9",
    "BACKTEST_TEST_SECRET": "whsec_dGVzdHNlY3JldHRlc3Q=",
}


async def run(tmp_path: Path, rules: str = RULES_A, extra: tuple[str, ...] = ()) -> dict:
    path = write_jsonl(tmp_path / "in.jsonl", ARTICLES, extra)
    options = BacktestOptions()
    arm = Arm("A", parse_config_text(rules, ENV), options)
    result = await run_backtest(FileSource([path]), [arm], options)
    return to_json(result)


async def test_raw_matches_include_exact_copies_and_are_sorted(tmp_path: Path) -> None:
    report = await run(tmp_path)
    assert report["articles"] == len(ARTICLES)
    assert report["matches"] == [
        {"article_id": "a1", "rule_id": "port-strike"},
        {"article_id": "a2", "rule_id": "rates"},
        {"article_id": "a3", "rule_id": "rates"},
        {"article_id": "a4", "rule_id": "port-strike"},
    ]
    assert list(report)[:2] == ["articles", "matches"]


async def test_alerts_after_dedupe_and_folds_per_rule(tmp_path: Path) -> None:
    report = await run(tmp_path)
    rules = {r["rule_id"]: r for r in report["rules"]}
    assert (rules["rates"]["raw_matches"], rules["rates"]["alerts"], rules["rates"]["folded"]) == (
        2,
        1,
        1,
    )
    assert (rules["port-strike"]["raw_matches"], rules["port-strike"]["alerts"]) == (2, 2)
    assert rules["port-strike"]["first_hit"] == "2026-11-20T08:00:00Z"
    assert rules["port-strike"]["last_hit"] == "2026-11-20T10:00:00Z"
    assert (
        rules["rates"]["last_hit"] == "2026-11-20T09:05:00Z"
    )  # the folded copy still counts as a hit
    assert report["never_fired"] == ["volcano"]
    assert report["duplicates"] == 1
    alerts = {(a["rule_id"], a["article_id"]) for a in report["alerts"]}
    assert alerts == {("port-strike", "a1"), ("rates", "a2"), ("port-strike", "a4")}
    for alert in report["alerts"]:
        assert alert["alert_id"] == alert_id(alert["rule_id"], alert["story_id"])


async def test_samples_mark_the_matched_words(tmp_path: Path) -> None:
    report = await run(tmp_path)
    rates = next(r for r in report["rules"] if r["rule_id"] == "rates")
    sample = rates["samples"][0]
    marked = [sample["title"][s:e] for s, e in sample["title_marks"]]
    assert marked == ["Central bank raises rates"]
    strike = next(r for r in report["rules"] if r["rule_id"] == "port-strike")
    first = strike["samples"][0]
    assert [first["title"][s:e] for s, e in first["title_marks"]] == ["port"]
    assert "walkout" in [first["snippet"][s:e] for s, e in first["snippet_marks"]]


async def test_invalid_records_are_counted_with_reasons(tmp_path: Path) -> None:
    report = await run(tmp_path, extra=("not json", '{"title": "no id"}', "[1, 2]"))
    assert report["records"] == len(ARTICLES) + 3
    assert report["invalid"] == 3
    assert report["articles"] == len(ARTICLES)
    assert sum(report["invalid_reasons"].values()) == 3
    assert [e["where"].rsplit(":", 1)[1] for e in report["invalid_examples"]] == ["8", "9", "10"]


async def test_range_covered_is_article_time(tmp_path: Path) -> None:
    report = await run(tmp_path)
    assert report["range"]["first_article"] == "2026-11-20T08:00:00Z"
    assert report["range"]["last_article"] == "2026-11-20T13:00:00Z"


async def test_other_rule_set_sees_other_alerts(tmp_path: Path) -> None:
    report = await run(tmp_path, rules=RULES_B)
    assert {(m["article_id"], m["rule_id"]) for m in report["matches"]} == {
        ("a2", "rates"),
        ("a3", "rates"),
        ("a4", "port-strike"),
        ("a5", "rates"),
        ("a6", "floods"),
    }


async def test_slowest_rules_are_the_compiled_checks_of_the_production_path(
    tmp_path: Path,
) -> None:
    # "slowest rules" times what matching really runs: the compiled checks of the rules
    # the index cannot decide in bulk (NEAR over a phrase), not the exact rules.
    path = write_jsonl(tmp_path / "in.jsonl", ARTICLES)
    rules = RULES_A.replace(
        "subscriptions:",
        "  - id: near-rates\n    query: '\"central bank\" NEAR/6 (raises OR cuts)'\nsubscriptions:",
    )
    options = BacktestOptions(profile_every=1)
    arm = Arm("A", parse_config_text(rules, ENV), options)
    result = await run_backtest(FileSource([path]), [arm], options)
    slowest = result.arms[0].slowest()
    timed = {t.rule_id for t in slowest}
    assert "near-rates" in timed
    assert "port-strike" not in timed  # decided in bulk by the index: no check of its own
    assert all(t.evaluations >= 1 and t.total_s > 0 for t in slowest)
    assert "near-rates" in {m[1] for m in result.arms[0].matches}
    assert result.arms[0].verified is None


async def test_verify_checks_the_index_against_the_brute_force_evaluator(
    tmp_path: Path,
) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", ARTICLES)
    options = BacktestOptions(profile_every=1, verify=True)
    arm = Arm("A", parse_config_text(RULES_A, ENV), options)
    result = await run_backtest(FileSource([path]), [arm], options)
    assert result.arms[0].verified == len(ARTICLES)
    assert result.arms[0].disagreements == []
    report = to_json(result)
    assert report["verify"] == {"articles": len(ARTICLES), "disagreements": []}


def test_article_without_time_uses_now(tmp_path: Path) -> None:
    import asyncio

    before = datetime.now(tz=UTC)
    path = write_jsonl(
        tmp_path / "in.jsonl", [{"id": "x", "title": "Port strike", "body": "port strike"}]
    )
    options = BacktestOptions()
    arm = Arm("A", parse_config_text(RULES_A, ENV), options)
    result = asyncio.run(run_backtest(FileSource([path]), [arm], options))
    assert result.first_article is not None
    assert result.first_article >= before
