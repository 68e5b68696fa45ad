"""Feed articles through the live matching pipeline, once per rule set, and keep score.

Each rule set (an *arm*: ``--rules`` and, with ``--compare``, the other file) gets its
own :class:`~newsalert.pipeline.step.ArticlePipeline` over its own in-memory
:class:`~newsalert.dedupe.memory.MemoryDedupe` -- the same matcher, exact-duplicate,
story and repeat-window code as the live service, driven by article time, in a
namespace nobody else sees. Nothing is published during the run, so every outcome is
committed right after it is decided, as the live matcher does after its publish.

"Raw matches" are what the compiled rules return for every valid article, repeated
records included (the pipeline skips matching a redelivery of a record it committed; the
arm matches it itself with the same compiled rules), so the JSON contract lists every
match before dedupe. "Exact duplicates" counts those and exact copies under other ids
(same canonical URL or body), which the pipeline matches and folds.

Alerts are decided in the default repeat lane (``repeat_interval``); with
``subscriptions`` (``--deliver``) the rules those select are decided in their lanes
instead, as the live matcher does (:mod:`newsalert.pipeline.lanes`).
"""

from __future__ import annotations

import gc
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from newsalert.backtest.records import RecordSource
from newsalert.backtest.report import (
    AlertRecord,
    ArmResult,
    BacktestResult,
    RuleReport,
    RuleTiming,
)
from newsalert.backtest.samples import PendingSample, Samples
from newsalert.config import Config
from newsalert.dedupe.contract import DedupeConfig
from newsalert.dedupe.memory import MemoryDedupe
from newsalert.errors import ArticleError
from newsalert.gcpause import paused_gc
from newsalert.models import Article
from newsalert.pipeline.decode import decode_article
from newsalert.pipeline.eventtime import (
    EventTimeBounds,
    bounded_event_time,
    marked_clamped,
    replay_now,
)
from newsalert.pipeline.lanes import RepeatLanes
from newsalert.pipeline.step import ArticlePipeline
from newsalert.rules import CompiledRules, Document, RuleMatch
from newsalert.rules.evaluation.oracle import brute_force_match
from newsalert.subscriptions import Subscription

MAX_INVALID_EXAMPLES = 10
_NUMBER = re.compile(r"\d+")


@dataclass(frozen=True, slots=True)
class BacktestOptions:
    """Knobs of a run; the windows default to the live service's settings."""

    repeat_interval: timedelta = timedelta(hours=24)
    story_window: timedelta = timedelta(hours=72)
    max_article_bytes: int = 1_000_000
    samples: int = 3
    #: Time the checks of the candidate rules on every n-th article (0: never) for
    #: "slowest rules"; with ``verify``, check the index against the brute-force
    #: evaluator on those articles too.
    profile_every: int = 16
    verify: bool = False
    #: Subscriptions whose own repeat intervals apply (their repeat lanes).
    subscriptions: tuple[Subscription, ...] = ()
    #: Event times are clamped as the live matcher clamps them (around the record's time).
    event_time_bounds: EventTimeBounds = field(default_factory=EventTimeBounds.defaults)


@dataclass(slots=True)
class _RuleState:
    report: RuleReport
    sample_from: list[PendingSample] = field(default_factory=list)
    fallback: list[PendingSample] = field(default_factory=list)


