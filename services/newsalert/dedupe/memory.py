"""In-process dedupe store for backtests and unit tests.

Same semantics as :class:`newsalert.dedupe.redis_store.RedisDedupe` (the Lua scripts
there mirror the methods here line by line): windows are measured in article time, so
a backtest over months of articles reproduces the live decisions. Only the pending
lease uses a clock (``clock``, monotonic seconds by default) because it models a
crashed owner, which is a wall-clock event.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from newsalert.analysed import AnalysedArticle, analyse
from newsalert.dedupe.boilerplate import LineMark, boilerplate, line_digest, next_mark
from newsalert.dedupe.canonical import exact_digests
from newsalert.dedupe.contract import (
    AlertClaim,
    AlertKey,
    ArticleVerdict,
    ClaimItem,
    ClaimRequest,
    Decision,
    DedupeConfig,
    Handoff,
    claim_alert_id,
    claim_in_order,
    delta_ms,
    intervals_for,
    lane_ms,
    owner_token,
    story_id_for,
    to_ms,
)
from newsalert.dedupe.fingerprint import edge_digests, fingerprint
from newsalert.models import Article
from newsalert.text import Sentence

_GC_EVERY = 4096


@dataclass(slots=True)
class _SeenMark:
    done: bool
    story_id: str
    event_ms: int
    token: str


@dataclass(slots=True)
class _Group:
    last_ms: int | None = None
    sequence: int = 0
    folded: int = 0
    pending_token: str | None = None
    pending_until: float = 0.0
    touched_ms: int = 0
    keep_ms: int = 0


#: (rule id, story id, lane in ms or None): one alert group.
_GroupKey = tuple[str, str, int | None]


def _claim_builder() -> Callable[..., AlertClaim]:
    """``AlertClaim(*fields)`` (positional, in field order), built cheaper: a frozen
    dataclass's ``__init__`` sets each field through ``object.__setattr__`` by name, this
    sets the slots directly (a dense batch builds one claim per group). Falls back to the
    class itself if it stops being a plain frozen slots record."""
    names = [f.name for f in fields(AlertClaim)]
    if list(AlertClaim.__slots__) != names or hasattr(AlertClaim, "__post_init__"):
        return AlertClaim  # not a plain frozen slots record any more: its own __init__
    setters = [getattr(AlertClaim, name).__set__ for name in names]
    (
        set_rule,
        set_story,
        set_send,
        set_folded,
        set_seq,
        set_id,
        set_time,
        set_iv,
        set_tok,
        set_lane,
    ) = setters
    new = object.__new__

    def build(
        rule_id: str,
        story_id: str,
        send: bool,
        duplicates_folded: int,
        sequence: int,
        alert_id: str,
        event_time: datetime,
        repeat_interval: timedelta,
        token: str,
        lane: timedelta | None,
    ) -> AlertClaim:
        claim = new(AlertClaim)
        set_rule(claim, rule_id)
        set_story(claim, story_id)
        set_send(claim, send)
        set_folded(claim, duplicates_folded)
        set_seq(claim, sequence)
        set_id(claim, alert_id)
        set_time(claim, event_time)
        set_iv(claim, repeat_interval)
        set_tok(claim, token)
        set_lane(claim, lane)
        return claim

    return build


_new_claim = _claim_builder()


def _group_of(key: AlertKey | AlertClaim, story_id: str) -> _GroupKey:
    return (key.rule_id, story_id, lane_ms(key.lane))


class MemoryDedupe:
    """A :class:`~newsalert.dedupe.contract.DedupeStore` held in dictionaries."""

    def __init__(
        self,
        config: DedupeConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config or DedupeConfig()
        self._clock = clock
        self._seen: dict[str, _SeenMark] = {}
        # One table per band: bucket -> (story id, article time in ms). An article without
        # text has no buckets, hence the zip(..., strict=False) over the tables.
        self._bands: list[dict[str, tuple[str, int]]] = [
            {} for _ in range(self.config.fingerprint.bands)
        ]
        self._lines: dict[str, LineMark] = {}
        self._groups: dict[_GroupKey, _Group] = {}
        self._window_ms = delta_ms(self.config.story_window)
        self._newest_ms = 0
        self._ops = 0

    async def ping(self) -> None:
        """Always reachable."""

    async def check_article(
        self, article: Article | AnalysedArticle, event_time: datetime
    ) -> ArticleVerdict:
        """Classify ``article`` and assign its story id (see the package docstring)."""
        return self._check(article, event_time, {})

    async def check_articles(
        self, items: Sequence[tuple[Article | AnalysedArticle, datetime]]
    ) -> list[ArticleVerdict]:
        """Each verdict as if the earlier non-duplicate items had been committed."""
        committed: dict[str, _SeenMark] = {}  # what their commits would write
        verdicts = []
        for article, event_time in items:
            verdict = self._check(article, event_time, committed)
            if not verdict.duplicate:
                done = _SeenMark(True, verdict.story_id, to_ms(event_time), "")
                committed.update(dict.fromkeys(verdict.seen_digests, done))
            verdicts.append(verdict)
        return verdicts

    def _check(
        self,
        item: Article | AnalysedArticle,
        event_time: datetime,
        committed: Mapping[str, _SeenMark],
    ) -> ArticleVerdict:
        """One verdict; ``committed`` overrides the seen marks (earlier items of a batch)."""
        self._tick()
        analysed = analyse(item)
        article = analysed.article
        event_ms = to_ms(event_time)
        self._newest_ms = max(self._newest_ms, event_ms)
        token = owner_token(article, event_time)
        parts = analysed.sentences
        digests = exact_digests(article, analysed.body_words())
        story: str | None = None
        reason: str | None = None
        exact = False
        live: set[str] = set()
        for kind, digest in digests.items():
            mark = committed.get(digest) or self._seen.get(digest)
            if mark is None or abs(event_ms - mark.event_ms) > self._window_ms:
                continue
            if mark.done and kind == "id":
                return ArticleVerdict(
                    article_id=article.id,
                    duplicate=True,
                    story_id=mark.story_id,
                    reason="same-id",
                    event_time=event_time,
                    token=token,
                )
            live.add(digest)
            if mark.done and not exact:
                # An exact copy of a committed article: its story is known, so the
                # fingerprint, band and boilerplate work cannot change the outcome.
                story, reason, exact = mark.story_id, f"same-{kind}", True
            elif story is None:
                story, reason = mark.story_id, "copy-in-flight"
        if not exact:
            story, reason = self._story_by_bands(article, parts, event_ms, digests["id"], story)
        assert story is not None
        for digest in digests.values():
            if digest not in live:
                self._seen[digest] = _SeenMark(False, story, event_ms, token)
        return ArticleVerdict(
            article_id=article.id,
            duplicate=False,
            story_id=story,
            reason=reason,
            event_time=event_time,
            token=token,
            seen_digests=tuple(digests.values()),
        )

    def _story_by_bands(
        self,
        article: Article,
        parts: Sequence[Sentence],
        event_ms: int,
        id_digest: str,
        in_flight: str | None,
    ) -> tuple[str, str | None]:
        """The story by near-duplicate bands (unless a copy in flight gave it); updates
        the band and learned-boilerplate marks."""
        params = self.config.fingerprint
        story, reason = in_flight, None if in_flight is None else "copy-in-flight"
        lines = {d: line_digest(article.source, d) for d in edge_digests(parts, params)}
        marks = {d: self._lines.get(line) for d, line in lines.items()}
        skip = boilerplate(marks, event_ms, self._window_ms, params.boilerplate_articles)
        buckets = fingerprint(parts, params, skip).buckets
        if story is None:
            counts: dict[str, int] = {}
            best, best_hits = None, 0
            for table, bucket in zip(self._bands, buckets, strict=False):
                entry = table.get(bucket)
                if entry is None or abs(event_ms - entry[1]) > self._window_ms:
                    continue
                hits = counts.get(entry[0], 0) + 1
                counts[entry[0]] = hits
                if hits > best_hits:
                    best, best_hits = entry[0], hits
            if best is not None and best_hits >= params.min_band_hits:
                story, reason = best, "near-duplicate"
        if story is None:
            story = story_id_for(article)
        for table, bucket in zip(self._bands, buckets, strict=False):
            entry = table.get(bucket)
            if entry is None or entry[1] <= event_ms:
                table[bucket] = (story, event_ms)
        for digest, line in lines.items():
            self._lines[line] = next_mark(marks[digest], id_digest, event_ms, self._window_ms)
        return story, reason

    async def claim_alerts(
        self,
        story_id: str,
        rule_ids: Sequence[str | AlertKey],
        event_time: datetime,
        repeat_interval: timedelta | Mapping[str, timedelta],
        *,
        owner: str | None = None,
    ) -> list[AlertClaim]:
        """One claim per distinct alert group; waits while another owner holds a live lease."""
        request = ClaimRequest(story_id, rule_ids, event_time, repeat_interval, owner)
        return (await self.claim_batch([request]))[0]

    async def claim_batch(self, requests: Sequence[ClaimRequest]) -> list[list[AlertClaim]]:
        """Each request's claims as if the earlier requests' claims had been committed."""
        claims = self._claim_unblocked(requests)
        if claims is not None:
            return claims
        # A group is behind another owner's live lease: item by item, polling for it.
        return await claim_in_order(requests, self._claim_items, self.config)

    def _claim_unblocked(self, requests: Sequence[ClaimRequest]) -> list[list[AlertClaim]] | None:
        """:meth:`claim_batch` in one pass when no group of ``requests`` is behind another
        owner's live lease (the usual case), else ``None`` with nothing changed but new
        empty groups.

        The same decisions as :meth:`_claim_items` (keep the two alike) and the claims
        :func:`~newsalert.dedupe.contract.claim_in_order` would build from them, without
        its per-item records: a dense batch claims one group per (matched rule, article).
        """
        intervals = [intervals_for(r.rule_ids, r.repeat_interval) for r in requests]
        tokens = [request.owner or uuid.uuid4().hex for request in requests]
        now = self._clock()
        groups = self._groups
        # First pass: every item's group, and whether one is behind a live lease. A group
        # blocked for its first item blocks the call; a later item of a group an earlier
        # one claimed is not blocked (checking it anyway only ever sends the call to the
        # general path, which decides the same).
        found: list[list[tuple[_GroupKey, _Group]]] = []
        for request, keys, token in zip(requests, intervals, tokens, strict=True):
            story_id = request.story_id
            mine: list[tuple[_GroupKey, _Group]] = []
            for key in keys:
                lane = key.lane
                group_key = (key.rule_id, story_id, None if lane is None else delta_ms(lane))
                group = groups.get(group_key)
                if group is None:
                    group = groups[group_key] = _Group()
                elif (
                    group.pending_token is not None
                    and group.pending_token != token
                    and group.pending_until > now
                ):
                    return None
                mine.append((group_key, group))
            found.append(mine)
        until = now + self.config.pending_ttl.total_seconds()
        window_ms = self._window_ms
        played: dict[_GroupKey, list[Any]] = {}
        out: list[list[AlertClaim]] = []
        interval_of: timedelta | None = None
        interval_ms = 0
        for request, keys, token, mine in zip(requests, intervals, tokens, found, strict=True):
            story_id = request.story_id
            event_time = request.event_time
            event_ms = to_ms(event_time)
            claims: list[AlertClaim] = []
            for (key, interval), (group_key, group) in zip(keys.items(), mine, strict=True):
                if interval is not interval_of:
                    interval_of, interval_ms = interval, delta_ms(interval)
                if group.touched_ms < event_ms:
                    group.touched_ms = event_ms
                if group.keep_ms < interval_ms + window_ms:
                    group.keep_ms = interval_ms + window_ms
                state = played.get(group_key)
                if state is None:
                    state = played[group_key] = [group.last_ms, group.sequence, group.folded]
                last_ms, sequence, folded = state
                send = last_ms is None or event_ms >= last_ms + interval_ms
                if send:
                    group.pending_token = token
                    group.pending_until = until
                    state[0], state[1], state[2] = event_ms, sequence + 1, 0
                else:
                    state[2] = folded + 1
                rule_id, lane = key
                claims.append(
                    _new_claim(
                        rule_id,
                        story_id,
                        send,
                        folded,
                        sequence,
                        claim_alert_id(rule_id, story_id, sequence, lane),
                        event_time,
                        interval,
                        token,
                        lane,
                    )
                )
            out.append(claims)
        return out

    async def _claim_items(self, items: list[ClaimItem]) -> dict[ClaimItem, Decision | None]:
        """Decide ``items`` in order. A group behind another owner's live lease is not
        decided for any item of this call (the lease's outcome comes first); every other
        group is decided on a copy that plays the commits of the earlier items."""
        now = self._clock()
        until = now + self.config.pending_ttl.total_seconds()
        groups = self._groups
        # [last_ms, sequence, folded] of a group as the earlier items' commits leave it
        played: dict[_GroupKey, list[Any]] = {}
        blocked: set[_GroupKey] = set()
        answers: dict[ClaimItem, Decision | None] = {}
        # The items of one request share their time and mostly their interval: each is
        # converted once (identity checks; the loop runs once per alert group).
        time_of: datetime | None = None
        interval_of: timedelta | None = None
        event_ms = interval_ms = 0
        for item in items:
            key = _group_of(item.key, item.story_id)
            group = groups.get(key)
            if group is None:
                group = groups[key] = _Group()
            if item.event_time is not time_of:
                time_of, event_ms = item.event_time, to_ms(item.event_time)
            if item.interval is not interval_of:
                interval_of, interval_ms = item.interval, delta_ms(item.interval)
            group.touched_ms = max(group.touched_ms, event_ms)
            group.keep_ms = max(group.keep_ms, interval_ms + self._window_ms)
            state = played.get(key)
            if state is None:
                if key not in blocked and (
                    group.pending_token is None
                    or group.pending_token == item.token
                    or group.pending_until <= now
                ):
                    state = played[key] = [group.last_ms, group.sequence, group.folded]
                else:
                    blocked.add(key)
                    answers[item] = None
                    continue
            last_ms, sequence, folded = state
            if last_ms is not None and event_ms < last_ms + interval_ms:
                answers[item] = Decision(send=False, folded=folded, sequence=sequence)
                state[2] = folded + 1
                continue
            answers[item] = Decision(send=True, folded=folded, sequence=sequence)
            group.pending_token = item.token
            group.pending_until = until
            state[:] = (event_ms, sequence + 1, 0)
        return answers

    async def commit(self, verdict: ArticleVerdict, claims: Sequence[AlertClaim]) -> None:
        """Pending marks of ``verdict`` and ``claims`` become done; folds are counted."""
        await self.commit_batch([(verdict, claims)])

    async def commit_batch(self, handoffs: Sequence[Handoff]) -> None:
        """:meth:`commit` for each hand-off, in order."""
        for verdict, claims in handoffs:
            if not verdict.duplicate:
                event_ms = to_ms(verdict.event_time)
                for digest in verdict.seen_digests:
                    self._seen[digest] = _SeenMark(True, verdict.story_id, event_ms, "")
            groups = self._groups
            time_of: datetime | None = None  # a hand-off's claims share their time
            claim_ms = 0
            for claim in claims:
                lane = claim.lane  # _group_of inlined: one pass per claimed group
                key = (claim.rule_id, claim.story_id, None if lane is None else delta_ms(lane))
                group = groups.get(key)
                if group is None:
                    group = groups[key] = _Group()
                if not claim.send:
                    group.folded += 1
                    continue
                if group.sequence <= claim.sequence:
                    if claim.event_time is not time_of:
                        time_of, claim_ms = claim.event_time, to_ms(claim.event_time)
                    group.sequence = claim.sequence + 1
                    group.last_ms = claim_ms
                    group.folded = max(0, group.folded - claim.duplicates_folded)
                if group.pending_token == claim.token:
                    group.pending_token = None

    async def abandon(self, verdict: ArticleVerdict, claims: Sequence[AlertClaim]) -> None:
        """Release the pending marks this article and its claims hold."""
        await self.abandon_batch([(verdict, claims)])

    async def abandon_batch(self, handoffs: Sequence[Handoff]) -> None:
        """:meth:`abandon` for each hand-off."""
        for verdict, claims in handoffs:
            for digest in verdict.seen_digests:
                mark = self._seen.get(digest)
                if mark is not None and not mark.done and mark.token == verdict.token:
                    del self._seen[digest]
            for claim in claims:
                group = self._groups.get(_group_of(claim, claim.story_id))
                if claim.send and group is not None and group.pending_token == claim.token:
                    group.pending_token = None

    def _tick(self) -> None:
        """Forget marks that fell out of every window (in article time), now and then."""
        self._ops += 1
        if self._ops % _GC_EVERY:
            return
        horizon = self._newest_ms - self._window_ms - delta_ms(self.config.retention_grace)
        self._seen = {d: m for d, m in self._seen.items() if m.event_ms >= horizon}
        self._bands = [{b: e for b, e in table.items() if e[1] >= horizon} for table in self._bands]
        self._lines = {d: m for d, m in self._lines.items() if m.event_ms >= horizon}
        self._groups = {
            k: g
            for k, g in self._groups.items()
            if g.pending_token is not None or g.touched_ms + g.keep_ms >= self._newest_ms
        }

    def __len__(self) -> int:
        """Number of marks held (seen, band, line and group entries)."""
        bands = sum(map(len, self._bands))
        return len(self._seen) + bands + len(self._lines) + len(self._groups)
