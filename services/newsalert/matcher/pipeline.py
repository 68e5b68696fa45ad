"""What happens to one valid article, independent of where it came from.

check exact duplicates → match the compiled rules → claim one alert per (rule, story)
→ build :class:`Alert` records. The caller publishes the alerts and only then calls
``dedupe.commit`` (or ``dedupe.abandon`` when publishing failed), so a dedupe mark never
outlives an alert that was not handed off. The live matcher and the backtest share this.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from newsalert.dedupe import AlertClaim, ArticleVerdict, DedupeStore
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
        """True when the article was an exact repeat and was skipped."""
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
        before_claim: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        """``before_claim(story_id)`` runs before the alert claims of a matching article:
        a caller that publishes several articles' alerts at once hands off the earlier
        articles of that story there, as a claim waits for another article's pending
        claim of the same (rule, story)."""
        self._before_claim = before_claim
        self._rules = rules
        self._dedupe = dedupe
        self._repeat_interval = repeat_interval
        self._clock = clock

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
        if self._before_claim is not None:
            await self._before_claim(verdict.story_id)
        outcome.claims = list(
            await self._dedupe.claim_alerts(
                verdict.story_id,
                [match.rule_id for match in outcome.matches],
                verdict.event_time,
                self._repeat_interval,
                owner=verdict.token,  # a redelivered article takes over its own lease at once
            )
        )
        now = self._clock()
        ref = ArticleRef.of(article)  # one immutable reference shared by the article's alerts
        claim_of = {claim.rule_id: claim for claim in outcome.claims}
        for match in outcome.matches:
            claim = claim_of[match.rule_id]
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
                )
            )
        return outcome

    async def commit(self, outcome: ArticleOutcome) -> None:
        """The alerts are durably published: make the dedupe marks final."""
        if not outcome.duplicate:
            await self._dedupe.commit(outcome.verdict, outcome.claims)

    async def abandon(self, outcome: ArticleOutcome) -> None:
        """Publishing failed: release pending marks so a retry sends the alerts."""
        if not outcome.duplicate:
            await self._dedupe.abandon(outcome.verdict, outcome.claims)
