"""Helpers shared by the dispatcher integration tests (no tests here).

A module of the test package rather than conftest fixtures, so the dispatcher tests
stay self-contained in the files the dispatcher owner maintains.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from standardwebhooks.webhooks import Webhook

from newsalert import constants
from newsalert.dispatcher.keys import DispatcherKeys
from newsalert.dispatcher.service import DispatcherService
from newsalert.kafka import ensure_topics, make_producer, send_all
from newsalert.models import Alert, ArticleRef, RuleRef, alert_id
from newsalert.receiver import ReceivedRequest
from newsalert.settings import Settings
from newsalert.subscriptions import Subscription

SECRET = "whsec_" + base64.b64encode(b"newsalert-test-secret-0123456789").decode()
OLD_SECRET = "whsec_" + base64.b64encode(b"newsalert-old-secret-9876543210").decode()


def make_alert(n: int, rule: str = "rule-a", *, created_at: datetime | None = None) -> Alert:
    """A distinct alert number ``n`` for ``rule``."""
    story = f"story-{uuid.uuid4().hex[:8]}-{n}"
    return Alert(
        alert_id=alert_id(rule, story),
        rule=RuleRef(id=rule, title=f"Rule {rule}"),
        article=ArticleRef(id=f"art-{n}", title=f"Headline {n}", url=f"https://example.org/{n}"),
        story_id=story,
        matched=["ambassador"],
        tags=["diplomacy"],
        created_at=created_at or datetime.now(UTC),
    )


def subscription(sub_id: str, url: str, **policy: Any) -> Subscription:
    """A subscription to every rule, signed with :data:`SECRET`."""
    return Subscription.model_validate({"id": sub_id, "url": url, "secret": SECRET, **policy})


async def publish_alerts(settings: Settings, alerts: Sequence[Alert]) -> None:
    """Put ``alerts`` on the alerts topic as the matcher does."""
    topic = settings.topic(constants.TOPIC_ALERTS)
    await ensure_topics(settings, [topic, settings.topic(constants.TOPIC_ALERTS_DLQ)])
    producer = make_producer(settings)
    await producer.start()
    try:
        await send_all(
            producer,
            [(topic, a.alert_id.encode(), a.model_dump_json().encode(), None) for a in alerts],
        )
    finally:
        await producer.stop()


@asynccontextmanager
async def running_dispatcher(
    settings: Settings, subs: Sequence[Subscription], **options: Any
) -> AsyncIterator[DispatcherService]:
    """A started dispatcher for ``subs``; stopped gracefully on exit."""
    service = DispatcherService(settings, lambda: subs, **options)
    await service.start()
    try:
        yield service
    finally:
        await service.stop()


def verified(request: ReceivedRequest, secret: str = SECRET) -> dict[str, Any]:
    """The JSON body of ``request`` after checking its signature with standardwebhooks."""
    payload = Webhook(secret).verify(request.body, request.headers)
    assert isinstance(payload, dict)
    return payload


def body_of(request: ReceivedRequest) -> dict[str, Any]:
    """The JSON body of ``request`` (unverified)."""
    data = json.loads(request.body)
    assert isinstance(data, dict)
    return data


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 30.0) -> None:
    """Wait until ``check()`` is true (polling); fails the test on timeout."""
    async with asyncio.timeout(timeout_s):
        while not await check():  # noqa: ASYNC110 (polls Redis state, not an in-process flag)
            await asyncio.sleep(0.05)


async def record_status(service: DispatcherService, dlv: str) -> str | None:
    """The delivery log status of ``dlv`` (``None`` when unknown)."""
    record = await service.store.log.get(dlv)
    return None if record is None else record.status.value


async def drained(settings: Settings, subscription_id: str, timeout_s: float = 30.0) -> None:
    """Wait until nothing is due or leased for the subscription.

    Then no delivery of it can be attempted again until a new alert comes: a duplicate
    or an extra attempt would already have been made (and counted) by now.
    """
    keys = DispatcherKeys(settings.redis_prefix)
    redis = Redis.from_url(settings.redis_url)
    try:

        async def empty() -> bool:
            due = await redis.zcard(keys.due(subscription_id))
            leased = await redis.zcard(keys.inflight(subscription_id))
            return int(due) + int(leased) == 0

        await eventually(empty, timeout_s)
    finally:
        await redis.aclose()
