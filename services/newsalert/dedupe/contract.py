"""The dedupe port: what the matcher asks of a store, and the records it gets back.

Pure definitions, no I/O; the two implementations are
:class:`newsalert.dedupe.memory.MemoryDedupe` and
:class:`newsalert.dedupe.redis_store.RedisDedupe`. See the package docstring for the
call sequence and the guarantees.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol, TypeVar, cast, runtime_checkable

from newsalert.analysed import AnalysedArticle
from newsalert.dedupe.fingerprint import FingerprintParams
from newsalert.errors import NewsalertError, RedisUnavailableError
from newsalert.models import Article, alert_id, stable_id
from newsalert.models import article_time as article_time

# Re-exported for the stores: one definition of article time and of epoch milliseconds.
from newsalert.timespec import delta_ms as delta_ms
from newsalert.timespec import to_ms as to_ms


class WindowSettings(Protocol):
    """The two settings a store's windows come from (``newsalert.settings.Settings``).

    A protocol rather than the settings class, so the pure core does not depend on the
    module that reads the environment.
    """

    @property
    def story_window_s(self) -> float:
        """Seconds of article time a story stays open to near-duplicates."""

    @property
    def repeat_interval_s(self) -> float:
        """Default seconds between two alerts of one rule for one story."""


class DedupeError(NewsalertError):
    """The dedupe store failed (a bug or an unexpected reply)."""


class DedupeUnavailableError(DedupeError, RedisUnavailableError, ConnectionError):
    """The dedupe backend (Redis in production) cannot be reached; stop consuming and
    retry later.

    An :class:`~newsalert.errors.InfraError`, and also a :class:`ConnectionError` (an
    :class:`OSError`), so callers that retry on connection problems in general retry on
    this one too.
    """


@dataclass(frozen=True, slots=True)
class DedupeConfig:
    """Windows and leases of a dedupe store (all windows are in *article* time)."""

    #: A near-duplicate of an article seen this close in article time joins its story;
    #: also how long exact-duplicate marks count.
    story_window: timedelta = timedelta(hours=72)
    #: Default repeat interval for callers that have no per-rule value.
    repeat_interval: timedelta = timedelta(hours=24)
    #: Wall-clock lease of a pending alert mark; a crashed owner's mark frees after it.
    pending_ttl: timedelta = timedelta(seconds=30)
    #: Extra wall-clock life of every key beyond its window (late articles, clock skew).
    retention_grace: timedelta = timedelta(hours=1)
    #: First and largest pause while waiting for another matcher's pending mark.
    poll_initial: timedelta = timedelta(milliseconds=20)
    poll_max: timedelta = timedelta(milliseconds=500)
    fingerprint: FingerprintParams = field(default_factory=FingerprintParams)

    @classmethod
    def from_settings(cls, settings: WindowSettings) -> DedupeConfig:
        """The config for ``settings`` (``story_window_s``, ``repeat_interval_s``)."""
        return cls(
            story_window=timedelta(seconds=settings.story_window_s),
            repeat_interval=timedelta(seconds=settings.repeat_interval_s),
        )

    def __post_init__(self) -> None:
        if self.story_window <= timedelta(0) or self.pending_ttl <= timedelta(0):
            raise ValueError("story_window and pending_ttl must be positive")


@dataclass(frozen=True, slots=True)
class ArticleVerdict:
    """What the store decided about one article.

    ``duplicate``: the same record again (same source and id) as an article already
    *committed* within ``story_window`` -- the matcher skips it. An exact copy under
    another id (same canonical URL or normalised body) is *not* a duplicate: it may
    differ in what rules filter on (source, language, headline), so it is matched and
    its claims fold into the story's alerts. ``story_id``: the story the article belongs
    to. ``reason``: how the story was found -- ``same-id`` (the duplicate),
    ``same-url`` / ``same-body`` (an exact copy of a committed article),
    ``copy-in-flight`` (an exact copy still being processed), ``near-duplicate``;
    ``None`` for a new story.
    """

    article_id: str
    duplicate: bool
    story_id: str
    reason: str | None
    event_time: datetime
    token: str
    seen_digests: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AlertClaim:
    """The decision for one (rule, story) pair.

    ``send``: publish an alert now (first in the repeat window). ``duplicates_folded``:
    copies folded since the previous alert, to show in this one. ``sequence``: how many
    alerts this (rule, story) had before; ``alert_id`` is derived from it so a repeat
    after the interval is not mistaken by the dispatcher for a redelivery, while a
    re-send after a crash keeps the same id.
    """

    rule_id: str
    story_id: str
    send: bool
    duplicates_folded: int
    sequence: int
    alert_id: str
    event_time: datetime
    repeat_interval: timedelta
    token: str
    #: The repeat lane (see :class:`AlertKey`); ``None``: the default lane.
    lane: timedelta | None = None


class AlertKey(NamedTuple):
    """One alert group of a story: a rule in one *repeat lane*.

    Subscriptions with their own ``repeat_interval`` want a story's alerts at their own
    pace; each distinct interval is a lane with its own repeat window, sequence and
    folded count. ``lane=None`` is the default lane (the caller's ``repeat_interval``);
    a plain rule id means the default lane too.
    """

    rule_id: str
    lane: timedelta | None = None


class ClaimRequest(NamedTuple):
    """The arguments of one :meth:`DedupeStore.claim_alerts` call, for a batch of them."""

    story_id: str
    rule_ids: Sequence[str | AlertKey]
    event_time: datetime
    repeat_interval: timedelta | Mapping[str, timedelta]
    owner: str | None = None


#: One article's hand-off: its verdict and the claims made for it.
Handoff = tuple[ArticleVerdict, Sequence[AlertClaim]]


@runtime_checkable
class DedupeStore(Protocol):
    """Exact and near-duplicate dedupe, story ids and per-(rule, story) repeat windows.

    Each per-article method has a batch form for a whole Kafka batch (one round trip per
    stage on Redis). A batch decides exactly what the per-article calls would decide one
    article at a time, each article committed before the next is checked: a later
    article of the batch sees the earlier ones as committed (a redelivery of an earlier
    article is a duplicate, a copy folds into its alert), while their marks stay pending
    until :meth:`commit_batch`. So a batch is handed off in order: commit a prefix of it,
    abandon the rest (whose verdicts assumed the abandoned articles would commit).
    """

    async def check_article(
        self, article: Article | AnalysedArticle, event_time: datetime
    ) -> ArticleVerdict:
        """Classify ``article`` (exact duplicate or not) and assign its story id.

        An :class:`~newsalert.analysed.AnalysedArticle` lends the store its sentences
        and body words, so text the matcher already cut is not cut again.
        """
        ...

    async def claim_alerts(
        self,
        story_id: str,
        rule_ids: Sequence[str | AlertKey],
        event_time: datetime,
        repeat_interval: timedelta | Mapping[str, timedelta],
        *,
        owner: str | None = None,
    ) -> list[AlertClaim]:
        """One claim per distinct alert group; waits while another matcher holds a live lease.

        ``rule_ids``: rule ids (the default lane, ``repeat_interval`` applies: one
        interval or one per rule) or :class:`AlertKey` entries (a lane, whose interval is
        the lane itself).

        ``owner`` (pass ``verdict.token``) identifies the article being processed: a
        redelivery of the same article after a crash or a failed commit then takes its own
        live lease over at once instead of waiting ``pending_ttl`` for it to expire.
        """
        ...

    async def commit(self, verdict: ArticleVerdict, claims: Sequence[AlertClaim]) -> None:
        """The alerts were durably published: pending marks become done, folds are counted."""
        ...

    async def abandon(self, verdict: ArticleVerdict, claims: Sequence[AlertClaim]) -> None:
        """Publishing failed: release this article's pending marks so a retry sends."""
        ...

    async def check_articles(
        self, items: Sequence[tuple[Article | AnalysedArticle, datetime]]
    ) -> list[ArticleVerdict]:
        """:meth:`check_article` for each item, in order, as if each earlier non-duplicate
        item had been committed before the next was checked."""
        ...

    async def claim_batch(self, requests: Sequence[ClaimRequest]) -> list[list[AlertClaim]]:
        """:meth:`claim_alerts` for each request, in order, as if the claims of each
        earlier request had been committed before the next was decided."""
        ...

    async def commit_batch(self, handoffs: Sequence[Handoff]) -> None:
        """:meth:`commit` for each hand-off, in order."""
        ...

    async def abandon_batch(self, handoffs: Sequence[Handoff]) -> None:
        """:meth:`abandon` for each hand-off."""
        ...

    async def ping(self) -> None:
        """Raise :class:`DedupeUnavailableError` when the backend is unreachable."""
        ...


def story_id_for(article: Article) -> str:
    """The id of the new story an article starts (stable across replays)."""
    return stable_id("story", article.source or "", article.id)


def owner_token(article: Article, event_time: datetime) -> str:
    """The token of one article's marks: the same for every redelivery of the article."""
    return stable_id("own", article.source or "", article.id, str(to_ms(event_time)))


def claim_alert_id(
    rule_id: str, story_id: str, sequence: int = 0, lane: timedelta | None = None
) -> str:
    """``models.alert_id(rule, story)`` for the first alert; repeats get a numbered id.

    The first alert has the same id in every lane (it is the story's first alert for
    the rule, whoever receives it); a repeat in a lane other than the default one names
    the lane too, since lanes repeat at different times.
    """
    if sequence == 0:
        return alert_id(rule_id, story_id)
    if lane is None:
        return alert_id(rule_id, f"{story_id}#{sequence}")
    return alert_id(rule_id, f"{story_id}#{sequence}@{delta_ms(lane)}")


def lane_ms(lane: timedelta | None) -> int | None:
    """The lane as stored in keys: whole milliseconds, ``None`` for the default lane."""
    return None if lane is None else delta_ms(lane)


def intervals_for(
    rule_ids: Sequence[str | AlertKey], repeat_interval: timedelta | Mapping[str, timedelta]
) -> dict[AlertKey, timedelta]:
    """Distinct alert groups (first-seen order) with their repeat interval."""
    zero = timedelta(0)
    # A valid default interval is checked once, not once per rule.
    default = repeat_interval if isinstance(repeat_interval, timedelta) else None
    usable = default if default is not None and default >= zero else None
    out: dict[AlertKey, timedelta] = {}
    for entry in rule_ids:
        key = AlertKey(entry) if isinstance(entry, str) else entry
        if key in out:
            continue
        lane = key.lane
        if lane is None and usable is not None:
            out[key] = usable
            continue
        rule_id = key.rule_id
        if lane is not None:
            interval = lane
        elif isinstance(repeat_interval, timedelta):
            interval = repeat_interval
        else:
            try:
                interval = repeat_interval[rule_id]
            except KeyError:
                raise DedupeError(f"no repeat interval for rule {rule_id!r}") from None
        if interval < zero:
            raise DedupeError(f"negative repeat interval for rule {rule_id!r}")
        out[key] = interval
    return out


class Decision(NamedTuple):
    """A store's raw answer for one rule: send or fold, folded count, prior alerts."""

    send: bool
    folded: int
    sequence: int


def claims_of(
    story_id: str,
    intervals: Mapping[AlertKey, timedelta],
    decided: Mapping[AlertKey, Decision],
    event_time: datetime,
    token: str,
) -> list[AlertClaim]:
    """The claims of one ``claim_alerts`` call, in the order of ``intervals``."""
    claims = []
    for key, interval in intervals.items():
        decision = decided[key]
        claims.append(
            AlertClaim(
                rule_id=key.rule_id,
                story_id=story_id,
                send=decision.send,
                duplicates_folded=decision.folded,
                sequence=decision.sequence,
                alert_id=claim_alert_id(key.rule_id, story_id, decision.sequence, key.lane),
                event_time=event_time,
                repeat_interval=interval,
                token=token,
                lane=key.lane,
            )
        )
    return claims


_Item = TypeVar("_Item")


async def poll_claims(
    attempt: Callable[[list[_Item]], Awaitable[dict[_Item, Decision | None]]],
    rule_ids: Sequence[_Item],
    config: DedupeConfig,
) -> dict[_Item, Decision]:
    """Call ``attempt`` until every item is decided; ``None`` means another owner's lease.

    ``attempt`` gets the undecided items in their original order. Leases always expire
    (``pending_ttl``), so the loop ends: either the owner commits (this copy folds) or
    abandons / dies (this copy claims and sends).
    """
    decided: dict[_Item, Decision] = {}
    waiting = list(rule_ids)
    pause = config.poll_initial.total_seconds()
    while waiting:
        answers = await attempt(waiting)
        if not decided and len(answers) == len(waiting) and None not in answers.values():
            # all decided at the first attempt (the usual case)
            return cast(dict[_Item, Decision], answers)
        for rule_id, answer in answers.items():
            if answer is not None:
                decided[rule_id] = answer
        waiting = [rule_id for rule_id in waiting if rule_id not in decided]
        if waiting:
            await asyncio.sleep(pause)
            pause = min(pause * 2, config.poll_max.total_seconds())
    return decided


class ClaimItem(NamedTuple):
    """One alert group of one request in a batch of claims (what a store decides)."""

    request: int
    story_id: str
    key: AlertKey
    interval: timedelta
    event_time: datetime
    token: str


async def claim_in_order(
    requests: Sequence[ClaimRequest],
    attempt: Callable[[list[ClaimItem]], Awaitable[dict[ClaimItem, Decision | None]]],
    config: DedupeConfig,
) -> list[list[AlertClaim]]:
    """The claims of ``requests``: ``attempt`` decides items in order (see
    :meth:`DedupeStore.claim_batch`); items behind another owner's lease are polled."""
    tokens = [request.owner or uuid.uuid4().hex for request in requests]
    intervals = [intervals_for(r.rule_ids, r.repeat_interval) for r in requests]
    items = [
        ClaimItem(index, request.story_id, key, interval, request.event_time, tokens[index])
        for index, request in enumerate(requests)
        for key, interval in intervals[index].items()
    ]
    decided = await poll_claims(attempt, items, config) if items else {}
    per_request: list[dict[AlertKey, Decision]] = [{} for _ in requests]
    for item, decision in decided.items():
        per_request[item.request][item.key] = decision
    return [
        claims_of(
            request.story_id,
            intervals[index],
            per_request[index],
            request.event_time,
            tokens[index],
        )
        for index, request in enumerate(requests)
    ]
