"""What a backtest found: plain dataclasses the renderers (text, JSON, HTML) read."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from newsalert.backtest.samples import Sample, Samples
from newsalert.models import Alert


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """An alert the run produced, with the article time it was produced at.

    ``key`` identifies the alert across two runs of the same articles: rule, story, and
    how many alerts this (rule, story) had before in the run (repeat windows).
    """

    alert: Alert
    time: datetime
    key: tuple[str, str, int]


@dataclass(slots=True)
class RuleReport:
    """Per-rule results of one rule set."""

    rule_id: str
    title: str | None
    tags: tuple[str, ...]
    raw_matches: int = 0
    alerts: int = 0
    first_hit: datetime | None = None
    last_hit: datetime | None = None
    alert_times: list[datetime] = field(default_factory=list)

    @property
    def folded(self) -> int:
        """Matches that produced no alert (exact copies, same story within the window)."""
        return self.raw_matches - self.alerts


@dataclass(frozen=True, slots=True)
class RuleTiming:
    """Sampled cost of one rule's compiled check (each rule timed on its own).

    Rules the index decides in bulk have no check of their own and no timing.
    """

    rule_id: str
    evaluations: int
    total_s: float

    @property
    def mean_us(self) -> float:
        """Mean microseconds per verification."""
        return self.total_s / self.evaluations * 1e6 if self.evaluations else 0.0


@dataclass(slots=True, repr=False)
class ArmResult:
    """Everything one rule set did over the articles."""

    name: str
    rules: dict[str, RuleReport]
    matches: list[tuple[str, str]]
    #: In the order sent (an :class:`~newsalert.backtest.alertlog.AlertLog` after a run).
    alerts: Sequence[AlertRecord]
    timings: list[RuleTiming]
    compile_s: float = 0.0
    unindexed: int = 0
    samples: Samples | None = None
    #: Articles checked against the brute-force evaluator (``None``: not asked), and
    #: the ``(article id, rule id)`` pairs on which the two disagreed.
    verified: int | None = None
    disagreements: list[tuple[str, str]] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"ArmResult({self.name!r}, {len(self.rules)} rules, {len(self.alerts)} alerts)"

    def never_fired(self) -> list[str]:
        """Ids of rules without a single raw match."""
        return [rule_id for rule_id, report in self.rules.items() if report.raw_matches == 0]

    def sampled_rules(self) -> list[RuleReport]:
        """The rules with samples, most alerts first (the order the reports show)."""
        if self.samples is None:
            return []
        has = self.samples.has
        fired = [report for rule_id, report in self.rules.items() if has(rule_id)]
        return sorted(fired, key=lambda r: (-r.alerts, r.rule_id))

    def samples_of(self, rule_ids: Iterable[str]) -> dict[str, list[Sample]]:
        """The highlighted samples of ``rule_ids`` (explained now, once)."""
        return self.samples.explained(rule_ids) if self.samples is not None else {}

    def slowest(self, count: int = 10) -> list[RuleTiming]:
        """The rules whose checks took the most sampled time."""
        return sorted(self.timings, key=lambda t: (-t.total_s, t.rule_id))[:count]


@dataclass(frozen=True, slots=True)
class DiffExample:
    """One alert present on one side of a comparison."""

    article_id: str
    title: str
    story_id: str
    time: datetime


@dataclass(slots=True)
class RuleDiff:
    """Alerts of one rule id only in A, only in B, and in both."""

    rule_id: str
    only_a: int = 0
    only_b: int = 0
    both: int = 0
    examples_a: list[DiffExample] = field(default_factory=list)
    examples_b: list[DiffExample] = field(default_factory=list)
    in_a: bool = True
    in_b: bool = True

    @property
    def changed(self) -> bool:
        """True when the two rule sets disagree on this rule's alerts."""
        return bool(self.only_a or self.only_b) or self.in_a != self.in_b


@dataclass(slots=True)
class Comparison:
    """The "what changes if I merge this" view of two rule sets over the same articles."""

    rules: list[RuleDiff]

    @property
    def only_a(self) -> int:
        """Alerts only the first rule set sends."""
        return sum(d.only_a for d in self.rules)

    @property
    def only_b(self) -> int:
        """Alerts only the second rule set sends."""
        return sum(d.only_b for d in self.rules)

    @property
    def both(self) -> int:
        """Alerts both send."""
        return sum(d.both for d in self.rules)


@dataclass(slots=True)
class RuleScore:
    """Precision, recall and F1 of one rule against hand labels."""

    rule_id: str
    true_positives: int
    false_positives: list[str]
    misses: list[str]
    unlabelled_matches: int

    @property
    def precision(self) -> float | None:
        """TP / (TP + FP); ``None`` when the rule fired on no labelled article."""
        judged = self.true_positives + len(self.false_positives)
        return self.true_positives / judged if judged else None

    @property
    def recall(self) -> float | None:
        """TP / (TP + misses); ``None`` when no labelled article is relevant."""
        relevant = self.true_positives + len(self.misses)
        return self.true_positives / relevant if relevant else None

    @property
    def f1(self) -> float | None:
        """Harmonic mean of precision and recall (``None`` if either is undefined)."""
        p, r = self.precision, self.recall
        if p is None or r is None:
            return None
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)


@dataclass(slots=True)
class LabelReport:
    """Scores of every labelled rule; labels whose article was not read are counted."""

    scores: list[RuleScore]
    labels: int
    outside_run: int
    unknown_rules: list[str]


@dataclass(slots=True, repr=False)
class BacktestResult:
    """The whole run: input accounting, per-arm results, comparison and scores.

    Its ``repr`` is short on purpose: Python 3.11's ``asyncio.run`` builds the full repr
    of the main task's result when it restores the SIGINT handler, which took seconds
    for a large run with the generated dataclass repr.
    """

    source: str
    arms: list[ArmResult]
    articles: int = 0
    records: int = 0
    scanned: int | None = None
    invalid: int = 0
    article_ids: set[str] = field(default_factory=set)
    invalid_reasons: Counter[str] = field(default_factory=Counter)
    invalid_examples: list[tuple[str, str]] = field(default_factory=list)
    duplicates: int = 0
    requested_from: datetime | None = None
    requested_to: datetime | None = None
    first_article: datetime | None = None
    last_article: datetime | None = None
    elapsed_s: float = 0.0
    comparison: Comparison | None = None
    labels: list[LabelReport] = field(default_factory=list)
    delivered: int | None = None
    delivered_to: str | None = None

    def __repr__(self) -> str:
        return f"BacktestResult({self.source!r}, {self.records} records, {self.arms!r})"

    @property
    def rate(self) -> float:
        """Records per second over the whole run."""
        return self.records / self.elapsed_s if self.elapsed_s > 0 else 0.0
