"""The dedupe port: what the matcher asks of a store, and the records it gets back.

Pure definitions, no I/O; the two implementations are
:class:`newsalert.dedupe.memory.MemoryDedupe` and
:class:`newsalert.dedupe.redis_store.RedisDedupe`. See the package docstring for the
call sequence and the guarantees.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol, runtime_checkable

from newsalert.dedupe.fingerprint import FingerprintParams
from newsalert.errors import NewsalertError
from newsalert.models import Article, alert_id, stable_id
from newsalert.models import article_time as article_time
from newsalert.settings import Settings

# Re-exported for the stores: one definition of article time and of epoch milliseconds.
from newsalert.timespec import delta_ms as delta_ms
from newsalert.timespec import to_ms as to_ms


class DedupeError(NewsalertError):
    """The dedupe store failed (a bug or an unexpected reply)."""


class DedupeUnavailableError(DedupeError, ConnectionError):
    """The dedupe backend cannot be reached; stop consuming and retry later.

    Also a :class:`ConnectionError` (an :class:`OSError`), so callers that retry on
    connection problems in general retry on this one too.
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
    def from_settings(cls, settings: Settings) -> DedupeConfig:
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

    ``duplicate``: an exact duplicate (same id, canonical URL or normalised body) of an
    article already *committed* within ``story_window`` -- the matcher skips it.
    ``story_id``: the story the article belongs to. ``reason``: why it is a duplicate
    (``same-id``, ``same-url``, ``same-body``) or how the story was found
    (``copy-in-flight``, ``near-duplicate``); ``None`` for a new story.
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


@runtime_checkable
class DedupeStore(Protocol):
    """Exact and near-duplicate dedupe, story ids and per-(rule, story) repeat windows."""

    async def check_article(self, article: Article, event_time: datetime) -> ArticleVerdict:
        """Classify ``article`` (exact duplicate or not) and assign its story id."""
        ...

    async def claim_alerts(
        self,
        story_id: str,
        rule_ids: Sequence[str],
        event_time: datetime,
        repeat_interval: timedelta | Mapping[str, timedelta],
        *,
        owner: str | None = None,
    ) -> list[AlertClaim]:
        """One claim per distinct rule id; waits while another matcher holds a live lease.

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

    async def ping(self) -> None:
        """Raise :class:`DedupeUnavailableError` when the backend is unreachable."""
        ...


def story_id_for(article: Article) -> str:
    """The id of the new story an article starts (stable across replays)."""
    return stable_id("story", article.source or "", article.id)


def owner_token(article: Article, event_time: datetime) -> str:
    """The token of one article's marks: the same for every redelivery of the article."""
    return stable_id("own", article.source or "", article.id, str(to_ms(event_time)))


def claim_alert_id(rule_id: str, story_id: str, sequence: int = 0) -> str:
    """``models.alert_id(rule, story)`` for the first alert; repeats get a numbered id."""
    if sequence == 0:
        return alert_id(rule_id, story_id)
    return alert_id(rule_id, f"{story_id}#{sequence}")


def intervals_for(
    rule_ids: Sequence[str], repeat_interval: timedelta | Mapping[str, timedelta]
) -> dict[str, timedelta]:
    """Distinct ``rule_ids`` (first-seen order) with their repeat interval."""
    out: dict[str, timedelta] = {}
    for rule_id in rule_ids:
        if rule_id in out:
            continue
        if isinstance(repeat_interval, timedelta):
            interval = repeat_interval
        else:
            try:
                interval = repeat_interval[rule_id]
            except KeyError:
                raise DedupeError(f"no repeat interval for rule {rule_id!r}") from None
        if interval < timedelta(0):
            raise DedupeError(f"negative repeat interval for rule {rule_id!r}")
        out[rule_id] = interval
    return out


class Decision(NamedTuple):
    """A store's raw answer for one rule: send or fold, folded count, prior alerts."""

    send: bool
    folded: int
    sequence: int


async def poll_claims(
    attempt: Callable[[list[str]], Awaitable[dict[str, Decision | None]]],
    rule_ids: Sequence[str],
    config: DedupeConfig,
) -> dict[str, Decision]:
    """Call ``attempt`` until every rule is decided; ``None`` means another owner's lease.

    Leases always expire (``pending_ttl``), so the loop ends: either the owner commits
    (this copy folds) or abandons / dies (this copy claims and sends).
    """
    decided: dict[str, Decision] = {}
    waiting = list(rule_ids)
    pause = config.poll_initial.total_seconds()
    while waiting:
        answers = await attempt(waiting)
        for rule_id, answer in answers.items():
            if answer is not None:
                decided[rule_id] = answer
        waiting = [rule_id for rule_id in waiting if rule_id not in decided]
        if waiting:
            await asyncio.sleep(pause)
            pause = min(pause * 2, config.poll_max.total_seconds())
    return decided
