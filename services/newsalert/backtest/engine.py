"""Feed articles through the live matching pipeline, once per rule set, and keep score.

Each rule set (an *arm*: ``--rules`` and, with ``--compare``, the other file) gets its
own :class:`~newsalert.pipeline.step.ArticlePipeline` over its own in-memory
:class:`~newsalert.dedupe.memory.MemoryDedupe` -- the same matcher, exact-duplicate,
story and repeat-window code as the live service, driven by article time, in a
namespace nobody else sees. Articles go through it in batches, as a Kafka batch goes
through the live matcher (one dedupe call per stage, each article decided as if the
earlier ones were committed); nothing is published during the run, so every batch is
committed right after it is decided, as the live matcher does after its publish.

The run only appends what each article did (its matches, and the ``(match, claim)``
pairs that sent, in an :class:`~newsalert.backtest.alertlog.AlertLog`); the per-rule
counts, first and last hits, alert times and sample candidates are tallied once when the
result is asked for, and alert records are built only for the callers that read them.

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
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from newsalert.backtest.alertlog import AlertLog, SentBatch
from newsalert.backtest.records import RecordSource
from newsalert.backtest.report import (
    ArmResult,
    BacktestResult,
    RuleReport,
    RuleTiming,
)
from newsalert.backtest.samples import PendingSample, Samples
from newsalert.config import Config
from newsalert.dedupe.contract import AlertClaim, DedupeConfig
from newsalert.dedupe.memory import MemoryDedupe
from newsalert.errors import ArticleError
from newsalert.gcpause import paused_gc
from newsalert.models import Alert, Article, ArticleRef
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


class _Fed(NamedTuple):
    """One article as an arm saw it: when, the rules it matched, and the rules alerted
    (ids only: the run keeps no article text beyond its sample candidates)."""

    article_id: str
    time: datetime
    matched: list[str]
    alerted: list[str]


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
            self._rules = {rule.id: RuleReport(rule.id, rule.title, rule.tags) for rule in compiled}
        # The compiled rules and the per-rule state live for the whole run (millions of
        # objects with many rules): frozen, the collector's full passes skip them.
        gc.freeze()
        # What each article did, tallied per rule once at the end (result()): the run
        # itself only appends, whatever the number of matches and alerts.
        self._fed: list[_Fed] = []
        # Each rule's first articles (up to ``samples``) among its alerts, and among its
        # matches (for rules without alerts); a rule leaves the search once it has them.
        self._alerted: dict[str, list[PendingSample]] = {}
        self._matched: dict[str, list[PendingSample]] = {}
        self._alerted_full: set[str] = set()
        self._matched_full: set[str] = set()
        self._alerts = AlertLog(_alert)
        self._timing: dict[str, list[float]] = {}
        self.duplicates = 0
        self.verified = 0
        self.disagreements: list[tuple[str, str]] = []

    @property
    def alerts(self) -> AlertLog:
        """Every alert sent so far, in order."""
        return self._alerts

    async def feed(
        self, article: Article, event_time: datetime, profile: bool, clamped: bool = False
    ) -> None:
        """Run one article through the pipeline and record what happened."""
        await self.feed_batch([_Item(article, event_time, profile, clamped)])

    async def feed_batch(self, items: Sequence[_Item]) -> None:
        """Run articles through the pipeline as one batch (the live matcher's path: one
        dedupe call per stage) and record what happened to each, in order."""
        outcomes = await self.pipeline.decide_batch([(i.article, i.event_time) for i in items])
        await self.pipeline.commit_batch(outcomes)  # dry run: nothing to publish first
        decided_at = datetime.now(tz=UTC)
        sends = self.pipeline.sends
        for item, outcome in zip(items, outcomes, strict=True):
            article, event_time = item.article, item.event_time
            doc = outcome.doc  # the document the pipeline matched, when it did
            if (outcome.verdict.reason or "").startswith("same-"):
                self.duplicates += 1
            matches: list[RuleMatch]
            if outcome.duplicate:
                doc = Document.from_analysed(outcome.analysed)
                matches = self.compiled.match(doc)
            else:
                matches = outcome.matches
            sent = sends(outcome) if outcome.claims else []
            made: dict[int, PendingSample] = {}
            if matches:
                self._fed.append(
                    _Fed(
                        article.id,
                        event_time,
                        [match.rule_id for match in matches],
                        [match.rule_id for match, _claim in sent],
                    )
                )
                self._candidates(
                    article, event_time, matches, self._matched, self._matched_full, made
                )
            if sent:
                self._candidates(
                    article,
                    event_time,
                    [match for match, _claim in sent],
                    self._alerted,
                    self._alerted_full,
                    made,
                )
                ref = ArticleRef.of(article)
                story = outcome.verdict.story_id
                self._alerts.add(SentBatch(ref, event_time, item.clamped, story, sent, decided_at))
            if item.profile:
                doc = doc or Document.from_analysed(outcome.analysed)
                self._profile(doc)
                if self._options.verify:
                    self._verify(article.id, doc, matches)

    def _candidates(
        self,
        article: Article,
        event_time: datetime,
        matches: list[RuleMatch],
        found: dict[str, list[PendingSample]],
        full: set[str],
        made: dict[int, PendingSample],
    ) -> None:
        """Keep ``article`` as a sample candidate of the rules of ``matches`` that still
        have fewer than ``samples``. ``made``: the candidates already made of this
        article's matches (by the match's identity), shared by its matches and alerts."""
        limit = self._options.samples
        for match in [m for m in matches if m.rule_id not in full]:
            sample = made.get(id(match))
            if sample is None:
                sample = made[id(match)] = PendingSample(article, event_time, match.matched)
            pending = found.setdefault(match.rule_id, [])
            pending.append(sample)
            if len(pending) >= limit:
                full.add(match.rule_id)

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

    def _tally(self) -> tuple[list[tuple[str, str]], dict[str, list[PendingSample]]]:
        """Fill the per-rule reports from what the articles did; the raw matches (sorted)
        and each rule's sample candidates (its first alerts, else its first matches)."""
        limit = self._options.samples
        fed = self._fed
        raw: Counter[str] = Counter()
        alerts: Counter[str] = Counter()
        first: dict[str, datetime] = {}
        last: dict[str, datetime] = {}
        alert_times: dict[str, list[datetime]] = {}
        matches: list[tuple[str, str]] = []
        # Written in time order, the last write wins: ties go to the earliest article,
        # as when each hit is compared with the rule's first and last so far.
        for i in sorted(range(len(fed)), key=lambda i: (fed[i].time, -i)):
            last.update(dict.fromkeys(fed[i].matched, fed[i].time))
        for i in sorted(range(len(fed)), key=lambda i: fed[i].time, reverse=True):
            first.update(dict.fromkeys(fed[i].matched, fed[i].time))
        for one in fed:
            raw.update(one.matched)
            article_id = one.article_id
            matches.extend([(article_id, rule_id) for rule_id in one.matched])
            if one.alerted:
                alerts.update(one.alerted)
                for rule_id in one.alerted:
                    alert_times.setdefault(rule_id, []).append(one.time)
        for rule_id, count in raw.items():
            report = self._rules[rule_id]
            report.raw_matches = count
            report.first_hit, report.last_hit = first[rule_id], last[rule_id]
            report.alerts = alerts[rule_id]
            report.alert_times = alert_times.get(rule_id, [])
        pending_of = {
            rule_id: (self._alerted.get(rule_id) or p)[:limit]
            for rule_id, p in self._matched.items()
        }
        matches.sort()
        return matches, {rule_id: p for rule_id, p in pending_of.items() if p}

    def result(self) -> ArmResult:
        """The per-rule reports; samples are explained when a report shows them."""
        with paused_gc(freeze=True):  # acyclic tallies, as many as the matches, kept
            matches, pending = self._tally()
        timings = [
            RuleTiming(rule_id, int(count), total)
            for rule_id, (count, total) in self._timing.items()
        ]
        return ArmResult(
            name=self.name,
            rules=dict(self._rules),
            matches=matches,
            alerts=self._alerts,
            timings=timings,
            compile_s=self.compile_s,
            unindexed=self.compiled.unindexed,
            samples=Samples(self.config.rules.get, pending, self.pipeline.stemmer),
            verified=self.verified if self._options.verify else None,
            disagreements=self.disagreements,
        )


