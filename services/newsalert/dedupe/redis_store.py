"""Redis-backed dedupe store: the matcher's production store.

Every decision is one Lua script (:mod:`newsalert.dedupe.scripts`), so replicas racing
on copies of one story are serialised by Redis; ``check_article`` reads the exact
marks and the learned boilerplate marks with one ``MGET`` first. Every key gets a TTL:
exact, band and line marks live ``story_window + retention_grace``, alert groups
``repeat_interval + story_window + retention_grace`` (wall clock; the windows themselves
are checked against article times stored in the values, so backtests in their own prefix
behave like live).
An unavailable Redis (:mod:`newsalert.redis_errors`) surfaces as
:class:`DedupeUnavailableError`, any other refusal as :class:`DedupeError`.

All keys of one call must live on one Redis node: plain Redis, Valkey or a primary with
replicas -- not Redis Cluster (keys of one call hash to different slots).
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from redis import exceptions as redis_errors
from redis.asyncio import Redis

from newsalert import constants
from newsalert.analysed import AnalysedArticle, analyse
from newsalert.dedupe import scripts
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
    DedupeError,
    DedupeUnavailableError,
    Handoff,
    claim_in_order,
    delta_ms,
    lane_ms,
    owner_token,
    story_id_for,
    to_ms,
)
from newsalert.dedupe.fingerprint import FingerprintParams, edge_digests, fingerprint
from newsalert.models import Article
from newsalert.redis_errors import UNAVAILABLE
from newsalert.settings import Settings


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _wire(values: Sequence[str | int]) -> list[bytes]:
    """``values`` as the bytes Redis receives: a batch's script call carries thousands of
    keys and arguments, and redis-py's own per-argument encoding is what it costs most."""
    return [v.encode() if isinstance(v, str) else b"%d" % v for v in values]


