"""A delivery never leaves its retry schedule, whatever the endpoint, config or code does.

Real broker, real Redis, real HTTP receiver. Each case makes every attempt fail in a way
that raises inside the attempt: a ``Retry-After`` that is not a number, a secret or URL
that cannot be used, a bug in the deliverer, a record Redis cannot read. An attempt that
raised out unrecorded would leave its lease to expire and repeat the POST every lease
period, forever; each must be recorded as a failed attempt, retried on the (short)
schedule, and end in ``alerts.dlq``; afterwards the delivery is in no queue and holds no
lease, so nothing can send it again.
"""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

import pytest

from newsalert import constants
from newsalert.dispatcher import deliverer
from newsalert.dispatcher.deadletter import DeadLetter, parse_dead_letter
from newsalert.dispatcher.service import DispatcherService
from newsalert.dispatcher.worker import LEASE_MARGIN_S
from newsalert.models import Alert, delivery_id
from newsalert.receiver import ReceivedRequest, Reply, WebhookInbox
from newsalert.settings import Settings
from newsalert.subscriptions import Subscription
from newsalert.webhooks.retry import JITTER, MAX_RETRY_DELAY_S, THROTTLE_FACTOR
from tests.integration.pipeline_harness import read_topic
from tests.integration.test_dispatcher_support import (
    SECRET,
    eventually,
    make_alert,
    publish_alerts,
    record_status,
    running_dispatcher,
    subscription,
)

pytestmark = pytest.mark.integration

#: Three attempts: the first, then two retries 300 ms apart (before jitter and back-off).
SCHEDULE = ("300ms", "300ms")
ATTEMPTS = 1 + len(SCHEDULE)
TIMEOUT_S = 2.0
LEASE_S = TIMEOUT_S + LEASE_MARGIN_S


