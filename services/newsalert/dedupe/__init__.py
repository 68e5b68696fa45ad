"""One alert per story: exact and near-duplicate dedupe, story ids, repeat windows.

The matcher calls a :class:`DedupeStore` four times per article::

    verdict = await store.check_article(article, article_time(article, record_ms))
    if verdict.duplicate:            # the same record (source, id) as a committed article
        return                       # skip; nothing to commit or abandon
    groups = ...                     # rules that matched the article (copies included), as
                                     # rule ids or AlertKey(rule, lane) per repeat lane
    claims = await store.claim_alerts(verdict.story_id, groups, verdict.event_time,
                                      repeat_interval,   # timedelta or {rule_id: timedelta}
                                      owner=verdict.token)
    try:
        publish(Alert(alert_id=c.alert_id, story_id=verdict.story_id,
                      duplicates_folded=c.duplicates_folded, ...) for c in claims if c.send)
    except Exception:
        await store.abandon(verdict, claims)   # release pending marks; then retry the article
        raise
    await store.commit(verdict, claims)        # only after the alerts are durably published

* ``ArticleVerdict``: ``duplicate`` (bool: a redelivery of a committed record),
  ``story_id`` (str: the story of an exact copy or near-duplicate seen within
  ``story_window`` in article time, else :func:`story_id_for` the article), ``reason``
  (``same-id`` for duplicates, ``same-url|same-body`` for exact copies under another
  id, which are matched, ``near-duplicate`` / ``copy-in-flight`` / ``None`` otherwise).
* ``AlertClaim`` (one per distinct (rule, lane)): ``send`` (first alert of (rule, story,
  lane) in the lane's repeat window), ``duplicates_folded`` (copies folded since the
  previous alert), ``sequence`` and ``alert_id`` (:func:`claim_alert_id`:
  ``models.alert_id(rule, story)`` for the first alert, a numbered variant for repeats
  after the interval), ``lane``.

Guarantees. Marks are written *pending* by ``check_article``/``claim_alerts`` and
become *done* only in ``commit``; ``abandon`` deletes them, and a pending alert mark
whose owner died frees itself after ``pending_ttl`` (a lease), so no alert is lost to
a mark. A copy that finds another owner's live lease waits for it to resolve (commit:
the copy folds; abandon or expiry: the copy claims and sends), so two matchers racing
on one story send one alert. A crash between publish and commit re-sends the same
``alert_id`` (the dispatcher drops repeats); with ``owner=verdict.token`` the redelivered
article takes its own lease over at once instead of waiting for it to expire. Windows
compare article times (``published_at``, else the Kafka timestamp), so backtests
reproduce live decisions.

Modules: :mod:`.canonical` (URL and body identity), :mod:`.fingerprint` (shingles,
MinHash, LSH bands), :mod:`.boilerplate` (learned bylines and footers), :mod:`.contract`
(this port and its records), :mod:`.memory` (backtests, unit tests), :mod:`.redis_store`
with :mod:`.scripts` (production). Design and figures: ``docs/dedupe.md``.
"""

from typing import Any

from newsalert.dedupe.contract import (
    AlertClaim,
    AlertKey,
    ArticleVerdict,
    DedupeConfig,
    DedupeError,
    DedupeStore,
    DedupeUnavailableError,
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
    "DedupeConfig",
    "DedupeError",
    "DedupeStore",
    "DedupeUnavailableError",
    "FingerprintParams",
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