class Arm:
    """One rule set going through the pipeline, and what it did."""

    def __init__(self, name: str, config: Config, options: BacktestOptions) -> None:
        self.name = name
        self.config = config
        self._options = options
        started = time.perf_counter()
        compiled = config.rules.compile()
        self.compile_s = time.perf_counter() - started
        self.compiled: CompiledRules = compiled
        self.dedupe = MemoryDedupe(
            DedupeConfig(story_window=options.story_window, repeat_interval=options.repeat_interval)
        )
        subscriptions = options.subscriptions
        self.pipeline = ArticlePipeline(
            rules=lambda: compiled,
            dedupe=self.dedupe,
            repeat_interval=options.repeat_interval,
            lanes=RepeatLanes(lambda: subscriptions) if subscriptions else None,
        )
        with paused_gc():
            self._rules = {
                rule.id: _RuleState(RuleReport(rule.id, rule.title, rule.tags)) for rule in compiled
            }
        # The compiled rules and the per-rule state live for the whole run (millions of
        # objects with many rules): frozen, the collector's full passes skip them.
        gc.freeze()
        self.matches: list[tuple[str, str]] = []
        self.alerts: list[AlertRecord] = []
        self._sequence: dict[tuple[str, str], int] = {}
        self._timing: dict[str, list[float]] = {}
        self.duplicates = 0
        self.verified = 0
        self.disagreements: list[tuple[str, str]] = []

    async def feed(
        self, article: Article, event_time: datetime, profile: bool, clamped: bool = False
    ) -> None:
        """Run one article through the pipeline and record what happened."""
        outcome = await self.pipeline.process(article, event_time)
        if clamped:
            outcome.alerts = marked_clamped(outcome.alerts)
        await self.pipeline.commit(outcome)  # dry run: nothing to publish first
        matches: list[RuleMatch]
        doc: Document | None = None
        if (outcome.verdict.reason or "").startswith("same-"):
            self.duplicates += 1
        if outcome.duplicate:
            doc = Document.from_article(article)
            matches = self.compiled.match(doc)
        else:
            matches = outcome.matches
        for match in matches:
            state = self._rules[match.rule_id]
            report = state.report
            report.raw_matches += 1
            if report.first_hit is None or event_time < report.first_hit:
                report.first_hit = event_time
            if report.last_hit is None or event_time > report.last_hit:
                report.last_hit = event_time
            self.matches.append((article.id, match.rule_id))
            if len(state.fallback) < self._options.samples:
                state.fallback.append(PendingSample(article, event_time, match.matched))
        for alert in outcome.alerts:
            group = (alert.rule.id, alert.story_id)
            sequence = self._sequence.get(group, 0)
            self._sequence[group] = sequence + 1
            self.alerts.append(AlertRecord(alert, event_time, (*group, sequence)))
            state = self._rules[alert.rule.id]
            state.report.alerts += 1
            state.report.alert_times.append(event_time)
            if len(state.sample_from) < self._options.samples:
                state.sample_from.append(PendingSample(article, event_time, tuple(alert.matched)))
        if profile:
            doc = doc or Document.from_article(article)
            self._profile(doc)
            if self._options.verify:
                self._verify(article.id, doc, matches)

    def _profile(self, doc: Document) -> None:
        for rule_id, elapsed in self.compiled.check_times(doc):
            slot = self._timing.get(rule_id)
            if slot is None:
                self._timing[rule_id] = [1.0, elapsed]
            else:
                slot[0] += 1.0
                slot[1] += elapsed

    def _verify(self, article_id: str, doc: Document, matches: list[RuleMatch]) -> None:
        """Compare the index's answer with the brute-force evaluator of every rule."""
        expected = {m.rule_id for m in brute_force_match(self.compiled.rules, doc)}
        got = {m.rule_id for m in matches}
        self.verified += 1
        self.disagreements.extend((article_id, r) for r in sorted(expected ^ got))

    def result(self) -> ArmResult:
        """The per-rule reports; samples are explained when a report shows them."""
        reports = {rule_id: state.report for rule_id, state in self._rules.items()}
        pending = {
            rule_id: state.sample_from or state.fallback
            for rule_id, state in self._rules.items()
            if state.sample_from or state.fallback
        }
        timings = [
            RuleTiming(rule_id, int(count), total)
            for rule_id, (count, total) in self._timing.items()
        ]
        return ArmResult(
            name=self.name,
            rules=reports,
            matches=sorted(self.matches),
            alerts=self.alerts,
            timings=timings,
            compile_s=self.compile_s,
            unindexed=self.compiled.unindexed,
            samples=Samples(self.config.rules.get, pending),
            verified=self.verified if self._options.verify else None,
            disagreements=self.disagreements,
        )


async def run_backtest(
    source: RecordSource,
    arms: list[Arm],
    options: BacktestOptions,
    *,
    on_record: Callable[[int], None] | None = None,
) -> BacktestResult:
    """Read every record of ``source`` and feed each valid article to every arm."""
    if not arms:
        raise ValueError("run_backtest needs at least one rule set")
    result = BacktestResult(source=source.describe, arms=[])
    started = time.perf_counter()
    every = options.profile_every
    async for record in source:
        result.records += 1
        if on_record is not None:
            on_record(result.records)
        try:
            article = decode_article(record.value, options.max_article_bytes)
        except ArticleError as exc:
            result.invalid += 1
            result.invalid_reasons[_reason_kind(exc.reason)] += 1
            if len(result.invalid_examples) < MAX_INVALID_EXAMPLES:
                result.invalid_examples.append((record.where, exc.reason))
            continue
        event_time, clamped = bounded_event_time(
            article,
            record.timestamp_ms,
            replay_now(record.timestamp_ms, datetime.now(UTC)),
            options.event_time_bounds,
        )
        result.articles += 1
        result.article_ids.add(article.id)
        if result.first_article is None or event_time < result.first_article:
            result.first_article = event_time
        if result.last_article is None or event_time > result.last_article:
            result.last_article = event_time
        profile = every > 0 and result.articles % every == 1 % every
        for arm in arms:
            await arm.feed(article, event_time, profile, clamped)
    result.duplicates = arms[0].duplicates
    result.arms = [arm.result() for arm in arms]
    result.elapsed_s = time.perf_counter() - started
    return result


def _reason_kind(reason: str) -> str:
    """The reason with its numbers blanked, so equal causes are counted together."""
    return _NUMBER.sub("N", reason)
