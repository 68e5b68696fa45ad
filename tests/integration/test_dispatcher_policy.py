"""The delivery policy end to end: retries, rotation, 410, 429, redirects, DLQ, isolation."""

from __future__ import annotations

import asyncio
import functools
import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from newsalert import constants
from newsalert.dispatcher.deadletter import parse_dead_letter
from newsalert.dispatcher.service import DispatcherService
from newsalert.dispatcher.store import Claim
from newsalert.kafka import make_producer, send_all
from newsalert.models import delivery_id
from newsalert.receiver import ReceivedRequest, Reply, WebhookInbox
from newsalert.settings import Settings
from tests.integration.pipeline_harness import read_topic
from tests.integration.sentinel import settle_alerts
from tests.integration.test_dispatcher_support import (
    OLD_SECRET,
    SECRET,
    body_of,
    drained,
    eventually,
    make_alert,
    publish_alerts,
    record_status,
    running_dispatcher,
    subscription,
    verified,
)

pytestmark = pytest.mark.integration


def _fast(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_timeout_s": 2.0})


async def test_500_three_times_then_200_is_one_delivery_in_four_attempts(
    settings: Settings,
) -> None:
    answers = Counter[str]()

    def flaky(request: ReceivedRequest) -> Reply:
        answers[request.headers["webhook-id"]] += 1
        return Reply(500 if answers[request.headers["webhook-id"]] <= 3 else 200)

    inbox = WebhookInbox(flaky)
    await inbox.start()
    rotated = datetime.now(UTC) - timedelta(hours=1)  # inside the 24 h overlap window
    sub = subscription(
        "flaky",
        inbox.url,
        secrets=[{"secret": OLD_SECRET, "rotated_at": rotated.isoformat()}],
        retry_schedule=["200ms", "200ms", "200ms", "200ms", "200ms"],
    )
    alert = make_alert(1)
    dlv = delivery_id("flaky", alert.rule.id, alert.story_id)
    try:
        async with running_dispatcher(_fast(settings), [sub]) as service:
            await publish_alerts(settings, [alert])
            await eventually(lambda: _is(service, dlv, "delivered"))
            await drained(settings, "flaky")  # a fifth attempt would have happened by now
            record = await service.store.log.get(dlv)
            events = list(service.events.emitted)
    finally:
        await inbox.stop()
    assert len(inbox.received) == 4
    assert {req.headers["webhook-id"] for req in inbox.received} == {dlv}
    for request in inbox.received:
        assert len(request.headers["webhook-signature"].split(" ")) == 2
        assert verified(request, SECRET)["data"]["alert_id"] == dlv
        assert verified(request, OLD_SECRET)["data"]["alert_id"] == dlv
    assert record is not None
    assert record.attempts == 4
    assert [a.status for a in record.history] == [500, 500, 500, 200]
    assert all(a.latency_ms >= 0 for a in record.history)
    assert record.history[0].next_at is not None
    assert events == [("failing", "flaky"), ("recovered", "flaky")]


async def _is(service: DispatcherService, dlv: str, status: str) -> bool:
    return await record_status(service, dlv) == status


class PausedClaims:
    """What each claim of one subscription's worker found: ``True`` when it found the
    subscription paused (and claimed nothing).

    Waiting for the worker's next claims is the proof that a paused subscription sends
    nothing: each claim is where the worker would take a delivery to send, so two claims
    that found it paused after the last alert was kept mean it looked again and took
    none; a claim that takes a delivery while paused is recorded as ``False``.
    """

    def __init__(self, service: DispatcherService, subscription_id: str) -> None:
        self.found: list[bool] = []
        claim = service.store.claim_batch

        async def watched(sub_id: str, limit: int, lease_s: float) -> Claim:
            result = await claim(sub_id, limit, lease_s)
            if sub_id == subscription_id:
                self.found.append(result.paused)
            return result

        service.store.claim_batch = watched  # type: ignore[method-assign]

    async def two_more(self) -> None:
        """Wait for two more claims; fails when one of them took something."""
        start = len(self.found)

        async def done() -> bool:
            return len(self.found) >= start + 2

        await eventually(done)
        assert all(self.found[start:]), "a paused subscription's worker claimed a delivery"


async def test_410_pauses_and_resume_delivers_the_kept_alerts_in_order(
    settings: Settings,
) -> None:
    gone = True
    while_gone: list[ReceivedRequest] = []  # every request that came before the resume

    def answer(request: ReceivedRequest) -> Reply:
        if gone:
            while_gone.append(request)
            return Reply(410)
        return Reply(200)

    inbox = WebhookInbox(answer)
    await inbox.start()
    sub = subscription("gone", inbox.url, max_in_flight=1, retry_schedule=["100ms"])
    alerts = [make_alert(n) for n in range(4)]
    try:
        async with running_dispatcher(_fast(settings), [sub]) as service:
            claims = PausedClaims(service, "gone")
            await publish_alerts(settings, alerts[:1])
            await inbox.wait_for(1, timeout_s=30)
            await eventually(lambda: _paused(service, "gone"))
            for queued, alert in enumerate(alerts[1:], start=2):
                # One at a time: Kafka orders per partition only, the test wants a known order.
                await publish_alerts(settings, [alert])
                await eventually(functools.partial(_queued, service, "gone", queued))
            await claims.two_more()  # paused: the worker looked again and took nothing...
            gone = False
            assert await service.store.resume("gone") == 4  # ...and nothing was dropped
            # Sentinel alerts behind the kept ones: with one attempt in flight, the worker
            # has sent everything it will ever send of the kept alerts once they arrived.
            sentinels = await settle_alerts(
                settings, inbox, {"gone": lambda partition: make_alert(100 + partition)}
            )
            last = delivery_id("gone", alerts[-1].rule.id, alerts[-1].story_id)
            await eventually(lambda: _is(service, last, "delivered"))
            events = list(service.events.emitted)
    finally:
        await inbox.stop()
    # Paused: nothing more was sent before the resume, however late, and after it each
    # kept alert exactly once, in order.
    assert len(while_gone) == 1
    order = [body_of(req)["data"]["article"]["id"] for req in sentinels.others(inbox.received)]
    assert order == [a.article.id for a in [alerts[0], *alerts]]
    assert ("paused", "gone") in events
    assert ("resumed", "gone") in events


async def _paused(service: DispatcherService, sub_id: str) -> bool:
    return await service.store.paused_reason(sub_id) is not None


async def _queued(service: DispatcherService, sub_id: str, count: int) -> bool:
    return await service.store.queued(sub_id) == count


async def test_429_retry_after_is_honoured(settings: Settings) -> None:
    seen = Counter[str]()

    def throttle_once(request: ReceivedRequest) -> Reply:
        seen[request.headers["webhook-id"]] += 1
        if seen[request.headers["webhook-id"]] == 1:
            return Reply(429, {"Retry-After": "2"})
        return Reply(200)

    inbox = WebhookInbox(throttle_once)
    await inbox.start()
    sub = subscription("throttled", inbox.url, retry_schedule=["100ms", "100ms"])
    try:
        async with running_dispatcher(_fast(settings), [sub]):
            await publish_alerts(settings, [make_alert(1)])
            first, second = (await inbox.wait_for(2, timeout_s=30))[:2]
    finally:
        await inbox.stop()
    # The schedule alone would retry after ~0.2 s; the receiver asked for 2 s.
    assert second.received_at - first.received_at >= 2.0
    assert first.headers["webhook-id"] == second.headers["webhook-id"]


async def test_redirects_are_not_followed_and_exhausted_alerts_reach_the_dlq(
    settings: Settings,
) -> None:
    target = WebhookInbox()
    await target.start()
    redirect = True
    inbox = WebhookInbox(
        lambda _req: Reply(302, {"Location": f"{target.url}/x"}) if redirect else Reply(200)
    )
    await inbox.start()
    sub = subscription("redirecting", inbox.url, retry_schedule=["100ms"])
    alert = make_alert(1)
    dlv = delivery_id("redirecting", alert.rule.id, alert.story_id)
    try:
        async with running_dispatcher(_fast(settings), [sub]) as service:
            await publish_alerts(settings, [alert])
            await eventually(lambda: _is(service, dlv, "failed"))
            [record] = await read_topic(settings, constants.TOPIC_ALERTS_DLQ, 1, 30)
            # recover --since resends dead-lettered deliveries once the endpoint is fixed.
            redirect = False
            recovered = await service.store.log.recover("redirecting", 0)
            await eventually(lambda: _is(service, dlv, "delivered"))
    finally:
        await inbox.stop()
        await target.stop()
    assert target.received == []
    assert len(inbox.received) == 3
    letter = parse_dead_letter(record.value)
    assert letter.delivery_id == dlv
    assert letter.reason == "retries exhausted after 2 attempts"
    assert [a.status for a in letter.attempts] == [302, 302]
    assert letter.alert.alert_id == alert.alert_id
    assert dict(record.headers)[constants.HEADER_DLQ_REASON] == letter.reason.encode()
    assert recovered == [dlv]


async def test_alerts_older_than_max_alert_age_go_to_the_dlq_unsent(settings: Settings) -> None:
    inbox = WebhookInbox()
    await inbox.start()
    sub = subscription("fresh-only", inbox.url, max_alert_age="1h")
    stale = make_alert(1, created_at=datetime.now(UTC) - timedelta(hours=2))
    fresh = make_alert(2)
    try:
        async with running_dispatcher(_fast(settings), [sub]):
            await publish_alerts(settings, [stale, fresh])
            [record] = await read_topic(settings, constants.TOPIC_ALERTS_DLQ, 1, 30)
            await inbox.wait_for(1, timeout_s=30)
    finally:
        await inbox.stop()
    letter = parse_dead_letter(record.value)
    assert letter.alert.alert_id == stale.alert_id
    assert "max_alert_age" in letter.reason
    assert letter.attempts == []
    assert [body_of(r)["data"]["article"]["id"] for r in inbox.received] == [fresh.article.id]


async def test_a_hanging_endpoint_does_not_hold_back_a_fast_one(settings: Settings) -> None:
    release = asyncio.Event()

    async def hang(_request: ReceivedRequest) -> Reply:
        await release.wait()
        return Reply(200)

    slow = WebhookInbox(hang)
    fast = WebhookInbox()
    await slow.start()
    await fast.start()
    subs = [
        subscription("slow", slow.url, timeout="60s", max_in_flight=2),
        subscription("fast", fast.url),
    ]
    alerts = [make_alert(n) for n in range(20)]
    try:
        async with running_dispatcher(settings, subs):
            await publish_alerts(settings, alerts)
            await fast.wait_for(20, timeout_s=30)
            # Every fast delivery completed while the slow endpoint holds (or is about to
            # receive) its two requests unanswered: its queue never blocked the fast one,
            # and its in-flight cap holds while it hangs.
            assert not release.is_set()
            await slow.wait_for(2, timeout_s=30)
            assert len(slow.received) == 2
            release.set()
            await slow.wait_for(20, timeout_s=30)
    finally:
        release.set()
        await slow.stop()
        await fast.stop()
    assert len({r.headers["webhook-id"] for r in fast.received}) == 20


async def test_failing_endpoint_is_paused_and_operator_webhook_gets_signed_events(
    settings: Settings,
) -> None:
    down = True
    while_down: list[ReceivedRequest] = []  # every request that came before the resume

    def answer(request: ReceivedRequest) -> Reply:
        if down:
            while_down.append(request)
            return Reply(500)
        return Reply(200)

    failing = WebhookInbox(answer)
    operator = WebhookInbox()
    await failing.start()
    await operator.start()
    subs = [
        subscription(
            "down",
            failing.url,
            pause_after_failures=3,
            retry_schedule=["100ms"] * 5,
            max_in_flight=1,
        ),
        subscription("ops", operator.url, rules=["no-such-rule"], operational_events=True),
    ]
    alert = make_alert(1)
    try:
        async with running_dispatcher(_fast(settings), subs) as service:
            claims = PausedClaims(service, "down")
            await publish_alerts(settings, [alert])
            await eventually(lambda: _paused(service, "down"))
            events = await operator.wait_for(2, timeout_s=30)
            await claims.two_more()  # no fourth attempt is claimed...
            assert await service.store.queued("down") == 1  # ...the alert is kept
            down = False
            assert await service.store.resume("down") == 1
            # Sentinel alerts behind the kept one: with one attempt in flight, the worker
            # has sent everything it will ever send of the kept alert once they arrived.
            sentinels = await settle_alerts(
                settings, failing, {"down": lambda partition: make_alert(100 + partition)}
            )
    finally:
        await failing.stop()
        await operator.stop()
    # Paused after the third failure: no fourth attempt before the resume, however late,
    # and the kept alert sent once after it.
    assert len(while_down) == 3
    dlv = delivery_id("down", alert.rule.id, alert.story_id)
    assert [r.headers["webhook-id"] for r in sentinels.others(failing.received)] == [dlv] * 4
    bodies = [verified(request) for request in events]
    assert [b["type"] for b in bodies] == [
        "newsalert.endpoint.failing",
        "newsalert.endpoint.paused",
    ]
    assert all(b["data"]["subscription_id"] == "down" for b in bodies)
    assert "3 consecutive" in bodies[1]["data"]["reason"]


async def test_undecodable_alert_records_go_to_the_dlq_and_later_alerts_flow(
    settings: Settings,
) -> None:
    inbox = WebhookInbox()
    await inbox.start()
    good = make_alert(1)
    try:
        async with running_dispatcher(settings, [subscription("s", inbox.url)]):
            producer = make_producer(settings)
            await producer.start()
            topic = settings.topic(constants.TOPIC_ALERTS)
            await send_all(producer, [(topic, b"bad", b"{not json", None)])
            await producer.stop()
            await publish_alerts(settings, [good])
            await inbox.wait_for(1, timeout_s=30)
            [record] = await read_topic(settings, constants.TOPIC_ALERTS_DLQ, 1, 30)
    finally:
        await inbox.stop()
    assert record.value == b"{not json"
    assert dict(record.headers)[constants.HEADER_DLQ_REASON].startswith(b"invalid alert")
    assert json.loads(inbox.received[0].body)["data"]["article"]["id"] == good.article.id


async def test_rate_limit_spaces_deliveries(settings: Settings) -> None:
    inbox = WebhookInbox()
    await inbox.start()
    sub = subscription("limited", inbox.url, rate_limit=2.0)
    try:
        async with running_dispatcher(settings, [sub]):
            await publish_alerts(settings, [make_alert(n) for n in range(6)])
            got = await inbox.wait_for(6, timeout_s=30)
    finally:
        await inbox.stop()
    # 2 alerts/s with a burst of 2: the sixth cannot leave before 2 s after the first.
    assert got[5].received_at - got[0].received_at >= 1.9
