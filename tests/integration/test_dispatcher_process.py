"""``newsalert dispatcher`` as deployed: subscriptions only, watched by content.

The process never parses a rule (a rule the matcher would refuse does not stop it), still
checks that subscriptions name existing rule ids, and picks up an in-place edit of one
file of a config directory.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from newsalert.receiver import WebhookInbox
from newsalert.settings import Settings
from tests.integration.test_dispatcher_support import SECRET, make_alert, publish_alerts

pytestmark = pytest.mark.integration

NEWSALERT = str(Path(sys.executable).with_name("newsalert"))
# A query the rule parser refuses: the dispatcher must not care.
RULES = """\
version: 1
rules:
  - id: rule-a
    query: 'ambassador AND'
"""
SUBS = """\
subscriptions:
  - id: desk
    url: {url}/one
    secret: {secret}
    rules: [rule-a]
"""


def _env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "NEWSALERT_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "NEWSALERT_REDIS_URL": settings.redis_url,
        "NEWSALERT_TOPIC_PREFIX": settings.topic_prefix,
        "NEWSALERT_REDIS_PREFIX": settings.redis_prefix,
        "NEWSALERT_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8",
        "NEWSALERT_RELOAD_INTERVAL_S": "0.2",
    }


async def _wait_for_text(log: Path, text: str, timeout_s: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while text not in log.read_text(errors="replace"):  # noqa: ASYNC240  (a small local file)
        assert asyncio.get_running_loop().time() < deadline, log.read_text()[-2000:]  # noqa: ASYNC240
        await asyncio.sleep(0.1)


async def test_dispatcher_loads_no_rule_and_sees_an_in_place_edit_in_a_directory(
    settings: Settings, tmp_path: Path
) -> None:
    inbox = WebhookInbox()
    await inbox.start()
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "00-rules.yaml").write_text(RULES)
    subs = folder / "10-subs.yaml"
    subs.write_text(SUBS.format(url=inbox.url, secret=SECRET))
    log = tmp_path / "dispatcher.log"
    with log.open("wb") as err:
        process = await asyncio.create_subprocess_exec(
            NEWSALERT, "dispatcher", "--config", str(folder),
            env=_env(settings), stdout=asyncio.subprocess.PIPE, stderr=err,
        )  # fmt: skip
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        assert line.strip() == b"dispatcher ready", log.read_bytes()[-2000:]
        await publish_alerts(settings, [make_alert(1)])
        (first,) = await inbox.wait_for(1, timeout_s=60)
        assert first.path == "/one"

        # Same length, same mtimes (file and directory): only the content tells.
        before = subs.stat(), folder.stat()
        subs.write_text(SUBS.format(url=inbox.url, secret=SECRET).replace("/one", "/two"))
        os.utime(subs, ns=(before[0].st_atime_ns, before[0].st_mtime_ns))
        os.utime(folder, ns=(before[1].st_atime_ns, before[1].st_mtime_ns))
        await _wait_for_text(log, "subscriptions reloaded: 1")
        await publish_alerts(settings, [make_alert(2)])
        received = await inbox.wait_for(2, timeout_s=60)
        assert [r.path for r in received] == ["/one", "/two"]
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 60)
        await inbox.stop()
    assert process.returncode == 0, log.read_bytes()[-2000:]
    assert b"rule-a" not in log.read_bytes(), "the dispatcher reported on a rule"


def test_dispatcher_refuses_a_subscription_naming_an_unknown_rule(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(RULES + SUBS.format(url="https://hooks.example.com", secret=SECRET))
    config.write_text(config.read_text().replace("rules: [rule-a]", "rules: [rule-b]"))
    done = subprocess.run(
        [NEWSALERT, "dispatcher", "--config", str(config)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert f"{config}:9:12: desk: unknown rule id 'rule-b'" in done.stderr
