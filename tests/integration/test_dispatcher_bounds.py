"""In-process state of the dispatcher stays bounded however much traffic or churn it sees.

Real HTTP receivers (and, for the churn case, the real broker and Redis): the recent
events, the event POSTs in flight, the tasks of retired workers and the demo inbox's
history are each capped or forgotten once done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
from prometheus_client import REGISTRY

from newsalert.dispatcher.events import MAX_KEPT_EVENTS, MAX_PENDING_POSTS, EventSink
from newsalert.dispatcher.service import DispatcherService
from newsalert.models import delivery_id
from newsalert.receiver import ReceivedRequest, Reply, WebhookInbox
from newsalert.settings import Settings
from newsalert.subscriptions import Subscription
from newsalert.webhooks.sender import WebhookSender
from newsalert.webhooks.ssrf import AddressPolicy
from tests.integration.test_dispatcher_support import (
    eventually,
    make_alert,
    publish_alerts,
    record_status,
    running_dispatcher,
    subscription,
)

pytestmark = pytest.mark.integration

LOOPBACK = AddressPolicy.from_strings(["127.0.0.0/8"])


def _dropped() -> float:
    name = "newsalert_endpoint_event_posts_dropped_total"
    return REGISTRY.get_sample_value(name) or 0.0


async def test_event_sink_keeps_recent_events_and_caps_posts_in_flight() -> None:
    release = asyncio.Event()

    async def hang(_request: ReceivedRequest) -> Reply:
        await release.wait()
        return Reply(200)

    operator = WebhookInbox(hang)
    await operator.start()
    ops = subscription("ops", operator.url, operational_events=True, timeout="60s")
    sender = WebhookSender(LOOPBACK, timeout_s=60)
    sink = EventSink(sender, lambda: [ops], timeout_s=60)
    emitted = MAX_KEPT_EVENTS + 25
    dropped_before = _dropped()
    try:
        for n in range(emitted):
            sink.emit("failing", f"sub-{n}")
        assert len(sink.emitted) == MAX_KEPT_EVENTS
        assert sink.emitted[-1] == ("failing", f"sub-{emitted - 1}")
        assert sink.emitted[0] == ("failing", f"sub-{emitted - MAX_KEPT_EVENTS}")
        assert sink.pending_posts == MAX_PENDING_POSTS
        assert _dropped() - dropped_before == emitted - MAX_PENDING_POSTS
        await operator.wait_for(MAX_PENDING_POSTS, timeout_s=30)
        release.set()
        await sink.drain(30)
        assert sink.pending_posts == 0
    finally:
        release.set()
        await sender.aclose()
        await operator.stop()
    assert operator.total == MAX_PENDING_POSTS


async def test_an_event_that_cannot_be_signed_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    operator = WebhookInbox()
    await operator.start()
    broken = Subscription.model_construct(
        id="ops", url=operator.url, secret="whsec_!!not*base64!!", operational_events=True
    )
    sender = WebhookSender(LOOPBACK, timeout_s=5)
    sink = EventSink(sender, lambda: [broken])
    try:
        sink.emit("paused", "down", reason="test")
        await sink.drain(10)
    finally:
        await sender.aclose()
        await operator.stop()
    assert operator.total == 0
    assert "event not sent: SignatureError" in caplog.text


async def test_subscription_churn_leaves_no_tasks_behind(settings: Settings) -> None:
    inbox = WebhookInbox()
    await inbox.start()
    steady = subscription("steady", inbox.url)
    subs = [steady]  # the dispatcher reads this list; the test changes it in place
    try:
        async with running_dispatcher(settings, subs) as service:
            for n in range(4):
                subs[:] = [steady, subscription(f"churn-{n}", inbox.url)]
                await _until(lambda: set(service.workers) == {s.id for s in subs})
            subs[:] = [steady]
            await _until(lambda: set(service.workers) == {"steady"})
            assert len(service._tasks) == 2  # consume + supervise
            await _until(lambda: not service._retiring)
            sentinel = make_alert(1)
            await publish_alerts(settings, [sentinel])
            dlv = delivery_id("steady", sentinel.rule.id, sentinel.story_id)
            await eventually(lambda: _is_delivered(service, dlv))
    finally:
        await inbox.stop()
    assert [r.headers["webhook-id"] for r in inbox.received] == [dlv]


async def _is_delivered(service: DispatcherService, dlv: str) -> bool:
    return await record_status(service, dlv) == "delivered"


async def _until(check: Callable[[], bool], timeout_s: float = 30.0) -> None:
    async def holds() -> bool:
        return check()

    await eventually(holds, timeout_s)


async def test_a_long_running_inbox_keeps_only_recent_requests() -> None:
    inbox = WebhookInbox(keep=2)
    await inbox.start()
    try:
        async with httpx.AsyncClient() as client:
            for n in range(5):
                reply = await client.post(f"{inbox.url}/{n}", content=b"{}")
                assert reply.status_code == 200
        await inbox.wait_for(5, timeout_s=5)
    finally:
        await inbox.stop()
    assert inbox.total == 5
    assert [r.path for r in inbox.received] == ["/3", "/4"]
