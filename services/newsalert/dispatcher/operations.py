"""An operator's actions on deliveries, with the limits every front end applies.

The API routes (:mod:`newsalert.dispatcher.api`) and ``newsalert deliveries ...``
(:mod:`newsalert.dispatcher.cli`) both act through :class:`DeliveryOperations`, so a
limit holds whichever way an operator comes in: a subscription the config does not name
is refused before anything is written (a pause would otherwise create a state key for
it), a pause reason is 1 to :data:`MAX_REASON_CHARS` characters, and ``recover`` goes
back no further than the delivery log keeps records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from newsalert.dispatcher.keys import RETENTION_S
from newsalert.dispatcher.store import DeliveryStore
from newsalert.errors import NewsalertError
from newsalert.timespec import aware, from_ms, to_ms

#: Longest pause reason kept (it is stored with the subscription's state).
MAX_REASON_CHARS = 200
#: How far past the log's retention ``since`` may reach: ``--since 7d`` (all the log
#: keeps) is computed a moment before the check and must not be refused for that.
SINCE_SLACK_S = 60


class OperationError(NewsalertError):
    """An operator's request is refused; nothing was written."""


class UnknownTargetError(OperationError):
    """The subscription or delivery named does not exist (HTTP 404)."""


class InvalidRequestError(OperationError):
    """A value is outside its limits (HTTP 422)."""


def check_reason(reason: str) -> str:
    """``reason`` when it is 1 to :data:`MAX_REASON_CHARS` characters long."""
    if not 1 <= len(reason) <= MAX_REASON_CHARS:
        raise InvalidRequestError(
            f"the pause reason must be 1 to {MAX_REASON_CHARS} characters (got {len(reason)})"
        )
    return reason


def check_since(since: datetime, now_ms: int) -> datetime:
    """``since`` (naive means UTC) when the delivery log still keeps records that old."""
    when = aware(since)
    oldest_ms = now_ms - RETENTION_S * 1000
    if to_ms(when) < oldest_ms - SINCE_SLACK_S * 1000:
        kept = from_ms(oldest_ms).strftime("%Y-%m-%dT%H:%M:%SZ")
        raise InvalidRequestError(
            f"since is older than the delivery log keeps ({RETENTION_S // 86400} days): "
            f"use {kept} or later"
        )
    return when


class DeliveryOperations:
    """Redeliver, recover, pause and resume over ``store``, within the limits above.

    ``subscriptions`` gives the subscription ids of the config (read at each call, so a
    reloaded config counts at once).
    """

    def __init__(self, store: DeliveryStore, subscriptions: Callable[[], Iterable[str]]) -> None:
        self.store = store
        self._subscriptions = subscriptions

    def known(self, subscription_id: str) -> str:
        """``subscription_id`` when the config names it; :class:`UnknownTargetError` if not."""
        if subscription_id not in set(self._subscriptions()):
            raise UnknownTargetError(f"no subscription {subscription_id!r} in the config")
        return subscription_id

    async def redeliver(self, alert_or_delivery_id: str) -> list[str]:
        """Send again now: a webhook-id (msg_...) or every delivery of an alert (alrt_...).

        Only deliveries still in the log and of a subscription still configured; none
        is :class:`UnknownTargetError`.
        """
        log = self.store.log
        ids = [alert_or_delivery_id]
        if not alert_or_delivery_id.startswith("msg_"):
            ids = await log.deliveries_of_alert(alert_or_delivery_id) or ids
        configured = set(self._subscriptions())
        done: list[str] = []
        for dlv in ids:
            record = await log.get(dlv)
            in_log = record is not None and record.subscription_id in configured
            if in_log and await log.redeliver(dlv):
                done.append(dlv)
        if not done:
            raise UnknownTargetError(f"nothing to redeliver for {alert_or_delivery_id}")
        return done

    async def recover(self, subscription_id: str, since: datetime) -> list[str]:
        """Redeliver every failed delivery of the subscription created since ``since``."""
        when = check_since(since, self.store.now_ms())
        return await self.store.log.recover(self.known(subscription_id), to_ms(when))

    async def pause(self, subscription_id: str, reason: str) -> bool:
        """Stop delivering (alerts are kept); False when it already was paused."""
        return await self.store.pause(self.known(subscription_id), check_reason(reason))

    async def resume(self, subscription_id: str) -> int:
        """Deliver the kept alerts, in order; how many are queued."""
        return await self.store.resume(self.known(subscription_id))
