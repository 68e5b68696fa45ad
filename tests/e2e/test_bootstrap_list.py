"""``newsalert run`` with several bootstrap servers, some of them dead (both brokers)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from newsalert.receiver import WebhookInbox
from newsalert.stack.process import free_port
from tests.integration.pipeline_harness import RULES_YAML, new_secret

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

NEWSALERT = str(Path(sys.executable).with_name("newsalert"))


async def test_run_starts_with_a_bootstrap_list_of_which_one_broker_is_alive(
    kafka_bootstrap: str, redis_url: str, tmp_path: Path
) -> None:
    # Closed ports on both sides of the live broker: every client must try them in turn.
    servers = f"127.0.0.1:{free_port()},{kafka_bootstrap},127.0.0.1:{free_port()}"
    inbox = WebhookInbox()
    await inbox.start()
    config = tmp_path / "rules.yaml"
    config.write_text(RULES_YAML.format(url=inbox.url, secret=new_secret()))
    tag = f"boot{int(time.time() * 1000)}"
    env = dict(os.environ)
    env.update(
        NEWSALERT_KAFKA_BOOTSTRAP=servers,
        NEWSALERT_REDIS_URL=redis_url,
        NEWSALERT_TOPIC_PREFIX=f"{tag}.",
        NEWSALERT_REDIS_PREFIX=f"na:{tag}:",
        NEWSALERT_WEBHOOK_ALLOW_NETWORKS="127.0.0.0/8",
    )
    service = subprocess.Popen(  # noqa: ASYNC220  (a user's process; we only signal and reap it)
        [NEWSALERT, "run", "--config", str(config)], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        articles = tmp_path / "articles.jsonl"
        article = {"id": "b1", "title": "Port strike", "body": "Dock workers at the port strike."}
        articles.write_text(json.dumps(article) + "\n")
        await asyncio.to_thread(
            subprocess.run, [NEWSALERT, "publish", str(articles)], env=env, check=True, timeout=90
        )
        received = await inbox.wait_for(1, timeout_s=120)
        assert received[0].path == "/ops"
        assert service.poll() is None, "the service exited"
    finally:
        service.send_signal(signal.SIGTERM)
        try:
            _, stderr = await asyncio.to_thread(service.communicate, timeout=60)
        finally:
            service.kill()
            await inbox.stop()
    assert service.returncode == 0, stderr
