"""Crashes and restarts of real service processes lose and duplicate nothing.

* Scale-out: two ``newsalert matcher`` processes in one consumer group and one
  ``newsalert dispatcher`` share a 3-partition topic; one matcher is SIGKILLed
  mid-stream; the receiver gets every expected delivery exactly once.
* Graceful shutdown: SIGTERM to ``newsalert run`` while a batch is in flight exits 0;
  a restarted process delivers the rest, again exactly once.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from newsalert import constants
from newsalert.kafka import ensure_topics, partitions_of
from newsalert.receiver import ReceivedRequest, Reply, WebhookInbox
from newsalert.settings import Settings
from tests.integration.guarantee_support import (
    RULES,
    ServiceProcess,
    config_yaml,
    counted,
    delivery_counts,
    eventually,
    expected_deliveries,
    make_articles,
    missing_and_repeated,
    publish_articles,
    service_env,
    settle_desks,
)
from tests.integration.pipeline_harness import new_secret
from tests.integration.sentinel import publish_at

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

PROCESSED = "newsalert_articles_total"


async def _processed(service: ServiceProcess) -> float:
    metrics = await service.metrics()
    return sum(counted(metrics, PROCESSED, outcome=o) for o in ("matched", "unmatched"))


async def _wait_all(
    settings: Settings, inbox: WebhookInbox, expected: set[tuple[str, str]], timeout_s: float
) -> list[ReceivedRequest]:
    """Every delivery that arrived, once the expected count did and sentinels followed."""

    async def done() -> bool:
        return len(inbox.received) >= len(expected)

    await eventually(done, timeout_s)
    return (await settle_desks(settings, inbox)).others(inbox.received)


async def _group_settled(settings: Settings, matchers: list[ServiceProcess]) -> bool:
    """Probe every articles partition until each matcher has handled a probe.

    A matcher that handled one owns a partition, so the group has both members assigned.
    Probes fire no rule, so they add no delivery.
    """
    topic = settings.topic(constants.TOPIC_ARTICLES)
    partitions = await partitions_of(settings, topic)
    for round_no in range(30):
        target = sum([await _processed(m) for m in matchers]) + len(partitions)
        probe = f"probe-{round_no}"
        await publish_at(
            settings, topic, [(p, {"id": f"{probe}-{p}", "title": probe}) for p in partitions]
        )

        async def handled(target: float = target) -> bool:
            return sum([await _processed(m) for m in matchers]) >= target

        assert await eventually(handled, 30), "probes were not handled"
        if all([await _processed(m) > 0 for m in matchers]):
            return True
    return False


async def test_two_matchers_one_sigkilled_mid_stream_every_alert_once(
    settings: Settings, tmp_path: Path
) -> None:
    inbox = WebhookInbox()
    await inbox.start()
    secret = new_secret()
    config = tmp_path / "config.yaml"
    config.write_text(config_yaml(inbox.url, secret))
    await ensure_topics(settings)  # 3 partitions per topic
    env = service_env(settings)
    matchers = [
        ServiceProcess("matcher", config, env, tmp_path / f"matcher-{n}.log") for n in (1, 2)
    ]
    dispatcher = ServiceProcess("dispatcher", config, env, tmp_path / "dispatcher.log")
    articles = make_articles(300, list(RULES), seed=1, tag="scale")
    expected = expected_deliveries(articles)
    try:
        for service in (*matchers, dispatcher):
            service.start()
        for service in (*matchers, dispatcher):
            await service.wait_ready()
        assert await _group_settled(settings, matchers), "a matcher never got a partition"
        publishing = asyncio.create_task(publish_articles(settings, articles, pace_s=0.02))

        async def victim_busy() -> bool:
            done = [await _processed(m) for m in matchers]
            return sum(done) >= 60 and max(done) >= 20

        assert await eventually(victim_busy, 60), matchers[0].log_tail()
        done = [await _processed(m) for m in matchers]
        victim = matchers[0] if done[0] >= done[1] else matchers[1]
        survivor = matchers[1] if victim is matchers[0] else matchers[0]
        victim.signal(signal.SIGKILL)
        assert await victim.wait() == -signal.SIGKILL
        await publishing
        received = await _wait_all(settings, inbox, expected, timeout_s=120)
        survivor_done = await _processed(survivor)
    finally:
        for service in (*matchers, dispatcher):
            await service.close()
        await inbox.stop()

    counts = delivery_counts(received, secret)
    missing, repeated, unexpected = missing_and_repeated(counts, expected)
    assert not missing, f"{len(missing)} deliveries lost, e.g. {sorted(missing)[:3]}"
    assert not repeated, f"delivered more than once: {repeated}"
    assert not unexpected, f"unexpected deliveries: {sorted(unexpected)[:3]}"
    assert len(expected) == 400  # 300 stories; 100 of them also go to the politics desk
    assert min(done) > 0, f"both matchers should have worked before the kill: {done}"
    assert survivor_done > min(done), "the survivor should have taken over partitions"


async def test_sigterm_mid_batch_exits_zero_and_restart_delivers_the_rest(
    settings: Settings, tmp_path: Path
) -> None:
    async def slow_ok(_request: ReceivedRequest) -> Reply:
        # A receiver slower than the pipeline (≤ 2 × 64 requests in flight, 0.2 s each),
        # so a stop right after the first batches leaves deliveries behind to restart.
        await asyncio.sleep(0.2)
        return Reply(200)

    inbox = WebhookInbox(slow_ok)
    await inbox.start()
    secret = new_secret()
    config = tmp_path / "config.yaml"
    config.write_text(config_yaml(inbox.url, secret))
    await ensure_topics(settings)
    env = service_env(settings)
    articles = make_articles(600, list(RULES), seed=2, tag="term")
    expected = expected_deliveries(articles)
    first = ServiceProcess("run", config, env, tmp_path / "run-1.log")
    second = ServiceProcess("run", config, env, tmp_path / "run-2.log", api_port=first.api_port)
    try:
        first.start()
        await first.wait_ready()
        await publish_articles(settings, articles)  # all at once: full 200-record batches

        async def mid_stream() -> bool:
            return 0 < await _processed(first) < len(articles)

        assert await eventually(mid_stream, 60, every_s=0.05), first.log_tail()
        first.signal(signal.SIGTERM)
        first_code = await first.wait()
        delivered_by_first = len(inbox.received)
        second.start()
        await second.wait_ready()
        received = await _wait_all(settings, inbox, expected, timeout_s=120)
    finally:
        await first.close()
        await second.close()
        await inbox.stop()

    assert first_code == 0, first.log_tail()
    assert "shutting down" in first.log.read_text()
    counts = delivery_counts(received, secret)
    missing, repeated, unexpected = missing_and_repeated(counts, expected)
    assert not missing, f"{len(missing)} deliveries lost, e.g. {sorted(missing)[:3]}"
    assert not repeated, f"delivered more than once: {repeated}"
    assert not unexpected, f"unexpected deliveries: {sorted(unexpected)[:3]}"
    assert delivered_by_first < len(expected), (
        f"SIGTERM came too late to leave work behind\n{first.log.read_text()[-3000:]}"
    )