def _alert(
    article: ArticleRef,
    story_id: str,
    match: RuleMatch,
    claim: AlertClaim,
    decided_at: datetime,
    clamped: bool,
) -> Alert:
    """The alert record the live matcher would have published for this claim."""
    alert = ArticlePipeline.alert_of(article, story_id, match, claim, decided_at)
    return marked_clamped([alert])[0] if clamped else alert


class _Item(NamedTuple):
    article: Article
    event_time: datetime
    profile: bool
    clamped: bool


#: Articles per pipeline batch, like a Kafka batch of the live matcher.
BATCH_SIZE = 256


async def run_backtest(
    source: RecordSource,
    arms: list[Arm],
    options: BacktestOptions,
    *,
    on_record: Callable[[int], None] | None = None,
    batch_size: int = BATCH_SIZE,
) -> BacktestResult:
    """Read every record of ``source`` and feed the valid articles to every arm, in
    batches of ``batch_size`` (the same verdicts as one at a time)."""
    if not arms:
        raise ValueError("run_backtest needs at least one rule set")
    result = BacktestResult(source=source.describe, arms=[])
    started = time.perf_counter()
    every = options.profile_every
    batch: list[_Item] = []
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
        batch.append(_Item(article, event_time, profile, clamped))
        if len(batch) >= batch_size:
            await _feed(arms, batch)
            batch = []
    if batch:
        await _feed(arms, batch)
    result.duplicates = arms[0].duplicates
    result.arms = [arm.result() for arm in arms]
    result.elapsed_s = time.perf_counter() - started
    return result


async def _feed(arms: list[Arm], batch: list[_Item]) -> None:
    """Feed ``batch`` to every arm, then set what it left behind aside from the collector.

    A dense run keeps hundreds of thousands of objects to the end (matches, claims,
    sample candidates): with the collector on, its passes rescan them again and again.
    The batch is fed with the collector paused and what survives it is frozen, out of
    every later pass: feeding makes no cyclic garbage (only acyclic records, freed by
    reference counting when the result goes).
    """
    with paused_gc(freeze=True):
        for arm in arms:
            await arm.feed_batch(batch)


def _reason_kind(reason: str) -> str:
    """The reason with its numbers blanked, so equal causes are counted together."""
    return _NUMBER.sub("N", reason)
