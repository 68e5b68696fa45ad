"""One alert per story: exact and near-duplicate dedupe, story ids, repeat windows.

The matcher calls a :class:`DedupeStore` in this order (records in :mod:`.contract`)::

    verdict = await store.check_article(article, article_time(article, record_ms))
    if verdict.duplicate:            # the same record again: skip it
        return
    claims = await store.claim_alerts(verdict.story_id, groups, verdict.event_time,
                                      repeat_interval, owner=verdict.token)
    try:
        publish(alerts for c in claims if c.send)
    except Exception:
        await store.abandon(verdict, claims)   # release pending marks; retry the article
        raise
    await store.commit(verdict, claims)        # only once the alerts are stored

The live matcher makes these calls for a whole Kafka batch, one per stage:
``check_articles``, ``claim_batch``, then ``commit_batch`` / ``abandon_batch``. A batch
decides exactly what the calls above decide one article at a time, each article seeing
the earlier ones of the batch as committed; so the batch is handed off as a whole.

Marks are *pending* until ``commit`` and leased, so a failed publish or a dead owner
loses no alert, and two matchers racing on one story send one alert. Windows compare
article times, so backtests reproduce live decisions. Modules: :mod:`.canonical`,
:mod:`.fingerprint`, :mod:`.boilerplate`, :mod:`.contract` (the port), :mod:`.memory`
(backtests, tests), :mod:`.redis_store` with :mod:`.scripts` (production); design and
guarantees in ``docs/dedupe.md``.
"""

from typing import Any

from newsalert.dedupe.contract import (
    AlertClaim,
    AlertKey,
    ArticleVerdict,
    ClaimRequest,
    DedupeConfig,
    DedupeError,
    DedupeStore,
    DedupeUnavailableError,
    Handoff,
    article_time,
    claim_alert_id,
    owner_token,
    story_id_for,
)
from newsalert.dedupe.fingerprint import FingerprintParams
from newsalert.dedupe.memory import MemoryDedupe

__all__ = [  # noqa: RUF022  (grouped: port, records, stores)
    "AlertClaim",
    "AlertKey",
    "ArticleVerdict",
    "ClaimRequest",
    "DedupeConfig",
    "DedupeError",
    "DedupeStore",
    "DedupeUnavailableError",
    "FingerprintParams",
    "Handoff",
    "MemoryDedupe",
    "RedisDedupe",
    "open_redis_dedupe",
    "article_time",
    "claim_alert_id",
    "owner_token",
    "story_id_for",
]


def __getattr__(name: str) -> Any:
    """``RedisDedupe`` and ``open_redis_dedupe`` load redis only when first used."""
    if name in {"RedisDedupe", "open_redis_dedupe"}:
        from newsalert.dedupe import redis_store

        return getattr(redis_store, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
