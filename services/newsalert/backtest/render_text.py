"""The terminal report: totals, a per-rule table, samples, silent and slow rules, diff, scores."""

from __future__ import annotations

from datetime import datetime

from newsalert.backtest.report import ArmResult, BacktestResult, Comparison, LabelReport
from newsalert.backtest.samples import marked

BOLD_ON, BOLD_OFF = "\x1b[1;33m", "\x1b[0m"
PLAIN_ON, PLAIN_OFF = "[", "]"
MAX_RULE_ROWS = 50


def _t(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"


def _pct(value: float | None) -> str:
    return "  -  " if value is None else f"{value:5.2f}"


def render_text(result: BacktestResult, *, color: bool = False, all_rules: bool = False) -> str:
    """The report as text; ``color`` uses ANSI bold for highlighted terms."""
    on, off = (BOLD_ON, BOLD_OFF) if color else (PLAIN_ON, PLAIN_OFF)
    out: list[str] = []
    main = result.arms[0]
    out.append(f"backtest of {main.name} over {result.source}")
    span = f"{_t(result.first_article)} .. {_t(result.last_article)}"
    if result.requested_from is not None:
        span += f"  (requested {_t(result.requested_from)} .. {_t(result.requested_to)})"
    out.append(
        f"  articles {result.articles:,}  invalid {result.invalid:,}  "
        f"exact duplicates {result.duplicates:,}  records {result.records:,}"
    )
    if result.scanned is not None:
        out.append(
            f"  records fetched from the topic {result.scanned:,} (in range {result.records:,})"
        )
    out.append(f"  article time {span}")
    out.append(
        f"  {result.elapsed_s:.2f}s, {result.rate:,.0f} records/s, "
        f"{len(main.rules):,} rules compiled in {main.compile_s:.2f}s"
    )
    for reason, count in result.invalid_reasons.most_common(5):
        out.append(f"  invalid: {count:,} x {reason}")
    out.extend(_rules_table(main, all_rules))
    out.extend(_samples(main, on, off))
    silent = main.never_fired()
    out.append("")
    out.append(f"rules that never fired ({len(silent)}):")
    if silent:
        shown = silent if all_rules else silent[:MAX_RULE_ROWS]
        out.append("  " + ", ".join(shown) + (" …" if len(shown) < len(silent) else ""))
    slowest = main.slowest()
    if slowest:
        out.append("")
        out.append("slowest rules (sampled time of their compiled checks, each rule alone):")
        for timing in slowest:
            out.append(
                f"  {timing.rule_id:<32} {timing.mean_us:9.1f} us/eval  "
                f"{timing.evaluations:6d} evals  {timing.total_s * 1000:8.2f} ms"
            )
    if main.verified is not None:
        out.append("")
        out.append(
            f"verify: {main.verified:,} articles checked against the brute-force evaluator, "
            f"{len(main.disagreements)} disagreements"
        )
        for article, rule in main.disagreements[:MAX_RULE_ROWS]:
            out.append(f"  article {article}, rule {rule}")
    if result.comparison is not None and len(result.arms) > 1:
        out.extend(_comparison(result.comparison, main.name, result.arms[1].name))
    for arm, report in zip(result.arms, result.labels, strict=False):
        out.extend(_labels(report, arm.name))
    if result.delivered is not None:
        out.append("")
        out.append(f"delivered {result.delivered} alerts for subscription {result.delivered_to}")
    return "\n".join(out) + "\n"


def _rules_table(arm: ArmResult, all_rules: bool) -> list[str]:
    fired = [r for r in arm.rules.values() if r.raw_matches]
    fired.sort(key=lambda r: (-r.alerts, -r.raw_matches, r.rule_id))
    shown = fired if all_rules else fired[:MAX_RULE_ROWS]
    out = [
        "",
        f"{'rule':<32} {'matches':>8} {'alerts':>7} {'folded':>7}  first hit         last hit",
    ]
    for report in shown:
        out.append(
            f"{report.rule_id:<32} {report.raw_matches:8,d} {report.alerts:7,d} "
            f"{report.folded:7,d}  {_t(report.first_hit):<17} {_t(report.last_hit)}"
        )
    if len(shown) < len(fired):
        out.append(f"… {len(fired) - len(shown)} more rules fired (--all-rules lists them)")
    return out


def _samples(arm: ArmResult, on: str, off: str) -> list[str]:
    out = ["", "samples:"]
    shown = arm.sampled_rules()[:MAX_RULE_ROWS]
    samples = arm.samples_of(report.rule_id for report in shown)
    for report in shown:
        out.append(f"  {report.rule_id}")
        for sample in samples[report.rule_id]:
            title = marked(sample.title, sample.title_marks, on, off)
            out.append(f"    {_t(sample.time)}  {title}")
            if sample.snippet and not sample.title_marks:
                out.append(f"      {marked(sample.snippet, sample.snippet_marks, on, off)}")
    return out


def _comparison(comparison: Comparison, name_a: str, name_b: str) -> list[str]:
    out = [
        "",
        f"compare: A = {name_a}, B = {name_b}",
        f"  alerts only in A {comparison.only_a:,}  only in B {comparison.only_b:,}  "
        f"in both {comparison.both:,}",
    ]
    changed = [d for d in comparison.rules if d.changed]
    if not changed:
        out.append("  no rule changes its alerts")
    for diff in changed:
        presence = (
            "" if diff.in_a and diff.in_b else ("  (only in A)" if diff.in_a else "  (only in B)")
        )
        out.append(f"  {diff.rule_id}: -{diff.only_a} +{diff.only_b} ={diff.both}{presence}")
        for example in diff.examples_a:
            out.append(f"    - {_t(example.time)}  {example.title}  ({example.article_id})")
        for example in diff.examples_b:
            out.append(f"    + {_t(example.time)}  {example.title}  ({example.article_id})")
    return out


def _labels(report: LabelReport, name: str) -> list[str]:
    out = ["", f"labels ({name}): {report.labels} labels, {report.outside_run} outside this run"]
    if report.unknown_rules:
        out.append(f"  labels name unknown rules: {', '.join(report.unknown_rules)}")
    out.append(f"  {'rule':<32} precision recall    f1   tp  fp miss")
    for s in report.scores:
        out.append(
            f"  {s.rule_id:<32} {_pct(s.precision):>9} {_pct(s.recall):>6} {_pct(s.f1):>5} "
            f"{s.true_positives:4d} {len(s.false_positives):3d} {len(s.misses):4d}"
        )
        if s.false_positives:
            out.append(f"    false positives: {', '.join(s.false_positives)}")
        if s.misses:
            out.append(f"    misses: {', '.join(s.misses)}")
    return out
