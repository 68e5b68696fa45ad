"""The HTTP API served next to the running services (``--api-port``)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from newsalert import constants
from newsalert.kafka import ensure_topics
from newsalert.receiver import WebhookInbox
from newsalert.runner import Roles, run_until_stopped
from newsalert.settings import Settings
from newsalert.stack.process import free_port
from tests.integration.pipeline_harness import RULES_YAML, Pipeline, new_secret

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

READ_TOKEN = "test-read-token-0123456789"


async def test_health_rules_test_text_metrics_and_delivery_log(
    settings: Settings, tmp_path: Path
) -> None:
    inbox = WebhookInbox()
    await inbox.start()
    secret = new_secret()
    config = tmp_path / "rules.yaml"
    config.write_text(RULES_YAML.format(url=inbox.url, secret=secret))
    await ensure_topics(settings)
    port = free_port()
    settings = settings.model_copy(update={"api_read_tokens": SecretStr(READ_TOKEN)})
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_until_stopped(
            settings, config, dict(os.environ), Roles(api_port=port), stop, handle_signals=False
        )
    )
    base = f"http://127.0.0.1:{port}"
    try:
        auth = {"Authorization": f"Bearer {READ_TOKEN}"}
        async with httpx.AsyncClient(base_url=base, timeout=5, headers=auth) as client:
            for _ in range(200):
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
            ready = await client.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["ready"] is True

            rules = (await client.get("/rules")).json()
            assert {r["id"] for r in rules} == {"kr-summons-russia", "port-strike"}
            subs = (await client.get("/subscriptions")).json()
            assert all("secret" not in s for s in subs)

            tested = await client.post(
                "/rules/test",
                json={"title": "Port strike", "body": "Dock workers strike at the port."},
            )
            assert [m["rule_id"] for m in tested.json()["matches"]] == ["port-strike"]

            pipe = Pipeline(settings, inbox, secret, config)
            await pipe.publish_articles(
                constants.TOPIC_ARTICLES,
                {"id": "api-1", "title": "Port walkout", "body": "A walkout closed the port."},
            )
            await inbox.wait_for(1, timeout_s=60)
            for _ in range(100):
                log = (await client.get("/deliveries", params={"subscription": "ops-desk"})).json()
                if log and log[0]["status"] == "delivered":
                    break
                await asyncio.sleep(0.1)
            assert log[0]["status"] == "delivered"
            assert log[0]["delivery_id"] == inbox.received[0].headers["webhook-id"]

            metrics = (await client.get("/metrics")).text
            assert 'newsalert_articles_total{outcome="matched"}' in metrics
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)
        await inbox.stop()
