"""The dispatcher on the real broker, real Redis and a real HTTP receiver on loopback."""

from __future__ import annotations

from collections import Counter

import pytest

from newsalert.dispatcher.keys import DispatcherKeys
from newsalert.models import delivery_id
from newsalert.receiver import WebhookInbox
from newsalert.settings import Settings
from tests.integration.test_dispatcher_support import (
    drained,
    make_alert,
    publish_alerts,
    running_dispatcher,
    subscription,
    verified,
)

pytestmark = pytest.mark.integration


async def test_alerts_are_signed_posted_once_and_recorded(settings: Settings) -> None:
    inbox = WebhookInbox()
    await inbox.start()
    other = WebhookInbox()
    await other.start()
    subs = [
        subscription("all-rules", inbox.url + "/hook"),
        subscription("only-b", other.url + "/hook", rules=["rule-b"]),
    ]
    alerts = [make_alert(1, "rule-a"), make_alert(2, "rule-b")]
    try:
        async with running_dispatcher(settings, subs) as service:
            assert service.ready
            assert await service.probe()
            await publish_alerts(settings, alerts)
            got = await inbox.wait_for(2, timeout_s=30)
            got_b = await other.wait_for(1, timeout_s=30)
            # Publishing the same alerts again (a matcher retry) sends nothing new.
            await publish_alerts(settings, alerts)
            redis = service.store.redis
            keys = DispatcherKeys(settings.redis_prefix)
            for alert in alerts:
                dlv = delivery_id("all-rules", alert.rule.id, alert.story_id)
                assert await redis.exists(keys.delivered("all-rules", dlv)) == 1
    finally:
        await inbox.stop()
        await other.stop()
    assert len(inbox.received) == 2
    assert len(other.received) == 1
    by_rule = {verified(req)["data"]["rule"]["id"]: req for req in got}
    assert set(by_rule) == {"rule-a", "rule-b"}
    for alert in alerts:
        req = by_rule[alert.rule.id]
        body = verified(req)
        expected_id = delivery_id("all-rules", alert.rule.id, alert.story_id)
        assert req.headers["webhook-id"] == expected_id == body["data"]["alert_id"]
        assert body["type"] == "news.alert"
        assert body["data"]["subscription_id"] == "all-rules"
        assert body["data"]["article"]["id"] == alert.article.id
        assert req.path == "/hook"
    only_b = verified(got_b[0])
    assert only_b["data"]["rule"]["id"] == "rule-b"
    assert only_b["data"]["subscription_id"] == "only-b"


async def test_two_dispatchers_share_the_work_and_send_each_alert_once(
    settings: Settings,
) -> None:
    inbox = WebhookInbox()
    await inbox.start()
    subs = [subscription("shared", inbox.url + "/hook", max_in_flight=2)]
    alerts = [make_alert(n) for n in range(30)]
    try:
        async with (
            running_dispatcher(settings, subs) as first,
            running_dispatcher(settings, subs) as second,
        ):
            await publish_alerts(settings, alerts)
            await inbox.wait_for(30, timeout_s=60)
            await drained(settings, "shared")  # a double claim is counted by now
            attempts = [
                worker.attempted
                for service in (first, second)
                for worker in service.workers.values()
            ]
    finally:
        await inbox.stop()
    ids = Counter(request.headers["webhook-id"] for request in inbox.received)
    assert len(ids) == 30
    assert set(ids.values()) == {1}
    assert sum(attempts) == 30
