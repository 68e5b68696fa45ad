"""The commands a user types, run as processes: stack, run + publish, demo, rules check."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from newsalert.receiver import WebhookInbox
from newsalert.stack import StackInfo
from tests.integration.pipeline_harness import RULES_YAML, new_secret

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

REPO = Path(__file__).resolve().parents[2]
NEWSALERT = str(Path(sys.executable).with_name("newsalert"))


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    return env


def test_demo_runs_and_verifies_signatures() -> None:
    done = subprocess.run(
        [NEWSALERT, "demo", "--seeds", str(REPO / "seeds")],
        capture_output=True, text=True, timeout=200, cwd=REPO, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "kr-summons-russia" in done.stdout
    assert "signature verified" in done.stdout
    assert "SIGNATURE INVALID" not in done.stdout
    assert "sent to articles.dlq  2" in done.stdout


def test_stack_up_status_down(tmp_path: Path) -> None:
    state = str(tmp_path / "state")
    up = subprocess.run(
        [NEWSALERT, "stack", "up", "--state-dir", state], capture_output=True, text=True, check=True
    )
    try:
        assert "export NEWSALERT_KAFKA_BOOTSTRAP=127.0.0.1:" in up.stdout
        assert "export NEWSALERT_REDIS_URL=redis://127.0.0.1:" in up.stdout
        status = subprocess.run(
            [NEWSALERT, "stack", "status", "--state-dir", state],
            capture_output=True,
            text=True,
            check=False,
        )
        assert status.returncode == 0
        assert status.stdout.strip() == up.stdout.strip()
    finally:
        down = subprocess.run(
            [NEWSALERT, "stack", "down", "--state-dir", state],
            capture_output=True,
            text=True,
            check=True,
        )
    assert "stopped" in down.stdout
    after = subprocess.run(
        [NEWSALERT, "stack", "status", "--state-dir", state],
        capture_output=True,
        text=True,
        check=False,
    )
    assert after.returncode == 1


async def test_run_publish_sigterm(embedded_stack: StackInfo, tmp_path: Path) -> None:
    inbox = WebhookInbox()
    await inbox.start()
    secret = new_secret()
    config = tmp_path / "rules.yaml"
    config.write_text(RULES_YAML.format(url=inbox.url, secret=secret))
    tag = f"e2e{int(time.time() * 1000)}"
    env = _env(
        NEWSALERT_KAFKA_BOOTSTRAP=embedded_stack.kafka_bootstrap,
        NEWSALERT_REDIS_URL=embedded_stack.redis_url,
        NEWSALERT_TOPIC_PREFIX=f"{tag}.",
        NEWSALERT_REDIS_PREFIX=f"na:{tag}:",
        NEWSALERT_WEBHOOK_ALLOW_NETWORKS="127.0.0.0/8",
    )
    service = subprocess.Popen(  # noqa: ASYNC220  (a user's process; we only signal and reap it)
        [NEWSALERT, "run", "--config", str(config)], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        articles = tmp_path / "articles.jsonl"
        article = {"id": "p1", "title": "Port strike", "body": "Dock workers at the port strike."}
        articles.write_text(json.dumps(article) + "\n")
        await asyncio.to_thread(
            subprocess.run, [NEWSALERT, "publish", str(articles)], env=env, check=True, timeout=60
        )
        received = await inbox.wait_for(1, timeout_s=90)
        assert received[0].path == "/ops"
    finally:
        service.send_signal(signal.SIGTERM)
        try:
            _, stderr = await asyncio.to_thread(service.communicate, timeout=60)
        finally:
            service.kill()
            await inbox.stop()
    assert service.returncode == 0, stderr
    assert "shutting down" in stderr


def test_rules_check_reports_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nrules:\n  - id: Bad Id\n    all: []\n")
    done = subprocess.run(
        [NEWSALERT, "rules", "check", str(bad)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1
    assert "bad.yaml" in done.stdout + done.stderr


@pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")
def test_make_knows_demo_and_test() -> None:
    done = subprocess.run(
        ["make", "-n", "demo", "test"], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert "newsalert demo" in done.stdout
    assert "pytest" in done.stdout
