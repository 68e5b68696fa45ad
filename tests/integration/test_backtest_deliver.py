"""``--deliver``: what a backtest found reaches the subscriber through the real dispatcher.

Only the dispatcher runs (no live matcher), so every webhook that arrives came from the
backtest. Deliveries carry the deterministic ids the live service would use, and a
second ``--deliver`` run of the same range sends nothing new.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook
from typer.testing import CliRunner

from newsalert import constants
from newsalert.backtest.cli import app
from newsalert.kafka import ensure_topics
from newsalert.models import delivery_id
from newsalert.receiver import WebhookInbox
from newsalert.runner import Roles, run_until_stopped
from newsalert.settings import Settings
from tests.integration.sentinel import settle_alerts
from tests.integration.test_backtest_kafka import SECRET, T0, backtest_env, produce
from tests.integration.test_dispatcher_support import make_alert

pytestmark = pytest.mark.integration

CONFIG = """
version: 1
rules:
  - id: port-news
    all: ["port"]
    tags: [desk]
  - id: harbour-news
    all: ["harbour"]
subscriptions:
  - id: desk
    url: ${HOOK_URL}/desk
    secret: ${HOOK_SECRET}
    rules: ["tag:desk"]
  - id: pilots
    url: ${HOOK_URL}/pilots
    secret: ${HOOK_SECRET}
    rules: ["harbour-news"]
"""

#: Sentinel alerts the dispatcher delivers to each subscription (see ``sentinel.py``).
SENTINELS = {
    "desk": lambda n: make_alert(n, "port-news").model_copy(update={"tags": ["desk"]}),
    "pilots": lambda n: make_alert(n, "harbour-news"),
}


def deliver(config: Path, env: dict[str, str]) -> dict[str, object]:
    start, end = T0 + timedelta(hours=2), T0 + timedelta(hours=6)
    result = CliRunner().invoke(
        app,
        [
            "--rules",
            str(config),
            "--topic",
            constants.TOPIC_ARTICLES,
            "--from",
            start.isoformat(),
            "--to",
            end.isoformat(),
            "--format",
            "json",
            "--deliver",
            "desk",
        ],
        env=env,
    )
    assert result.exit_code == 0, result.stderr
    report: dict[str, object] = json.loads(result.stdout)
    return report


async def test_deliver_goes_through_the_dispatcher_with_deterministic_ids(
    settings: Settings, tmp_path: Path
) -> None:
    inbox = WebhookInbox()
    await inbox.start()
    env = {**backtest_env(settings), "HOOK_URL": inbox.url}
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    await produce(settings, settings.topic(constants.TOPIC_ARTICLES))
    await ensure_topics(settings)
    stop = asyncio.Event()
    dispatcher = asyncio.create_task(
        run_until_stopped(settings, config, env, Roles(matcher=False), stop, handle_signals=False)
    )
    try:
        report = await asyncio.to_thread(deliver, config, env)
        alerts = [a for a in report["alerts"] if a["rule_id"] == "port-news"]  # type: ignore[union-attr]
        assert alerts
        assert report["delivered"] == {"subscription": "desk", "alerts": len(alerts)}
        await inbox.wait_for(len(alerts), timeout_s=60)
        # Nothing else may arrive: not for desk, and not for pilots (no delivered rule).
        sentinels = await settle_alerts(settings, inbox, SENTINELS)
        received = sentinels.others(inbox.received)
        assert len(received) == len(alerts)
        verifier = Webhook(SECRET)
        expected = {delivery_id("desk", "port-news", a["story_id"]) for a in alerts}
        assert {r.path for r in received} == {"/desk"}
        assert {r.headers["webhook-id"] for r in received} == expected
        for request in received:
            payload = verifier.verify(request.body, request.headers)
            assert payload["data"]["rule"]["id"] == "port-news"
        # The same range delivered again: same ids, so the dispatcher sends nothing new.
        again = await asyncio.to_thread(deliver, config, env)
        assert again["delivered"] == report["delivered"]
        more = await settle_alerts(settings, inbox, SENTINELS)
        assert len(more.others(sentinels.others(inbox.received))) == len(alerts)
    finally:
        stop.set()
        await asyncio.wait_for(dispatcher, 60)
        await inbox.stop()
