"""``--compare`` diffs and ``--labels`` scores on a hand-checked case."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsalert.backtest.compare import compare
from newsalert.backtest.engine import Arm, BacktestOptions, run_backtest
from newsalert.backtest.labels import LabelsError, load_labels, score
from newsalert.backtest.records import FileSource
from newsalert.backtest.report import BacktestResult
from newsalert.config import parse_config_text
from tests.unit.backtest.corpus import ARTICLES, RULES_A, RULES_B, write_jsonl
from tests.unit.backtest.test_engine import ENV


async def both(tmp_path: Path) -> BacktestResult:
    path = write_jsonl(tmp_path / "in.jsonl", ARTICLES)
    options = BacktestOptions()
    arms = [
        Arm("A", parse_config_text(RULES_A, ENV), options),
        Arm("B", parse_config_text(RULES_B, ENV), options),
    ]
    return await run_backtest(FileSource([path]), arms, options)


async def test_compare_reports_exactly_the_added_and_removed_alerts(tmp_path: Path) -> None:
    result = await both(tmp_path)
    diff = {d.rule_id: d for d in compare(result.arms[0], result.arms[1]).rules}
    assert set(diff) == {"port-strike", "rates", "volcano", "floods"}
    assert (diff["port-strike"].only_a, diff["port-strike"].only_b, diff["port-strike"].both) == (
        1,
        0,
        1,
    )
    assert [e.article_id for e in diff["port-strike"].examples_a] == ["a1"]
    assert (diff["rates"].only_a, diff["rates"].only_b, diff["rates"].both) == (0, 1, 1)
    assert [e.article_id for e in diff["rates"].examples_b] == ["a5"]
    assert (diff["floods"].only_b, diff["floods"].in_a, diff["floods"].in_b) == (1, False, True)
    assert (diff["volcano"].only_a, diff["volcano"].in_b, diff["volcano"].changed) == (
        0,
        False,
        True,
    )
    totals = compare(result.arms[0], result.arms[1])
    assert (totals.only_a, totals.only_b, totals.both) == (1, 2, 2)


async def test_compare_of_a_rule_set_with_itself_changes_nothing(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", ARTICLES)
    options = BacktestOptions()
    arms = [Arm(n, parse_config_text(RULES_A, ENV), options) for n in ("A", "A2")]
    result = await run_backtest(FileSource([path]), arms, options)
    comparison = compare(result.arms[0], result.arms[1])
    assert comparison.only_a == comparison.only_b == 0
    assert comparison.both == len(result.arms[0].alerts) == 3
    assert not any(d.changed for d in comparison.rules)


LABELS = [
    {"article_id": "a1", "rule_id": "port-strike", "relevant": True},
    {"article_id": "a4", "rule_id": "port-strike", "relevant": True},
    {"article_id": "a7", "rule_id": "port-strike", "relevant": False},
    {"article_id": "a2", "rule_id": "rates", "relevant": True},
    {"article_id": "a3", "rule_id": "rates", "relevant": False},
    {"article_id": "a5", "rule_id": "rates", "relevant": True},
    {"article_id": "zz", "rule_id": "rates", "relevant": True},
    {"article_id": "a6", "rule_id": "nosuch", "relevant": True},
]


async def test_labels_precision_recall_f1_by_hand(tmp_path: Path) -> None:
    result = await both(tmp_path)
    labels_path = write_jsonl(tmp_path / "labels.jsonl", LABELS)
    labels = load_labels(labels_path)
    report = score(result.arms[0], labels, result.article_ids)
    scores = {s.rule_id: s for s in report.scores}
    assert (report.labels, report.outside_run, report.unknown_rules) == (8, 1, ["nosuch"])
    strike = scores["port-strike"]
    assert (strike.precision, strike.recall, strike.f1) == (1.0, 1.0, 1.0)
    rates = scores["rates"]
    # TP a2; FP a3 (the copy was judged irrelevant); miss a5 (A's rule needs "central").
    assert (rates.true_positives, rates.false_positives, rates.misses) == (1, ["a3"], ["a5"])
    assert (rates.precision, rates.recall, rates.f1) == (0.5, 0.5, 0.5)
    b = {s.rule_id: s for s in score(result.arms[1], labels, result.article_ids).scores}
    # B: port-strike misses a1 (walkout); rates fires on a2, a3, a5 -> TP 2, FP 1, no miss.
    assert (b["port-strike"].precision, b["port-strike"].recall) == (1.0, 0.5)
    assert b["port-strike"].f1 == pytest.approx(2 / 3)
    assert (b["rates"].precision, b["rates"].recall) == (pytest.approx(2 / 3), 1.0)


def test_unlabelled_matches_are_counted_apart(tmp_path: Path) -> None:
    from newsalert.backtest.report import ArmResult

    arm = ArmResult("A", {"r": None}, [("x", "r"), ("y", "r")], [], [])  # type: ignore[dict-item]
    report = score(arm, {("x", "r"): True}, {"x", "y"})
    assert report.scores[0].unlabelled_matches == 1
    assert report.scores[0].precision == 1.0


@pytest.mark.parametrize(
    "line",
    [
        '{"article_id": "a", "rule_id": "r"}',
        '{"article_id": "a", "rule_id": "r", "relevant": "yes"}',
        "nope",
    ],
)
def test_bad_label_lines_are_rejected_with_their_line(tmp_path: Path, line: str) -> None:
    path = tmp_path / "labels.jsonl"
    path.write_text(json.dumps(LABELS[0]) + "\n" + line + "\n")
    with pytest.raises(LabelsError, match=":2:"):
        load_labels(path)
