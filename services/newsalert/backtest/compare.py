"""Diff two rule sets' alerts over the same articles: only in A, only in B, in both.

Both arms read the same articles through their own dedupe namespace, and story ids
do not depend on the rules, so an alert is identified across the arms by rule id,
story id and its rank among that (rule, story)'s alerts (repeat windows).
"""

from __future__ import annotations

from collections import defaultdict

from newsalert.backtest.report import AlertRecord, ArmResult, Comparison, DiffExample, RuleDiff

MAX_EXAMPLES = 5


def _example(record: AlertRecord) -> DiffExample:
    return DiffExample(
        article_id=record.alert.article.id,
        title=record.alert.article.title,
        story_id=record.alert.story_id,
        time=record.time,
    )


def compare(a: ArmResult, b: ArmResult, *, examples: int = MAX_EXAMPLES) -> Comparison:
    """Per rule id: alerts only ``a`` sends, only ``b`` sends, and both send."""
    keyed_a = {record.key: record for record in a.alerts}
    keyed_b = {record.key: record for record in b.alerts}
    diffs: dict[str, RuleDiff] = {}
    for rule_id in sorted(a.rules.keys() | b.rules.keys()):
        diffs[rule_id] = RuleDiff(rule_id, in_a=rule_id in a.rules, in_b=rule_id in b.rules)
    only_a: dict[str, list[AlertRecord]] = defaultdict(list)
    only_b: dict[str, list[AlertRecord]] = defaultdict(list)
    for key, record in keyed_a.items():
        if key in keyed_b:
            diffs[key[0]].both += 1
        else:
            only_a[key[0]].append(record)
    for key, record in keyed_b.items():
        if key not in keyed_a:
            only_b[key[0]].append(record)
    for rule_id, records in only_a.items():
        diffs[rule_id].only_a = len(records)
        ordered = sorted(records, key=lambda r: (r.time, r.alert.article.id))
        diffs[rule_id].examples_a = [_example(r) for r in ordered[:examples]]
    for rule_id, records in only_b.items():
        diffs[rule_id].only_b = len(records)
        ordered = sorted(records, key=lambda r: (r.time, r.alert.article.id))
        diffs[rule_id].examples_b = [_example(r) for r in ordered[:examples]]
    return Comparison(rules=list(diffs.values()))
