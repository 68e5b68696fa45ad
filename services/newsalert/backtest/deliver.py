"""``--deliver SUBSCRIPTION``: really send what a backtest found, the way the matcher does.

The alerts selected by the subscription's rules go to the ``alerts`` topic exactly as the
live matcher publishes them (key and id ``alert_id``, the same JSON), so the dispatcher
delivers them through its normal path, with the same deterministic delivery ids --
alerts the live service already delivered are recognised and not sent twice. Note that
the dispatcher fans an alert out to *every* subscription selecting its rule, as it does
for live alerts; those that already received it drop it by id.
"""

from __future__ import annotations

from collections.abc import Sequence

from newsalert import constants
from newsalert.backtest.report import AlertRecord
from newsalert.kafka import ensure_topics, kafka_calls, make_producer, send_all
from newsalert.models import Alert
from newsalert.settings import Settings
from newsalert.subscriptions import Subscription

_CHUNK = 500


def selected_alerts(subscription: Subscription, records: Sequence[AlertRecord]) -> list[Alert]:
    """The alerts of ``records`` for ``subscription``: its rules, in its repeat lane."""
    lane = subscription.repeat_lane_ms()
    return [
        record.alert
        for record in records
        if record.alert.repeat_interval_ms == lane
        and subscription.selects(record.alert.rule.id, record.alert.tags)
    ]


async def deliver_alerts(settings: Settings, alerts: Sequence[Alert]) -> int:
    """Publish ``alerts`` to the alerts topic and wait until the broker stored each one."""
    topic = settings.topic(constants.TOPIC_ALERTS)
    await ensure_topics(settings, [topic])
    producer = make_producer(settings, linger_ms=5)
    try:  # stopped even when its start fails: a half-started client holds connections
        with kafka_calls():
            await producer.start()
        for start in range(0, len(alerts), _CHUNK):
            chunk = alerts[start : start + _CHUNK]
            await send_all(
                producer,
                [
                    (topic, alert.alert_id.encode(), alert.model_dump_json().encode(), None)
                    for alert in chunk
                ],
            )
    finally:
        await producer.stop()
    return len(alerts)
