"""The JSON report. Its first two keys are a contract other tools read:

``{"articles": N, "matches": [{"article_id": …, "rule_id": …}, …]}`` -- every raw match
before any dedupe, sorted by article id then rule id. Everything else is added.

:func:`to_json` gives the data (tuples stand for arrays), :func:`dumps` its UTF-8 text:
orjson writes the hundreds of thousands of rows of a dense run in one C call.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any

import orjson

from newsalert.backtest.alertlog import AlertLog, alert_rows
from newsalert.backtest.report import (
    AlertRecord,
    ArmResult,
    BacktestResult,
    Comparison,
    DiffExample,
    LabelReport,
    RuleReport,
)
from newsalert.backtest.samples import Sample
from newsalert.gcpause import paused_gc


class _Times:
    """Times as the report writes them, for one render: many alerts share their
    article's time, so each is formatted once (the zone is in the key: equal instants in
    two zones print apart)."""

    __slots__ = ("_written",)

    def __init__(self) -> None:
        self._written: dict[tuple[datetime, tzinfo | None], str] = {}

    def iso(self, value: datetime) -> str:
        key = (value, value.tzinfo)
        written = self._written.get(key)
        if written is None:
            written = self._written[key] = value.isoformat().replace("+00:00", "Z")
        return written

    def __call__(self, value: datetime | None) -> str | None:
        return self.iso(value) if value is not None else None


def _matches(arm: ArmResult) -> list[dict[str, str]]:
    return [{"article_id": article, "rule_id": rule} for article, rule in arm.matches]


def _sample(sample: Sample, time: _Times) -> dict[str, Any]:
    # Tuples are arrays to the encoder (dumps), so the marks are not copied into lists.
    return {
        "article_id": sample.article_id,
        "title": sample.title,
        "time": time(sample.time),
        "matched": sample.matched,
        "title_marks": sample.title_marks,
        "snippet": sample.snippet,
        "snippet_marks": sample.snippet_marks,
    }


def _rule(report: RuleReport, samples: list[Sample], time: _Times) -> dict[str, Any]:
    return {
        "rule_id": report.rule_id,
        "title": report.title,
        "tags": report.tags,
        "raw_matches": report.raw_matches,
        "alerts": report.alerts,
        "folded": report.folded,
        "first_hit": time(report.first_hit),
        "last_hit": time(report.last_hit),
        "samples": [_sample(sample, time) for sample in samples],
    }


def _arm(arm: ArmResult, sampled_rules: int | None, bulk: bool, time: _Times) -> dict[str, Any]:
    shown = arm.sampled_rules()[:sampled_rules]
    samples = arm.samples_of(report.rule_id for report in shown)
    data: dict[str, Any] = {
        "rules_file": arm.name,
        "compile_s": round(arm.compile_s, 4),
        "unindexed_rules": arm.unindexed,
        "rules": [
            _rule(report, samples.get(report.rule_id, []), time) for report in arm.rules.values()
        ],
        "never_fired": arm.never_fired(),
        "slowest_rules": [
            {
                "rule_id": t.rule_id,
                "evaluations": t.evaluations,
                "total_ms": round(t.total_s * 1000, 3),
                "mean_us": round(t.mean_us, 2),
            }
            for t in arm.slowest()
        ],
    }
    if bulk:
        data["alerts"] = _alerts(arm.alerts, time)
    if arm.verified is not None:
        data["verify"] = {
            "articles": arm.verified,
            "disagreements": [
                {"article_id": article, "rule_id": rule} for article, rule in arm.disagreements
            ],
        }
    return data


def _alerts(alerts: Sequence[AlertRecord], time: _Times) -> list[dict[str, Any]]:
    """One row per alert; from a run's log, straight from each article's sends (the
    article's fields once for all its alerts, no intermediate row)."""
    if not isinstance(alerts, AlertLog):
        return [
            {
                "alert_id": row.alert_id,
                "rule_id": row.rule_id,
                "story_id": row.story_id,
                "article_id": row.article_id,
                "title": row.title,
                "time": time.iso(row.time),
                "duplicates_folded": row.duplicates_folded,
            }
            for row in alert_rows(alerts)
        ]
    rows: list[dict[str, Any]] = []
    for batch in alerts.batches:
        article_id, title, story_id = batch.article.id, batch.article.title, batch.story_id
        at = time.iso(batch.time)
        rows += [
            {
                "alert_id": claim.alert_id,
                "rule_id": match.rule_id,
                "story_id": story_id,
                "article_id": article_id,
                "title": title,
                "time": at,
                "duplicates_folded": claim.duplicates_folded,
            }
            for match, claim in batch.sends
        ]
    return rows


def _example(example: DiffExample, time: _Times) -> dict[str, Any]:
    return {
        "article_id": example.article_id,
        "title": example.title,
        "story_id": example.story_id,
        "time": time(example.time),
    }


def _comparison(
    comparison: Comparison, other: ArmResult, sampled_rules: int | None, bulk: bool, time: _Times
) -> dict[str, Any]:
    return {
        **_arm(other, sampled_rules, bulk, time),
        **({"matches": _matches(other)} if bulk else {}),
        "totals": {
            "only_a": comparison.only_a,
            "only_b": comparison.only_b,
            "both": comparison.both,
        },
        "diff": [
            {
                "rule_id": diff.rule_id,
                "in_a": diff.in_a,
                "in_b": diff.in_b,
                "only_a": diff.only_a,
                "only_b": diff.only_b,
                "both": diff.both,
                "examples_a": [_example(e, time) for e in diff.examples_a],
                "examples_b": [_example(e, time) for e in diff.examples_b],
            }
            for diff in comparison.rules
        ],
    }


def _labels(report: LabelReport) -> dict[str, Any]:
    return {
        "labels": report.labels,
        "outside_run": report.outside_run,
        "unknown_rules": report.unknown_rules,
        "rules": [
            {
                "rule_id": s.rule_id,
                "precision": s.precision,
                "recall": s.recall,
                "f1": s.f1,
                "true_positives": s.true_positives,
                "false_positives": s.false_positives,
                "misses": s.misses,
                "unlabelled_matches": s.unlabelled_matches,
            }
            for s in report.scores
        ],
    }


def to_json(
    result: BacktestResult, *, sampled_rules: int | None = None, bulk: bool = True
) -> dict[str, Any]:
    """The whole report as JSON-ready data (contract keys first).

    ``sampled_rules`` limits the samples to that many rules, most alerts first (the
    HTML page shows no more); ``None`` gives every rule its samples. Without ``bulk``
    the per-match and per-alert lists (``matches``, ``alerts``) are left out.
    """
    # Up to millions of acyclic objects (rows of matches and alerts): built with the
    # collector paused (see newsalert.gcpause).
    with paused_gc():
        return _report(result, sampled_rules, bulk)


def _report(result: BacktestResult, sampled_rules: int | None, bulk: bool) -> dict[str, Any]:
    main = result.arms[0]
    time = _Times()
    data: dict[str, Any] = {"articles": result.articles}
    if bulk:
        data["matches"] = _matches(main)
    data.update(
        {
            "source": result.source,
            "records": result.records,
            "records_scanned": result.scanned,
            "invalid": result.invalid,
            "invalid_reasons": dict(result.invalid_reasons.most_common()),
            "invalid_examples": [
                {"where": where, "reason": reason} for where, reason in result.invalid_examples
            ],
            "duplicates": result.duplicates,
            "range": {
                "from": time(result.requested_from),
                "to": time(result.requested_to),
                "first_article": time(result.first_article),
                "last_article": time(result.last_article),
            },
            "elapsed_s": round(result.elapsed_s, 3),
            "records_per_s": round(result.rate, 1),
        }
    )
    data.update(_arm(main, sampled_rules, bulk, time))
    if result.comparison is not None and len(result.arms) > 1:
        data["compare"] = _comparison(result.comparison, result.arms[1], sampled_rules, bulk, time)
    if result.labels:
        data["labels"] = _labels(result.labels[0])
        if len(result.labels) > 1 and "compare" in data:
            data["compare"]["labels"] = _labels(result.labels[1])
    if result.delivered is not None:
        data["delivered"] = {"subscription": result.delivered_to, "alerts": result.delivered}
    return data


def dumps(data: dict[str, Any]) -> bytes:
    """``data`` (from :func:`to_json`) as compact UTF-8 JSON text, non-ASCII kept."""
    return orjson.dumps(data)
