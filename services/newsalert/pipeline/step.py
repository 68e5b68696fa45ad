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
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

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


@dataclass
class ArticleOutcome:
    """What the pipeline decided for one article."""

    article: Article
    verdict: ArticleVerdict
    matches: list[RuleMatch] = field(default_factory=list)
    claims: list[AlertClaim] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)

    @property
    def duplicate(self) -> bool:
        """True when the article was a redelivery of a committed record and was skipped."""
        return self.verdict.duplicate


#: Articles matched between two chances for a concurrent dedupe call to go on.
_MATCHES_PER_YIELD = 8


async def _match_all(
    compiled: CompiledRules, articles: Sequence[Article], checking: asyncio.Future[Any]
) -> list[list[RuleMatch]]:
    """The matches of each article, yielding to the event loop every few articles while
    ``checking`` runs, so its requests go out and its replies are read meanwhile."""
    found: list[list[RuleMatch]] = []
    for n, article in enumerate(articles):
        if n % _MATCHES_PER_YIELD == 0 and not checking.done():
            await asyncio.sleep(0)
        found.append(compiled.match(Document.from_article(article)))
    return found


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
        self._rules = rules
        self._dedupe = dedupe
        self._repeat_interval = repeat_interval
        self._clock = clock
        self._lanes = lanes

    async def process(self, article: Article, event_time: datetime) -> ArticleOutcome:
        """Decide what ``article`` produces; publishes nothing and marks nothing as done."""
        return (await self.process_batch([(article, event_time)]))[0]

    async def process_batch(
        self, items: Sequence[tuple[Article, datetime]]
    ) -> list[ArticleOutcome]:
        """:meth:`process` for each item, in order, with one dedupe call per stage.

        Each article is decided as if the earlier ones had been committed before it (see
        :class:`~newsalert.dedupe.DedupeStore`), so the batch is handed off as a whole.
        All or nothing: when a stage raises, the pending marks the batch took are
        released and the exception propagates (the caller may then retry the articles one
        at a time to find the one that fails).
        """
        compiled = self._rules()  # one rule set for the whole batch, even mid-reload
        # Matching needs no verdict: it runs while the store decides the check (a network
        # round trip and a script on Redis), and a redelivery's matches are dropped after.
        checking = asyncio.ensure_future(self._dedupe.check_articles(items))
        try:
            matches = await _match_all(compiled, [article for article, _ in items], checking)
        except BaseException:
            await self._release_check(checking, items)
            raise
        verdicts = await checking
        outcomes = [
            ArticleOutcome(article=article, verdict=verdict)
            for (article, _), verdict in zip(items, verdicts, strict=True)
        ]
        try:
            for outcome, found in zip(outcomes, matches, strict=True):
                if not outcome.duplicate:
                    outcome.matches = found
            await self._claim(outcomes)
        except BaseException:
            await self.abandon_batch(outcomes)
            raise
        return outcomes

    async def _release_check(
        self,
        checking: asyncio.Future[list[ArticleVerdict]],
        items: Sequence[tuple[Article, datetime]],
    ) -> None:
        """Matching failed while the check ran: release the marks the check took, if any."""
        try:
            verdicts = await checking
        except Exception:  # the check failed too: it holds no marks to release
            return
        await self.abandon_batch(
            [
                ArticleOutcome(article=article, verdict=verdict)
                for (article, _), verdict in zip(items, verdicts, strict=True)
            ]
        )

    async def _claim(self, outcomes: list[ArticleOutcome]) -> None:
        """Claim the alert groups of the matched articles (one call), and build the alerts
        of the claims that send."""
        matched = [outcome for outcome in outcomes if outcome.matches]
        groups = [[self._groups_of(match) for match in outcome.matches] for outcome in matched]
        claims = await self._dedupe.claim_batch(
            [
                ClaimRequest(
                    outcome.verdict.story_id,
                    [key for keys in article_groups for key in keys],
                    outcome.verdict.event_time,
                    self._repeat_interval,
                    # a redelivered article takes over its own lease at once
                    owner=outcome.verdict.token,
                )
                for outcome, article_groups in zip(matched, groups, strict=True)
            ]
        )
        now = self._clock()
        for outcome, article_groups, article_claims in zip(matched, groups, claims, strict=True):
            outcome.claims = list(article_claims)
            outcome.alerts = self._alerts(outcome, article_groups, now)

    @staticmethod
    def _alerts(
        outcome: ArticleOutcome, groups: list[tuple[AlertKey, ...]], now: datetime
    ) -> list[Alert]:
        """The alerts of the claims that send, one per (matched rule, lane)."""
        verdict = outcome.verdict
        claim_of = {AlertKey(claim.rule_id, claim.lane): claim for claim in outcome.claims}
        ref = ArticleRef.of(outcome.article)  # one immutable reference shared by its alerts
        alerts = []
        for match, keys in zip(outcome.matches, groups, strict=True):
            for key in keys:
                claim = claim_of[key]
                if not claim.send:
                    continue
                alerts.append(
                    Alert(
                        alert_id=claim.alert_id,
                        rule=RuleRef(id=match.rule_id, title=match.title),
                        article=ref,
                        story_id=verdict.story_id,
                        matched=list(match.matched),
                        tags=list(match.tags),
                        duplicates_folded=claim.duplicates_folded,
                        created_at=now,
                        repeat_interval_ms=lane_ms(claim.lane),
                    )
                )
        return alerts

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
