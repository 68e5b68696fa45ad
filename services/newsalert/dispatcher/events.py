"""Operational events about endpoints: failing, paused, recovered, resumed.

Every event is logged and counted; subscriptions with ``operational_events: true`` also
get it POSTed, signed like alerts (best effort, one attempt, never queued: an operator
endpoint that is down must not create more events). Both in-process collections are
bounded: the recent events kept for inspection, and the POSTs in flight (beyond
:data:`MAX_PENDING_POSTS` an event is logged and counted but not POSTed).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel

from newsalert import metrics
from newsalert.models import stable_id
from newsalert.subscriptions import Subscription
from newsalert.webhooks.sender import WebhookSender, describe
from newsalert.webhooks.signing import sign_request

log = logging.getLogger("newsalert.dispatcher.events")

#: Recent events kept in :attr:`EventSink.emitted` (tests, debugging); older ones drop off.
MAX_KEPT_EVENTS = 1000
#: Event POSTs in flight at most; an endpoint flapping faster than its operator webhook
#: answers must not pile up tasks.
MAX_PENDING_POSTS = 100

EventKind = Literal["failing", "paused", "recovered", "resumed"]


class EndpointEvent(BaseModel):
    """The body of an operational event POST."""

    type: str
    timestamp: datetime
    data: dict[str, Any]


class EventSink:
    """Logs, counts and (optionally) POSTs endpoint events."""

    def __init__(
        self,
        sender: WebhookSender | None,
        subscriptions: Callable[[], Sequence[Subscription]],
        *,
        timeout_s: float = 10.0,
    ) -> None:
        self._sender = sender
        self._subscriptions = subscriptions
        self._timeout_s = timeout_s
        self._tasks: set[asyncio.Task[None]] = set()
        #: The most recent events, oldest first, at most :data:`MAX_KEPT_EVENTS`.
        self.emitted: deque[tuple[EventKind, str]] = deque(maxlen=MAX_KEPT_EVENTS)

    @property
    def pending_posts(self) -> int:
        """Event POSTs running now."""
        return len(self._tasks)

    def emit(self, kind: EventKind, subscription_id: str, **detail: Any) -> None:
        """Record one event; POSTs happen in the background."""
        self.emitted.append((kind, subscription_id))
        metrics.ENDPOINT_EVENTS.labels(kind).inc()
        log.warning("endpoint %s: %s %s", kind, subscription_id, detail or "")
        if self._sender is None:
            return
        now = datetime.now(UTC)
        event = EndpointEvent(
            type=f"newsalert.endpoint.{kind}",
            timestamp=now,
            data={"subscription_id": subscription_id, **detail},
        )
        for target in self._subscriptions():
            if not target.operational_events:
                continue
            if len(self._tasks) >= MAX_PENDING_POSTS:
                metrics.ENDPOINT_EVENT_POSTS_DROPPED.inc()
                log.warning(
                    "operator webhook %s: %s event not POSTed (too many in flight)", target.id, kind
                )
                continue
            task = asyncio.create_task(self._post_safely(target, event, now))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _post_safely(self, target: Subscription, event: EndpointEvent, now: datetime) -> None:
        try:
            await self._post(target, event, now)
        except Exception as exc:  # best effort: a secret that cannot sign, say
            log.warning("operator webhook %s: event not sent: %s", target.id, describe(exc))

    async def _post(self, target: Subscription, event: EndpointEvent, now: datetime) -> None:
        assert self._sender is not None
        body = event.model_dump_json().encode()
        msg_id = stable_id("evt", event.type, str(event.data["subscription_id"]), now.isoformat())
        request = sign_request(target.signing_secrets(now), msg_id, int(now.timestamp()), body)
        result = await self._sender.post(
            target.url, request, timeout_s=target.timeout_s(self._timeout_s)
        )
        if result.status is None or not 200 <= result.status < 300:
            result = result.scrubbed(target.url)
            log.warning(
                "operator webhook %s did not take event: status %s, %s",
                target.id,
                result.status,
                result.error,
            )

    async def drain(self, timeout_s: float) -> None:
        """Wait (bounded) for event POSTs still running."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout_s)