class RedisDedupe:
    """A :class:`~newsalert.dedupe.contract.DedupeStore` in Redis / Valkey."""

    def __init__(
        self,
        client: Redis,
        *,
        prefix: str = constants.REDIS_PREFIX,
        config: DedupeConfig | None = None,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.config = config or DedupeConfig()
        self._check = client.register_script(scripts.CHECK_ARTICLES)
        self._claim = client.register_script(scripts.CLAIM_BATCH)
        self._commit = client.register_script(scripts.COMMIT_BATCH)
        self._abandon = client.register_script(scripts.ABANDON_BATCH)
        self._window_ms = delta_ms(self.config.story_window)
        self._grace_ms = delta_ms(self.config.retention_grace)
        self._bands_key = constants.story_bands_key(prefix)

    @classmethod
    def from_url(
        cls, url: str, *, prefix: str = constants.REDIS_PREFIX, config: DedupeConfig | None = None
    ) -> RedisDedupe:
        """A store on a new client for ``url`` (``settings.redis_url``)."""
        return cls(Redis.from_url(url), prefix=prefix, config=config)

    async def aclose(self) -> None:
        """Close the client's connections."""
        await self.client.aclose()

    async def _run(self, script: Any, keys: list[str], args: list[str | int]) -> Any:
        return await self._call(script(keys=_wire(keys), args=_wire(args)))

    async def _call(self, pending: Awaitable[Any]) -> Any:
        try:
            return await pending
        except UNAVAILABLE as exc:
            raise DedupeUnavailableError(f"redis unavailable: {exc}") from exc
        except redis_errors.RedisError as exc:
            raise DedupeError(f"redis dedupe script failed: {exc}") from exc

    async def ping(self) -> None:
        """Raise :class:`DedupeUnavailableError` unless Redis answers."""
        try:
            await self.client.ping()
        except (redis_errors.RedisError, OSError) as exc:
            raise DedupeUnavailableError(f"redis unavailable: {exc}") from exc

    async def check_article(
        self, article: Article | AnalysedArticle, event_time: datetime
    ) -> ArticleVerdict:
        """Classify ``article`` and assign its story id (one ``MGET``, then one script)."""
        return (await self.check_articles([(article, event_time)]))[0]

    async def check_articles(
        self, items: Sequence[tuple[Article | AnalysedArticle, datetime]]
    ) -> list[ArticleVerdict]:
        """Each verdict as if the earlier non-duplicate items had been committed: one
        ``MGET`` and one script for the batch (another round only after a race).

        The ``MGET`` reads the exact-duplicate marks with the learned-boilerplate marks:
        a committed record with the same id is a duplicate without a script, and an
        exact copy of a committed article (its story known) skips the fingerprint.
        """
        verdicts: list[ArticleVerdict] = []
        committed: dict[str, str] = {}  # seen key -> the mark an earlier commit will write
        full_first = False
        while len(verdicts) < len(items):
            rest = items[len(verdicts) :]
            done = await self._check_round(rest, committed, full_first)
            # A round stops at an article whose exact mark vanished: fingerprint it now.
            full_first = len(done) < len(rest)
            for verdict in done:
                mark = f"d|{verdict.story_id}|{to_ms(verdict.event_time)}"
                for digest in verdict.seen_digests:
                    committed[constants.seen_article_key(self.prefix, digest)] = mark
            verdicts += done
        return verdicts

    async def _check_round(
        self,
        items: Sequence[tuple[Article | AnalysedArticle, datetime]],
        committed: Mapping[str, str],
        full_first: bool,
    ) -> list[ArticleVerdict]:
        """Verdicts for a prefix of ``items``: all, unless an article the ``MGET`` took for
        an exact copy is none by the time the script runs (then up to that article)."""
        plans = [_Plan(article, event_time, self) for article, event_time in items]
        keys = [key for plan in plans for key in (*plan.seen_keys, *plan.line_keys)]
        values = await self._call(self.client.mget(_wire(keys))) if keys else []
        # What the script will see of the earlier articles of this round: their seen marks
        # as committed (``@index``: their stories are known only after the script) and
        # their learned-boilerplate updates.
        ahead: dict[str, str] = dict(committed)
        lines: dict[str, LineMark | None] = {}
        at = 0
        for index, plan in enumerate(plans):
            nseen = len(plan.seen_keys)
            read = values[at : at + nseen]
            for key, value in zip(plan.line_keys, values[at + nseen :], strict=False):
                lines.setdefault(key, LineMark.decode(value))
            at += nseen + len(plan.line_keys)
            seen = [
                ahead.get(key) or value for key, value in zip(plan.seen_keys, read, strict=True)
            ]
            found = self._committed(list(plan.digests), seen, plan.event_ms)
            if found is not None and found[0] == "id":
                plan.duplicate_of = found[1]
                continue
            if found is None or (index == 0 and full_first):
                plan.fingerprint(lines, self.config.fingerprint, self._window_ms)
            for key in plan.seen_keys:
                ahead[key] = f"d|@{index}|{plan.event_ms}"
        scripted = [plan for plan in plans if plan.duplicate_of is None]
        replies = iter(await self._run_check(scripted, committed) if scripted else [])
        verdicts: list[ArticleVerdict] = []
        for plan in plans:
            if plan.duplicate_of is not None:
                story, state, reason = plan.duplicate_of, 1, "same-id"
            else:
                state, story, reason = next(replies)
                state, story, reason = int(state), _text(story), _text(reason)
                if state == 2:
                    break  # the rest is decided again, from fresh reads
            if story.startswith("@"):
                story = verdicts[int(story[1:])].story_id
            verdicts.append(plan.verdict(state == 1, story, reason or None))
        return verdicts

    def _committed(
        self, kinds: list[str], values: list[Any], event_ms: int
    ) -> tuple[str, str] | None:
        """(kind, story) of the first committed exact mark within the window, id first."""
        found: tuple[str, str] | None = None
        for kind, value in zip(kinds, values, strict=True):
            if value is None:
                continue
            state, story, ms, *_ = _text(value).split("|")
            if state == "d" and abs(event_ms - int(ms)) <= self._window_ms:
                if kind == "id":
                    return kind, story
                found = found or (kind, story)
        return found

    async def _run_check(self, plans: list[_Plan], committed: Mapping[str, str]) -> Any:
        """One CHECK_ARTICLES call for ``plans`` (non-duplicates, in order)."""
        args: list[str | int] = [
            self._window_ms,
            self._window_ms + self._grace_ms,
            self.config.fingerprint.min_band_hits,
            2 * self.config.fingerprint.bucket_bytes,  # hex characters per bucket
            len(committed),
        ]
        for key, value in committed.items():
            args += [key, value]
        keys: list[str] = [self._bands_key]
        for plan in plans:
            keys += [*plan.seen_keys, *plan.line_keys]
            args.append(
                "|".join(
                    (
                        str(len(plan.seen_keys)),
                        str(len(plan.line_keys)),
                        str(plan.event_ms),
                        plan.token,
                        story_id_for(plan.article),
                        plan.digests["id"],
                        "0" if plan.fingerprinted else "1",
                        plan.buckets,
                        *plan.digests,
                    )
                )
            )
        return await self._run(self._check, keys, args)

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
        """Each request's claims as if the earlier requests' claims had been committed:
        one script for the batch (again only for groups behind another owner's lease)."""
        return await claim_in_order(requests, self._claim_items, self.config)

    async def _claim_items(self, items: list[ClaimItem]) -> dict[ClaimItem, Decision | None]:
        requests: dict[int, int] = {}  # request index -> its 1-based position in ARGV
        groups: dict[str, int] = {}  # group key -> its 1-based position in KEYS
        head: list[str | int] = []
        tail: list[str | int] = []
        for item in items:
            if item.request not in requests:
                requests[item.request] = len(requests) + 1
                head.append(f"{to_ms(item.event_time)}|{item.token}")
            key = self._group_key(item.key.rule_id, item.story_id, item.key.lane)
            position = groups.setdefault(key, len(groups) + 1)
            ttl = self._group_ttl_ms(item.interval)
            tail.append(f"{requests[item.request]}|{position}|{delta_ms(item.interval)}|{ttl}")
        args = [delta_ms(self.config.pending_ttl), len(requests), *head, *tail]
        replies = await self._run(self._claim, list(groups), args)
        answers: dict[ClaimItem, Decision | None] = {}
        for item, (state, folded, seq) in zip(items, replies, strict=True):
            code = int(state)
            answers[item] = None if code == 2 else Decision(code == 1, int(folded), int(seq))
        return answers

    def _group_key(self, rule_id: str, story_id: str, lane: timedelta | None) -> str:
        return constants.alert_group_key(self.prefix, rule_id, story_id, lane_ms(lane))

    def _group_ttl_ms(self, interval: timedelta) -> int:
        return delta_ms(interval) + self._window_ms + self._grace_ms

    async def commit(self, verdict: ArticleVerdict, claims: Sequence[AlertClaim]) -> None:
        """Pending marks become done and folds are counted, in one script."""
        await self.commit_batch([(verdict, claims)])

    async def commit_batch(self, handoffs: Sequence[Handoff]) -> None:
        """:meth:`commit` for each hand-off, in order, in one script."""
        keys: list[str] = []
        args: list[str | int] = []
        for verdict, claims in handoffs:
            seen = [] if verdict.duplicate else list(verdict.seen_digests)
            keys += [constants.seen_article_key(self.prefix, d) for d in seen]
            value = f"d|{verdict.story_id}|{to_ms(verdict.event_time)}" if seen else ""
            args.append(f"{len(seen)}|{len(claims)}|{self._window_ms + self._grace_ms}|{value}")
            for claim in claims:
                keys.append(self._group_key(claim.rule_id, claim.story_id, claim.lane))
                args.append(
                    f"{1 if claim.send else 0}|{claim.sequence}|{to_ms(claim.event_time)}"
                    f"|{claim.duplicates_folded}|{self._group_ttl_ms(claim.repeat_interval)}"
                    f"|{claim.token}"
                )
        if keys:
            await self._run(self._commit, keys, args)

    async def abandon(self, verdict: ArticleVerdict, claims: Sequence[AlertClaim]) -> None:
        """Release this article's pending marks so a retry sends, in one script."""
        await self.abandon_batch([(verdict, claims)])

    async def abandon_batch(self, handoffs: Sequence[Handoff]) -> None:
        """:meth:`abandon` for each hand-off, in one script."""
        keys: list[str] = []
        args: list[str | int] = []
        for verdict, claims in handoffs:
            keys += [constants.seen_article_key(self.prefix, d) for d in verdict.seen_digests]
            sent = [claim for claim in claims if claim.send]
            args += [len(verdict.seen_digests), verdict.token, len(sent)]
            for claim in sent:
                keys.append(self._group_key(claim.rule_id, claim.story_id, claim.lane))
                args.append(claim.token)
        if keys:
            await self._run(self._abandon, keys, args)


class _Plan:
    """One article of a check round: its keys, and what the round learnt about it."""

    def __init__(
        self, item: Article | AnalysedArticle, event_time: datetime, store: RedisDedupe
    ) -> None:
        analysed = analyse(item)
        article = self.article = analysed.article
        self.event_time = event_time
        self.event_ms = to_ms(event_time)
        self.token = owner_token(article, event_time)
        self.parts = analysed.sentences
        self.digests = exact_digests(article, analysed.body_words())
        self.seen_keys = [
            constants.seen_article_key(store.prefix, d) for d in self.digests.values()
        ]
        self.edges = edge_digests(self.parts, store.config.fingerprint)
        self.line_keys = [
            constants.boilerplate_line_key(store.prefix, line_digest(article.source, d))
            for d in self.edges
        ]
        #: The band buckets in band order, concatenated (fixed width): one script argument.
        self.buckets = ""
        self.fingerprinted = False
        self.duplicate_of: str | None = None

    def fingerprint(
        self,
        lines: dict[str, LineMark | None],
        params: FingerprintParams,
        window_ms: int,
    ) -> None:
        """Band buckets from the fingerprint, learned boilerplate left out; then play this
        article's update of ``lines`` (what the script will write) for the later ones."""
        marks = {d: lines[key] for d, key in zip(self.edges, self.line_keys, strict=True)}
        skip = boilerplate(marks, self.event_ms, window_ms, params.boilerplate_articles)
        self.buckets = "".join(fingerprint(self.parts, params, skip).buckets)
        self.fingerprinted = True
        for key in self.line_keys:
            lines[key] = next_mark(lines[key], self.digests["id"], self.event_ms, window_ms)

    def verdict(self, duplicate: bool, story: str, reason: str | None) -> ArticleVerdict:
        """The verdict the script (or the ``MGET``, for a duplicate) gave."""
        return ArticleVerdict(
            article_id=self.article.id,
            duplicate=duplicate,
            story_id=story,
            reason=reason,
            event_time=self.event_time,
            token=self.token,
            seen_digests=() if duplicate else tuple(self.digests.values()),
        )


def open_redis_dedupe(settings: Settings) -> RedisDedupe:
    """The matcher's store: ``settings.redis_url``, ``redis_prefix`` and windows."""
    return RedisDedupe.from_url(
        settings.redis_url,
        prefix=settings.redis_prefix,
        config=DedupeConfig.from_settings(settings),
    )
