"""What happens to one valid article, independent of where it came from.

check for a redelivery of the same record → match the compiled rules → claim one alert
per (rule, story, repeat lane) → build :class:`Alert` records. Exact and near copies of
a story from other records are matched like any article: a copy may differ in what rules
filter on (source, language, headline), and its claims fold into the story's alerts.
The caller publishes the alerts and only then calls ``dedupe.commit`` (or
``dedupe.abandon`` when publishing failed), so a dedupe mark never outlives an alert that
was not handed off. The live matcher and the backtest share this.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from newsalert.dedupe import AlertClaim, AlertKey, ArticleVerdict, DedupeStore
from newsalert.dedupe.contract import lane_ms
from newsalert.matcher.lanes import RepeatLanes
from newsalert.models import Alert, Article, ArticleRef, RuleRef
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


def event_time_of(article: Article, kafka_timestamp_ms: int | None) -> datetime:
    """Article time: ``published_at``, else the Kafka record time, else now."""
    if article.published_at is not None:
        return article.published_at
    if kafka_timestamp_ms is not None and kafka_timestamp_ms > 0:
        return datetime.fromtimestamp(kafka_timestamp_ms / 1000, tz=UTC)
    return datetime.now(tz=UTC)


class ArticlePipeline:
    """Match and dedupe articles; produce the alerts to publish."""

    def __init__(
        self,
        rules: Callable[[], CompiledRules],
        dedupe: DedupeStore,
        repeat_interval: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(tz=UTC),
        lanes: RepeatLanes | None = None,
        before_claim: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        """``repeat_interval`` is the default lane's; ``lanes`` adds the lanes of
        subscriptions with their own interval (without it every rule has the default lane).

        ``before_claim(story_id)`` runs before the alert claims of a matching article: a
        caller that publishes several articles' alerts at once hands off the earlier
        articles of that story there, as a claim waits for another article's pending
        claim of the same (rule, story)."""
        self._before_claim = before_claim
        self._rules = rules
        self._dedupe = dedupe
        self._repeat_interval = repeat_interval
        self._clock = clock
        self._lanes = lanes

    async def process(self, article: Article, event_time: datetime) -> ArticleOutcome:
        """Decide what ``article`` produces; publishes nothing and marks nothing as done."""
        verdict = await self._dedupe.check_article(article, event_time)
        outcome = ArticleOutcome(article=article, verdict=verdict)
        if verdict.duplicate:
            return outcome
        compiled = self._rules()  # one rule set for the whole article, even mid-reload
        outcome.matches = compiled.match(Document.from_article(article))
        if not outcome.matches:
            return outcome
        groups = [self._groups_of(match) for match in outcome.matches]
        if self._before_claim is not None:
            await self._before_claim(verdict.story_id)
        outcome.claims = list(
            await self._dedupe.claim_alerts(
                verdict.story_id,
                [key for keys in groups for key in keys],
                verdict.event_time,
                self._repeat_interval,
                owner=verdict.token,  # a redelivered article takes over its own lease at once
            )
        )
        now = self._clock()
        ref = ArticleRef.of(article)  # one immutable reference shared by the article's alerts
        claim_of = {AlertKey(claim.rule_id, claim.lane): claim for claim in outcome.claims}
        for match, keys in zip(outcome.matches, groups, strict=True):
            for key in keys:
                claim = claim_of[key]
                if not claim.send:
                    continue
                outcome.alerts.append(
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
        return outcome

    def _groups_of(self, match: RuleMatch) -> tuple[AlertKey, ...]:
        if self._lanes is None:
            return (AlertKey(match.rule_id),)
        return self._lanes.keys(match.rule_id, match.tags)

    async def commit(self, outcome: ArticleOutcome) -> None:
        """The alerts are durably published: make the dedupe marks final."""
        if not outcome.duplicate:
            await self._dedupe.commit(outcome.verdict, outcome.claims)

    async def abandon(self, outcome: ArticleOutcome) -> None:
        """Publishing failed: release pending marks so a retry sends the alerts."""
        if not outcome.duplicate:
            await self._dedupe.abandon(outcome.verdict, outcome.claims)
