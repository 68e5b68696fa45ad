"""Score rules against hand labels: precision, recall and F1, with the mistakes listed.

A labels file is JSON Lines of ``{"article_id": …, "rule_id": …, "relevant": true|false}``.
Scores use the raw matches (did the rule fire on the article), over the articles the
run read; labels of articles outside the run are counted and left out. A match on an
article nobody labelled for that rule is neither right nor wrong: it is counted apart.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

from newsalert.backtest.report import ArmResult, LabelReport, RuleScore
from newsalert.errors import NewsalertError


class LabelsError(NewsalertError):
    """The labels file cannot be read."""


Labels = dict[tuple[str, str], bool]


def load_labels(path: Path) -> Labels:
    """``(article_id, rule_id) -> relevant`` from a JSONL file (a later line wins)."""
    labels: Labels = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelsError(f"cannot read labels {path}: {exc}") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            article_id, rule_id, relevant = item["article_id"], item["rule_id"], item["relevant"]
        except (ValueError, KeyError, TypeError) as exc:
            raise LabelsError(
                f'{path}:{number}: expected {{"article_id", "rule_id", "relevant"}}: {exc}'
            ) from exc
        if (
            not isinstance(relevant, bool)
            or not isinstance(article_id, str)
            or not isinstance(rule_id, str)
        ):
            raise LabelsError(
                f"{path}:{number}: article_id/rule_id must be strings, relevant a boolean"
            )
        labels[(article_id, rule_id)] = relevant
    return labels


def score(arm: ArmResult, labels: Labels, articles: set[str]) -> LabelReport:
    """Score every labelled rule of ``arm`` over the articles the run read."""
    fired = set(arm.matches)
    in_run = {key: value for key, value in labels.items() if key[0] in articles}
    unknown = sorted({rule_id for _, rule_id in in_run if rule_id not in arm.rules})
    by_rule: dict[str, list[tuple[str, bool]]] = defaultdict(list)
    for (article_id, rule_id), relevant in sorted(in_run.items()):
        if rule_id in arm.rules:
            by_rule[rule_id].append((article_id, relevant))
    unlabelled: Counter[str] = Counter(
        rule_id for article_id, rule_id in fired if (article_id, rule_id) not in in_run
    )
    scores: list[RuleScore] = []
    for rule_id in sorted(by_rule):
        true_positives = 0
        false_positives: list[str] = []
        misses: list[str] = []
        for article_id, relevant in by_rule[rule_id]:
            hit = (article_id, rule_id) in fired
            if hit and relevant:
                true_positives += 1
            elif hit:
                false_positives.append(article_id)
            elif relevant:
                misses.append(article_id)
        scores.append(
            RuleScore(rule_id, true_positives, false_positives, misses, unlabelled[rule_id])
        )
    return LabelReport(
        scores=scores,
        labels=len(labels),
        outside_run=len(labels) - len(in_run),
        unknown_rules=unknown,
    )