def _fast(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_timeout_s": TIMEOUT_S})


def _dlv(sub_id: str, alert: Alert) -> str:
    return delivery_id(sub_id, alert.rule.id, alert.story_id)


async def _settled(service: DispatcherService, sub_id: str, dlv: str) -> None:
    """The delivery is failed, in no due queue and under no lease: nothing can resend it."""
    store = service.store

    # The letter is published before the outcome is stored: wait for the record (read
    # raw: one case stores a record that does not decode, and until the outcome replaces
    # it that record is a string, which HGET would answer with WRONGTYPE).
    async def failed() -> bool:
        key = store.keys.record(dlv)
        if await store.redis.type(key) != "hash":
            return False
        return await store.redis.hget(key, "status") == "failed"

    await eventually(failed)
    assert await store.redis.zscore(store.keys.due(sub_id), dlv) is None
    assert await store.redis.zscore(store.keys.inflight(sub_id), dlv) is None


async def _has_status(service: DispatcherService, dlv: str, status: str) -> bool:
    return await record_status(service, dlv) == status


async def _letters(settings: Settings, count: int) -> dict[str, DeadLetter]:
    records = await read_topic(settings, constants.TOPIC_ALERTS_DLQ, count, 30)
    letters = [parse_dead_letter(record.value) for record in records]
    return {letter.subscription_id: letter for letter in letters}


def _assert_on_schedule(times: list[float], throttled: bool) -> None:
    """Consecutive attempts are spaced by the schedule, never by a lease expiry."""
    factor = THROTTLE_FACTOR if throttled else 1.0
    shortest = 0.3 * (1 - JITTER) * factor
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert len(gaps) == ATTEMPTS - 1
    assert all(shortest * 0.9 <= gap < LEASE_S for gap in gaps), gaps


async def test_retry_after_superscript_two_follows_the_schedule_to_the_dlq(
    settings: Settings,
) -> None:
    alert, sentinel = make_alert(1), make_alert(2)

    def busy(request: ReceivedRequest) -> Reply:
        if b'"art-2"' in request.body:  # the sentinel gets through
            return Reply(200)
        return Reply(503, {"Retry-After": "²"})

    inbox = WebhookInbox(busy)
    await inbox.start()
    sub = subscription("busy", inbox.url, retry_schedule=list(SCHEDULE))
    dlv = _dlv("busy", alert)
    try:
        async with running_dispatcher(_fast(settings), [sub]) as service:
            await publish_alerts(settings, [alert])
            letters = await _letters(settings, 1)
            await _settled(service, "busy", dlv)
            await publish_alerts(settings, [sentinel])
            await eventually(lambda: _delivered(service, _dlv("busy", sentinel)))
    finally:
        await inbox.stop()
    letter = letters["busy"]
    assert letter.delivery_id == dlv
    assert letter.reason == f"retries exhausted after {ATTEMPTS} attempts"
    assert [(a.status, a.verdict) for a in letter.attempts] == [(503, "throttled")] * ATTEMPTS
    ids = Counter(request.headers["webhook-id"] for request in inbox.received)
    assert ids == {dlv: ATTEMPTS, _dlv("busy", sentinel): 1}
    _assert_on_schedule(
        [r.received_at for r in inbox.received if r.headers["webhook-id"] == dlv], throttled=True
    )


async def _delivered(service: DispatcherService, dlv: str) -> bool:
    return await _has_status(service, dlv, "delivered")


async def test_a_broken_secret_or_url_past_validation_fails_each_attempt_to_the_dlq(
    settings: Settings,
) -> None:
    inbox = WebhookInbox()
    await inbox.start()
    policy: dict[str, Any] = {"retry_schedule": SCHEDULE, "max_in_flight": 4}
    subs = [
        # model_construct skips validation, as a subscription from another source might.
        Subscription.model_construct(
            id="badsecret", url=inbox.url, secret="whsec_!!not*base64!!", **policy
        ),
        Subscription.model_construct(
            id="badurl", url="http://0177.0.0.1/hook", secret=SECRET, **policy
        ),
        subscription("good", inbox.url),
    ]
    alert = make_alert(1)
    try:
        async with running_dispatcher(_fast(settings), subs) as service:
            await publish_alerts(settings, [alert])
            letters = await _letters(settings, 2)
            for sub_id in ("badsecret", "badurl"):
                await _settled(service, sub_id, _dlv(sub_id, alert))
            await eventually(lambda: _delivered(service, _dlv("good", alert)))
    finally:
        await inbox.stop()
    assert [r.headers["webhook-id"] for r in inbox.received] == [_dlv("good", alert)]
    for sub_id, error in (("badsecret", "SignatureError"), ("badurl", "InvalidURL")):
        letter = letters[sub_id]
        assert letter.reason == f"retries exhausted after {ATTEMPTS} attempts"
        assert len(letter.attempts) == ATTEMPTS
        for attempt in letter.attempts:
            assert attempt.status is None
            assert attempt.verdict == "failed"
            assert attempt.error is not None
            assert error in attempt.error
        _assert_on_schedule([a.at.timestamp() for a in letter.attempts], throttled=False)


async def test_an_unexpected_error_in_the_deliverer_is_an_attempt_on_the_schedule(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_policy(*_args: object) -> str | None:
        raise RuntimeError("bug in the pause policy")

    # A bug after the POST and the failure count, before the outcome is stored.
    monkeypatch.setattr(deliverer, "pause_reason", broken_policy)
    inbox = WebhookInbox(lambda _req: Reply(500))
    await inbox.start()
    sub = subscription("buggy", inbox.url, retry_schedule=list(SCHEDULE))
    alert = make_alert(1)
    dlv = _dlv("buggy", alert)
    try:
        async with running_dispatcher(_fast(settings), [sub]) as service:
            await publish_alerts(settings, [alert])
            letters = await _letters(settings, 1)
            await _settled(service, "buggy", dlv)
    finally:
        await inbox.stop()
    letter = letters["buggy"]
    assert letter.reason == f"retries exhausted after {ATTEMPTS} attempts"
    assert [a.status for a in letter.attempts] == [500] * ATTEMPTS
    for attempt in letter.attempts:
        assert attempt.error is not None
        assert "RuntimeError: bug in the pause policy" in attempt.error
    assert [r.headers["webhook-id"] for r in inbox.received] == [dlv] * ATTEMPTS
    _assert_on_schedule([r.received_at for r in inbox.received], throttled=False)


async def test_an_unreadable_delivery_record_goes_to_the_dlq_as_stored(
    settings: Settings,
) -> None:
    inbox = WebhookInbox()
    await inbox.start()
    sub = subscription("corrupt", inbox.url, retry_schedule=list(SCHEDULE))
    alert, sentinel = make_alert(1), make_alert(2)
    dlv = _dlv("corrupt", alert)
    try:
        async with running_dispatcher(_fast(settings), [sub]) as service:
            store = service.store
            await store.pause("corrupt", "test: hold the queue")  # nothing is claimed
            await publish_alerts(settings, [alert])
            await eventually(lambda: _queued(service, "corrupt", 1))
            # A record no longer decodable as an Alert (a bad write, an old layout).
            await store.redis.hset(store.keys.record(dlv), "alert", "{not json")
            assert await store.resume("corrupt") == 1
            [record] = await read_topic(settings, constants.TOPIC_ALERTS_DLQ, 1, 30)
            await _settled(service, "corrupt", dlv)
            await publish_alerts(settings, [sentinel])
            await eventually(lambda: _delivered(service, _dlv("corrupt", sentinel)))
    finally:
        await inbox.stop()
    assert record.key == dlv.encode()
    assert record.value == b"{not json"
    reason = dict(record.headers)[constants.HEADER_DLQ_REASON].decode()
    assert reason.startswith("unreadable delivery record: ValidationError")
    assert [r.headers["webhook-id"] for r in inbox.received] == [_dlv("corrupt", sentinel)]


async def test_a_delivery_record_of_the_wrong_type_goes_to_the_dlq_not_waited_for(
    settings: Settings,
) -> None:
    # Redis answering WRONGTYPE is not Redis being down: the delivery is dead-lettered
    # once instead of being left to its lease again and again, waiting for a recovery.
    inbox = WebhookInbox()
    await inbox.start()
    sub = subscription("clobbered", inbox.url, retry_schedule=list(SCHEDULE))
    alert, sentinel = make_alert(1), make_alert(2)
    dlv = _dlv("clobbered", alert)
    try:
        async with running_dispatcher(_fast(settings), [sub]) as service:
            store = service.store
            await store.pause("clobbered", "test: hold the queue")  # nothing is claimed
            await publish_alerts(settings, [alert])
            await eventually(lambda: _queued(service, "clobbered", 1))
            # Written by something else: a string where the delivery's hash was.
            await store.redis.set(store.keys.record(dlv), "not a delivery record")
            # `resume` passes over the clobbered record (the claim dead-letters it).
            assert await store.resume("clobbered") == 1
            [record] = await read_topic(settings, constants.TOPIC_ALERTS_DLQ, 1, 30)
            await _settled(service, "clobbered", dlv)
            await publish_alerts(settings, [sentinel])
            await eventually(lambda: _delivered(service, _dlv("clobbered", sentinel)))
    finally:
        await inbox.stop()
    assert record.key == dlv.encode()
    reason = dict(record.headers)[constants.HEADER_DLQ_REASON].decode()
    assert reason.startswith("unreadable delivery record: StoreError")
    assert "WRONGTYPE" in reason
    assert [r.headers["webhook-id"] for r in inbox.received] == [_dlv("clobbered", sentinel)]


async def _queued(service: DispatcherService, sub_id: str, count: int) -> bool:
    return await service.store.queued(sub_id) == count


async def test_a_retry_delay_beyond_any_calendar_is_clamped_not_raised(
    settings: Settings,
) -> None:
    inbox = WebhookInbox(lambda _req: Reply(500))
    await inbox.start()
    # Past validation (which refuses it): 30,000,000 days is past the year 9999.
    sub = Subscription.model_construct(
        id="forever", url=inbox.url, secret=SECRET, retry_schedule=("30000000d",)
    )
    alert = make_alert(1)
    dlv = _dlv("forever", alert)
    try:
        async with running_dispatcher(_fast(settings), [sub]) as service:
            store = service.store
            await publish_alerts(settings, [alert])
            await eventually(lambda: _has_status(service, dlv, "retrying"))
            record = await store.log.get(dlv)
            due_ms = await store.redis.zscore(store.keys.due("forever"), dlv)
            leased = await store.redis.zscore(store.keys.inflight("forever"), dlv)
    finally:
        await inbox.stop()
    assert record is not None
    assert record.attempts == 1
    assert [a.status for a in record.history] == [500]
    assert leased is None
    assert due_ms is not None
    waits_s = due_ms / 1000 - record.history[0].at.timestamp()
    assert waits_s == pytest.approx(MAX_RETRY_DELAY_S, rel=0.01)
    assert len(inbox.received) == 1
