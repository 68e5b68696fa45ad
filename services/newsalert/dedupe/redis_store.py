"""Redis-backed dedupe store: the matcher's production store.

Every decision is one Lua script (:mod:`newsalert.dedupe.scripts`), so replicas racing
on copies of one story are serialised by Redis; ``check_article`` reads the exact
marks and the learned boilerplate marks with one ``MGET`` first. Every key gets a TTL:
exact, band and line marks live ``story_window + retention_grace``, alert groups
``repeat_interval + story_window + retention_grace`` (wall clock; the windows themselves
are checked against article times stored in the values, so backtests in their own prefix
behave like live).
Connection problems surface as :class:`DedupeUnavailableError`.

All keys of one call must live on one Redis node: plain Redis, Valkey or a primary with
replicas -- not Redis Cluster (keys of one call hash to different slots).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from redis import exceptions as redis_errors
from redis.asyncio import Redis

from newsalert import constants
from newsalert.dedupe import scripts
from newsalert.dedupe.boilerplate import LineMark, boilerplate, line_digest
from newsalert.dedupe.canonical import exact_digests
from newsalert.dedupe.contract import (
    AlertClaim,
    AlertKey,
    ArticleVerdict,
    Decision,
    DedupeConfig,
    DedupeError,
    DedupeUnavailableError,
    claims_of,
    delta_ms,
    intervals_for,
    lane_ms,
    owner_token,
    poll_claims,
    story_id_for,
    to_ms,
)
from newsalert.dedupe.fingerprint import body_words, edge_digests, fingerprint, sentences
from newsalert.models import Article
from newsalert.settings import Settings

_UNAVAILABLE = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    redis_errors.BusyLoadingError,
    redis_errors.ReadOnlyError,
    OSError,
)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


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
        self._check = client.register_script(scripts.CHECK_ARTICLE)
        self._claim = client.register_script(scripts.CLAIM_ALERTS)
        self._commit = client.register_script(scripts.COMMIT)
        self._abandon = client.register_script(scripts.ABANDON)
        self._window_ms = delta_ms(self.config.story_window)
        self._grace_ms = delta_ms(self.config.retention_grace)

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
        return await self._call(script(keys=keys, args=args))

    async def _call(self, pending: Awaitable[Any]) -> Any:
        try:
            return await pending
        except _UNAVAILABLE as exc:
            raise DedupeUnavailableError(f"redis unavailable: {exc}") from exc
        except redis_errors.RedisError as exc:
            raise DedupeError(f"redis dedupe script failed: {exc}") from exc

    async def ping(self) -> None:
        """Raise :class:`DedupeUnavailableError` unless Redis answers."""
        try:
            await self.client.ping()
        except (*_UNAVAILABLE, redis_errors.RedisError) as exc:
            raise DedupeUnavailableError(f"redis unavailable: {exc}") from exc

    async def check_article(self, article: Article, event_time: datetime) -> ArticleVerdict:
        """Classify ``article`` and assign its story id (one ``MGET``, then one script).

        The ``MGET`` reads the exact-duplicate marks with the learned-boilerplate marks:
        a committed record with the same id is a duplicate without a script, and an
        exact copy of a committed article (its story known) skips the fingerprint.
        """
        token = owner_token(article, event_time)
        event_ms = to_ms(event_time)
        parts = sentences(article.body or article.title)
        digests = exact_digests(article, body_words(article, parts))
        seen_keys = [constants.seen_article_key(self.prefix, d) for d in digests.values()]
        params = self.config.fingerprint
        edges = edge_digests(parts, params)
        line_keys = [
            constants.boilerplate_line_key(self.prefix, line_digest(article.source, d))
            for d in edges
        ]
        values = await self._call(self.client.mget(seen_keys + line_keys))
        done = self._committed(list(digests), values[: len(seen_keys)], event_ms)
        reply: tuple[bool, str, str | None] | None = None
        if done is not None and done[0] == "id":
            reply = (True, done[1], "same-id")  # a redelivery: no script needed
        elif done is not None:
            reply = await self._run_check(
                seen_keys, [], [], digests, event_ms, token, article, exact=True
            )
        if reply is None:  # not an exact copy (or its mark expired in between)
            lines = values[len(seen_keys) :]
            marks = {d: LineMark.decode(v) for d, v in zip(edges, lines, strict=True)}
            skip = boilerplate(marks, event_ms, self._window_ms, params.boilerplate_articles)
            buckets = fingerprint(parts, params, skip).buckets
            band_keys = [
                constants.story_band_key(self.prefix, band, bucket)
                for band, bucket in enumerate(buckets)
            ]
            reply = await self._run_check(
                seen_keys, band_keys, line_keys, digests, event_ms, token, article, exact=False
            )
            assert reply is not None, "the full check always decides"
        duplicate, story, reason = reply
        return ArticleVerdict(
            article_id=article.id,
            duplicate=duplicate,
            story_id=story,
            reason=reason,
            event_time=event_time,
            token=token,
            seen_digests=() if duplicate else tuple(digests.values()),
        )

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

    async def _run_check(
        self,
        seen_keys: list[str],
        band_keys: list[str],
        line_keys: list[str],
        digests: dict[str, str],
        event_ms: int,
        token: str,
        article: Article,
        *,
        exact: bool,
    ) -> tuple[bool, str, str | None] | None:
        """One CHECK_ARTICLE call; ``None`` when it was told the article is an exact copy
        (``exact``: no bands given) and found no committed mark after all."""
        args: list[str | int] = [
            len(seen_keys),
            event_ms,
            self._window_ms,
            self._window_ms + self._grace_ms,
            token,
            story_id_for(article),
            self.config.fingerprint.min_band_hits,
            *digests,
            len(line_keys),
            digests["id"],
            1 if exact else 0,
        ]
        keys = seen_keys + band_keys + line_keys
        state, story, reason = await self._run(self._check, keys, args)
        if int(state) == 2:
            return None
        return bool(int(state)), _text(story), _text(reason) or None

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
        intervals = intervals_for(rule_ids, repeat_interval)
        event_ms = to_ms(event_time)
        token = owner or uuid.uuid4().hex

        async def attempt(waiting: list[AlertKey]) -> dict[AlertKey, Decision | None]:
            keys = [self._group_key(key.rule_id, story_id, key.lane) for key in waiting]
            args: list[str | int] = [token, event_ms, delta_ms(self.config.pending_ttl)]
            for key in waiting:
                args += [delta_ms(intervals[key]), self._group_ttl_ms(intervals[key])]
            replies = await self._run(self._claim, keys, args)
            answers: dict[AlertKey, Decision | None] = {}
            for key, (state, folded, seq) in zip(waiting, replies, strict=True):
                code = int(state)
                answers[key] = None if code == 2 else Decision(code == 1, int(folded), int(seq))
            return answers

        if not intervals:
            return []
        decided = await poll_claims(attempt, list(intervals), self.config)
        return claims_of(story_id, intervals, decided, event_time, token)

    def _group_key(self, rule_id: str, story_id: str, lane: timedelta | None) -> str:
        return constants.alert_group_key(self.prefix, rule_id, story_id, lane_ms(lane))

    def _group_ttl_ms(self, interval: timedelta) -> int:
        return delta_ms(interval) + self._window_ms + self._grace_ms

    async def commit(self, verdict: ArticleVerdict, claims: Sequence[AlertClaim]) -> None:
        """Pending marks become done and folds are counted, in one script."""
        seen = [] if verdict.duplicate else list(verdict.seen_digests)
        keys = [constants.seen_article_key(self.prefix, d) for d in seen]
        value = f"d|{verdict.story_id}|{to_ms(verdict.event_time)}" if seen else ""
        args: list[str | int] = [len(seen), value, self._window_ms + self._grace_ms]
        for claim in claims:
            keys.append(self._group_key(claim.rule_id, claim.story_id, claim.lane))
            args += [
                1 if claim.send else 0,
                claim.token,
                claim.sequence,
                to_ms(claim.event_time),
                claim.duplicates_folded,
                self._group_ttl_ms(claim.repeat_interval),
            ]
        if keys:
            await self._run(self._commit, keys, args)

    async def abandon(self, verdict: ArticleVerdict, claims: Sequence[AlertClaim]) -> None:
        """Release this article's pending marks so a retry sends, in one script."""
        keys = [constants.seen_article_key(self.prefix, d) for d in verdict.seen_digests]
        args: list[str | int] = [len(keys), verdict.token]
        for claim in claims:
            if claim.send:
                keys.append(self._group_key(claim.rule_id, claim.story_id, claim.lane))
                args.append(claim.token)
        if keys:
            await self._run(self._abandon, keys, args)


def open_redis_dedupe(settings: Settings) -> RedisDedupe:
    """The matcher's store: ``settings.redis_url``, ``redis_prefix`` and windows."""
    return RedisDedupe.from_url(
        settings.redis_url,
        prefix=settings.redis_prefix,
        config=DedupeConfig.from_settings(settings),
    )
