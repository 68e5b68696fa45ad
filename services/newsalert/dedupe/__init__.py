"""One alert per story: exact and near-duplicate dedupe, story ids, repeat windows.

A :class:`DedupeStore` (the port, records in :mod:`.contract`) is asked per batch of
articles: ``check_articles`` (duplicate? which story?), ``claim_batch`` (which alerts to
send), then ``commit_batch`` once the alerts are stored, or ``abandon_batch`` when the
publish failed. Marks are *pending* until the commit and leased, so a failed publish or
a dead owner loses no alert, and two matchers racing on one story send one alert.
Windows compare article times, so backtests reproduce live decisions.

Modules: :mod:`.canonical`, :mod:`.fingerprint`, :mod:`.boilerplate`, :mod:`.contract`,
:mod:`.memory` (backtests, tests), :mod:`.redis_store` with :mod:`.scripts`
(production). The call sequence, design and guarantees are in ``docs/dedupe.md``.
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
