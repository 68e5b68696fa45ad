"""What happens to valid articles, independent of where they came from.

check for a redelivery of the same record → match the compiled rules → claim one alert
per (rule, story, repeat lane) → build :class:`Alert` records. Exact and near copies of
a story from other records are matched like any article: a copy may differ in what rules
filter on (source, language, headline), and its claims fold into the story's alerts.
The caller publishes the alerts and only then commits (or abandons, when publishing
failed), so a dedupe mark never outlives an alert that was not handed off. The live
matcher and the backtest share this.

:meth:`ArticlePipeline.process_batch` does it for a whole Kafka batch with one dedupe
call per stage (check, claim; the caller's commit or abandon), deciding exactly what
:meth:`ArticlePipeline.process` would decide article by article in order; the batch is
then handed off as a whole (:meth:`~ArticlePipeline.commit_batch` after every alert of it
was published, else :meth:`~ArticlePipeline.abandon_batch`).

Each article is analysed once on entry (:class:`~newsalert.analysed.AnalysedArticle`);
the dedupe store and the rules read the same analysis. The pipeline owns the stemmer
its articles share, so it lives as long as the matcher service or the backtest run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from newsalert.analysed import AnalysedArticle, analyse
from newsalert.dedupe.contract import (
    AlertClaim,
    AlertKey,
    ArticleVerdict,
    ClaimRequest,
    DedupeStore,
    lane_ms,
)
from newsalert.models import Alert, Article, ArticleRef, RuleRef
from newsalert.pipeline.lanes import RepeatLanes
from newsalert.rules import CompiledRules, Document, RuleMatch
from newsalert.text import Stemmer


@dataclass
class ArticleOutcome:
    """What the pipeline decided for one article."""

    analysed: AnalysedArticle
    verdict: ArticleVerdict
    matches: list[RuleMatch] = field(default_factory=list)
    claims: list[AlertClaim] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    #: The alert groups of each match (one per repeat lane), in the order of ``matches``.
    groups: list[tuple[AlertKey, ...]] = field(default_factory=list)
    #: What the rules read of the article (``None``: not matched, a redelivery).
    doc: Document | None = None

    @property
    def article(self) -> Article:
        """The article decided on."""
        return self.analysed.article

    @property
    def duplicate(self) -> bool:
        """True when the article was a redelivery of a committed record and was skipped."""
        return self.verdict.duplicate


class ArticlePipeline:
    """Match and dedupe articles; produce the alerts to publish."""

    def __init__(
        self,
        rules: Callable[[], CompiledRules],
        dedupe: DedupeStore,
        repeat_interval: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(tz=UTC),
        lanes: RepeatLanes | None = None,
    ) -> None:
        """``repeat_interval`` is the default lane's; ``lanes`` adds the lanes of
        subscriptions with their own interval (without it every rule has the default lane)."""
        #: Stems the tokens of the articles this pipeline analyses.
        self.stemmer = Stemmer()
        self._rules = rules
        self._dedupe = dedupe
        self._repeat_interval = repeat_interval
        self._clock = clock
        self._lanes = lanes

    async def process(
        self, article: Article | AnalysedArticle, event_time: datetime
    ) -> ArticleOutcome:
        """Decide what ``article`` produces; publishes nothing and marks nothing as done."""
        return (await self.process_batch([(article, event_time)]))[0]

    async def process_batch(
        self, items: Sequence[tuple[Article | AnalysedArticle, datetime]]
    ) -> list[ArticleOutcome]:
        """:meth:`process` for each item, in order, with one dedupe call per stage.

        Each article is decided as if the earlier ones had been committed before it (see
        :class:`~newsalert.dedupe.DedupeStore`), so the batch is handed off as a whole.
        All or nothing: when a stage raises, the pending marks the batch took are
        released and the exception propagates (the caller may then retry the articles one
        at a time to find the one that fails).
        """
        outcomes = await self.decide_batch(items)
        now = self._clock()
        try:
            for outcome in outcomes:
                if outcome.claims:
                    ref = ArticleRef.of(outcome.article)  # one immutable reference per article
                    story_id = outcome.verdict.story_id
                    outcome.alerts = [
                        self.alert_of(ref, story_id, match, claim, now)
                        for match, claim in self.sends(outcome)
                    ]
        except BaseException:
            await self.abandon_batch(outcomes)
            raise
        return outcomes

    async def decide_batch(
        self, items: Sequence[tuple[Article | AnalysedArticle, datetime]]
    ) -> list[ArticleOutcome]:
        """:meth:`process_batch` without building the :class:`Alert` records: the
        outcomes hold their matches and claims (:meth:`sends`, :meth:`alert_of`), for a
        caller that needs only some alerts as records (the backtest)."""
        compiled = self._rules()  # one rule set for the whole batch, even mid-reload
        stemmer = self.stemmer
        analysed = [(analyse(article, stemmer), event_time) for article, event_time in items]
        verdicts = await self._dedupe.check_articles(analysed)
        outcomes = [
            ArticleOutcome(analysed=article, verdict=verdict)
            for (article, _), verdict in zip(analysed, verdicts, strict=True)
        ]
        try:
            await self._match_and_claim(compiled, outcomes)
        except BaseException:
            await self.abandon_batch(outcomes)
            raise
        return outcomes

    async def _match_and_claim(
        self, compiled: CompiledRules, outcomes: list[ArticleOutcome]
    ) -> None:
        """Match every checked article and claim the alert groups of the matched ones
        (one call)."""
        for outcome in outcomes:
            if not outcome.duplicate:
                outcome.doc = Document.from_analysed(outcome.analysed)
                outcome.matches = compiled.match(outcome.doc)
        matched = [outcome for outcome in outcomes if outcome.matches]
        for outcome in matched:
            if self._lanes is None:  # every rule in the default lane only
                outcome.groups = [(AlertKey(match.rule_id),) for match in outcome.matches]
            else:
                outcome.groups = [self._groups_of(match) for match in outcome.matches]
        claims = await self._dedupe.claim_batch(
            [
                ClaimRequest(
                    outcome.verdict.story_id,
                    [key for keys in outcome.groups for key in keys],
                    outcome.verdict.event_time,
                    self._repeat_interval,
                    # a redelivered article takes over its own lease at once
                    owner=outcome.verdict.token,
                )
                for outcome in matched
            ]
        )
        for outcome, article_claims in zip(matched, claims, strict=True):
            outcome.claims = list(article_claims)

    @staticmethod
    def sends(outcome: ArticleOutcome) -> list[tuple[RuleMatch, AlertClaim]]:
        """The claims that send, each with its match: one alert per (matched rule, lane),
        in match order."""
        groups = outcome.groups
        if len(outcome.claims) == len(groups) and set(map(len, groups)) <= {1}:
            # One group per match, all distinct: the claims come in the groups' order.
            return [
                (match, claim)
                for match, claim in zip(outcome.matches, outcome.claims, strict=True)
                if claim.send
            ]
        claim_of = {AlertKey(claim.rule_id, claim.lane): claim for claim in outcome.claims}
        return [
            (match, claim_of[key])
            for match, keys in zip(outcome.matches, outcome.groups, strict=True)
            for key in keys
            if claim_of[key].send
        ]

    @staticmethod
    def alert_of(
        article: ArticleRef, story_id: str, match: RuleMatch, claim: AlertClaim, now: datetime
    ) -> Alert:
        """The alert record of one sending claim (see :meth:`sends`)."""
        return Alert(
            alert_id=claim.alert_id,
            rule=RuleRef(id=match.rule_id, title=match.title),
            article=article,
            story_id=story_id,
            matched=list(match.matched),
            tags=list(match.tags),
            duplicates_folded=claim.duplicates_folded,
            created_at=now,
            repeat_interval_ms=lane_ms(claim.lane),
        )

    def _groups_of(self, match: RuleMatch) -> tuple[AlertKey, ...]:
        if self._lanes is None:
            return (AlertKey(match.rule_id),)
        return self._lanes.keys(match.rule_id, match.tags)

    async def commit(self, outcome: ArticleOutcome) -> None:
        """The alerts are durably published: make the dedupe marks final."""
        await self.commit_batch([outcome])

    async def abandon(self, outcome: ArticleOutcome) -> None:
        """Publishing failed: release pending marks so a retry sends the alerts."""
        await self.abandon_batch([outcome])

    async def commit_batch(self, outcomes: Sequence[ArticleOutcome]) -> None:
        """Every alert of the batch is durably published: make its marks final, in order."""
        handoffs = [(o.verdict, o.claims) for o in outcomes if not o.duplicate]
        if handoffs:
            await self._dedupe.commit_batch(handoffs)

    async def abandon_batch(self, outcomes: Sequence[ArticleOutcome]) -> None:
        """Publishing failed: release the batch's pending marks so a retry sends its alerts."""
        handoffs = [(o.verdict, o.claims) for o in outcomes if not o.duplicate]
        if handoffs:
            await self._dedupe.abandon_batch(handoffs)
