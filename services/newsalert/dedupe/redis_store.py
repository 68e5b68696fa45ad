"""Redis-backed dedupe store: the matcher's production store.

Every decision is one Lua script (:mod:`newsalert.dedupe.scripts`), so replicas racing
on copies of one story are serialised by Redis; ``check_article`` reads the learned
boilerplate marks with one ``MGET`` first. Every key gets a TTL: exact, band and line
marks live ``story_window + retention_grace``, alert groups ``repeat_interval +
story_window + retention_grace`` (wall clock; the windows themselves are checked against
article times stored in the values, so backtests in their own prefix behave like live).
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
    ArticleVerdict,
    Decision,
    DedupeConfig,
    DedupeError,
    DedupeUnavailableError,
    claim_alert_id,
    delta_ms,
    intervals_for,
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
        """Classify ``article`` and assign its story id (one ``MGET``, one script)."""
        token = owner_token(article, event_time)
        event_ms = to_ms(event_time)
        parts = sentences(article.body or article.title)
        digests = exact_digests(article, body_words(article, parts))
        params = self.config.fingerprint
        edges = edge_digests(parts, params)
        line_keys = [
            constants.boilerplate_line_key(self.prefix, line_digest(article.source, d))
            for d in edges
        ]
        marks: dict[str, LineMark | None] = {}
        if line_keys:
            values = await self._call(self.client.mget(line_keys))
            marks = {d: LineMark.decode(v) for d, v in zip(edges, values, strict=True)}
        skip = boilerplate(marks, event_ms, self._window_ms, params.boilerplate_articles)
        buckets = fingerprint(parts, params, skip).buckets
        keys = [constants.seen_article_key(self.prefix, d) for d in digests.values()]
        keys += [
            constants.story_band_key(self.prefix, band, bucket)
            for band, bucket in enumerate(buckets)
        ]
        keys += line_keys
        args: list[str | int] = [
            len(digests),
            event_ms,
            self._window_ms,
            self._window_ms + self._grace_ms,
            token,
            story_id_for(article),
            params.min_band_hits,
            *digests,
            len(line_keys),
            digests["id"],
        ]
        duplicate, story, reason = await self._run(self._check, keys, args)
        return ArticleVerdict(
            article_id=article.id,
            duplicate=bool(int(duplicate)),
            story_id=_text(story),
            reason=_text(reason) or None,
            event_time=event_time,
            token=token,
            seen_digests=() if int(duplicate) else tuple(digests.values()),
        )

    async def claim_alerts(
        self,
        story_id: str,
        rule_ids: Sequence[str],
        event_time: datetime,
        repeat_interval: timedelta | Mapping[str, timedelta],
        *,
        owner: str | None = None,
    ) -> list[AlertClaim]:
        """One claim per distinct rule; waits while another owner holds a live lease."""
        intervals = intervals_for(rule_ids, repeat_interval)
        event_ms = to_ms(event_time)
        token = owner or uuid.uuid4().hex

        async def attempt(waiting: list[str]) -> dict[str, Decision | None]:
            keys = [constants.alert_group_key(self.prefix, r, story_id) for r in waiting]
            args: list[str | int] = [token, event_ms, delta_ms(self.config.pending_ttl)]
            for rule_id in waiting:
                args += [delta_ms(intervals[rule_id]), self._group_ttl_ms(intervals[rule_id])]
            replies = await self._run(self._claim, keys, args)
            answers: dict[str, Decision | None] = {}
            for rule_id, (state, folded, seq) in zip(waiting, replies, strict=True):
                code = int(state)
                answers[rule_id] = None if code == 2 else Decision(code == 1, int(folded), int(seq))
            return answers

        if not intervals:
            return []
        decided = await poll_claims(attempt, list(intervals), self.config)
        return [
            AlertClaim(
                rule_id=rule_id,
                story_id=story_id,
                send=decided[rule_id].send,
                duplicates_folded=decided[rule_id].folded,
                sequence=decided[rule_id].sequence,
                alert_id=claim_alert_id(rule_id, story_id, decided[rule_id].sequence),
                event_time=event_time,
                repeat_interval=intervals[rule_id],
                token=token,
            )
            for rule_id in intervals
        ]

    def _group_ttl_ms(self, interval: timedelta) -> int:
        return delta_ms(interval) + self._window_ms + self._grace_ms

    async def commit(self, verdict: ArticleVerdict, claims: Sequence[AlertClaim]) -> None:
        """Pending marks become done and folds are counted, in one script."""
        seen = [] if verdict.duplicate else list(verdict.seen_digests)
        keys = [constants.seen_article_key(self.prefix, d) for d in seen]
        value = f"d|{verdict.story_id}|{to_ms(verdict.event_time)}" if seen else ""
        args: list[str | int] = [len(seen), value, self._window_ms + self._grace_ms]
        for claim in claims:
            keys.append(constants.alert_group_key(self.prefix, claim.rule_id, claim.story_id))
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
                keys.append(constants.alert_group_key(self.prefix, claim.rule_id, claim.story_id))
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
