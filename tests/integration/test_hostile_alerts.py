"""Hostile ``alerts`` records and a record that keeps raising: the dispatcher moves on.

Real broker (tansu and Apache Kafka), real Redis, real HTTP receiver. Each hostile alert
record is followed by a valid alert that must be delivered exactly once; the hostile ones
end on ``alerts.dlq`` with their kind, exception type and a reason.
"""

from __future__ import annotations

from collections import Counter

import pytest

from newsalert import constants, metrics
from newsalert.kafka import make_producer, send_all
from newsalert.receiver import WebhookInbox
from newsalert.settings import Settings
from newsalert.subscriptions import Subscription
from tests.integration.pipeline_harness import read_topic
from tests.integration.test_dispatcher_support import (
    body_of,
    make_alert,
    running_dispatcher,
    subscription,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


def _hostile_alerts() -> list[tuple[bytes, str]]:
    """(record value, the kind it must get on alerts.dlq)."""
    good = make_alert(0).model_dump_json()
    return [
        (good.replace('"Headline 0"', '"Headline \\ud800"').encode(), "lone-surrogate"),
        (good[:-1].encode() + b', "x": ' + b"[" * 3000 + b"]" * 3000 + b"}", "too-deep"),
        (good.replace('"duplicates_folded":0', '"duplicates_folded":' + "9" * 5000).encode(),
         "number-out-of-range"),
        (good[:-1].encode() + b', "rule": {"id": "x"}}', "duplicate-key"),
        (good.replace('"duplicates_folded":0', '"duplicates_folded":NaN').encode(), "not-a-number"),
        (b'{"alert_id": "a"}', "invalid-alert"),
        (make_alert(0, rule="explodes").model_dump_json().encode(), "poison"),
    ]  # fmt: skip


async def test_hostile_alert_records_go_to_the_dlq_and_later_alerts_are_delivered(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    original_selects = Subscription.selects

    def selects(self: Subscription, rule_id: str, tags: object) -> bool:
        if rule_id == "explodes":  # a bug that only this record triggers, every time
            raise RuntimeError("injected: selecting subscriptions failed")
        return original_selects(self, rule_id, tags)  # type: ignore[arg-type]

    monkeypatch.setattr(Subscription, "selects", selects)
    poison_before = metrics.POISON_RECORDS.labels("dispatcher")._value.get()
    hostile = _hostile_alerts()
    goods = [make_alert(n + 1) for n in range(len(hostile))]
    inbox = WebhookInbox()
    await inbox.start()
    topic = settings.topic(constants.TOPIC_ALERTS)
    try:
        async with running_dispatcher(settings, [subscription("s", inbox.url)]):
            producer = make_producer(settings)
            await producer.start()
            try:
                for (value, _kind), good in zip(hostile, goods, strict=True):
                    records = [
                        (topic, b"hostile", value, None),
                        (topic, b"hostile", good.model_dump_json().encode(), None),
                    ]  # one key: one partition, in this order
                    await send_all(producer, records)
            finally:
                await producer.stop()
            await inbox.wait_for(len(goods), timeout_s=60)
            letters = await read_topic(settings, constants.TOPIC_ALERTS_DLQ, len(hostile), 30)
    finally:
        await inbox.stop()

    delivered = Counter(body_of(r)["data"]["article"]["id"] for r in inbox.received)
    assert delivered == {good.article.id: 1 for good in goods}
    by_value = {record.value: dict(record.headers) for record in letters}
    for value, kind in hostile:
        headers = by_value[value]
        assert headers[constants.HEADER_DLQ_KIND].decode() == kind
        assert headers[constants.HEADER_DLQ_REASON].startswith(
            b"failed 3 times" if kind == "poison" else b"invalid alert: "
        )
        expected_error = "RuntimeError" if kind == "poison" else "RecordError"
        assert headers[constants.HEADER_DLQ_ERROR].decode() == expected_error
    assert metrics.POISON_RECORDS.labels("dispatcher")._value.get() == poison_before + 1
    sources = {headers[constants.HEADER_DLQ_SOURCE].decode() for headers in by_value.values()}
    assert all(source.startswith(f"{topic}/") for source in sources)
    assert len(sources) == len(hostile)  # one DLQ record per hostile record, none repeated
