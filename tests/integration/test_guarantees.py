"""The service's guarantees under failure, on a real broker, Redis and HTTP receiver.

* Redis down under a running matcher: ``/readyz`` says 503 (idle or busy), nothing is
  alerted unchecked; once Redis is back every alert arrives exactly once and repeats
  published during the outage stay dropped.
* Hot reload in a running ``newsalert run``: a new rule is live within 2 s of the write;
  an invalid file keeps the last good rules and sets ``newsalert_rules_reload_failing``.
* A bug while matching or a failed publish of alerts loses nothing: the dedupe marks
  are released, the batch is retried after a backoff and logged, every alert arrives once.
* At-least-once: an article's offset is committed only after its alerts are stored.
* The next alert of a story after ``repeat_interval`` is delivered under its own id.

See ``docs/guarantees.md`` for the map from guarantees to tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from aiokafka.errors import KafkaTimeoutError

from newsalert import constants, metrics
from newsalert.kafka import committed_offsets
from newsalert.matcher.service import MatcherService
from newsalert.models import Alert
from newsalert.pipeline.step import ArticleOutcome
from newsalert.receiver import WebhookInbox
from newsalert.rules import CompiledRules, Document, RuleMatch
from newsalert.settings import Settings
from tests.conftest import RestartableRedis
from tests.integration.guarantee_support import (
    EXTRA_RULE,
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
from tests.integration.pipeline_harness import new_secret, running_pipeline

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

#: Partitions per topic, as ``newsalert.kafka.ensure_topics`` creates them.
PARTITIONS = 3


def _assert_exactly_once(received: Any, secret: str, expected: set[tuple[str, str]]) -> None:
    counts = delivery_counts(received, secret)
    missing, repeated, unexpected = missing_and_repeated(counts, expected)
    assert not missing, f"{len(missing)} deliveries lost, e.g. {sorted(missing)[:3]}"
    assert not repeated, f"delivered more than once: {repeated}"
    assert not unexpected, f"unexpected deliveries: {sorted(unexpected)[:3]}"


async def test_redis_down_pauses_matcher_then_every_alert_once(
    settings: Settings,
    tmp_path: Path,
    own_redis: RestartableRedis,
) -> None:
    inbox = WebhookInbox()
    await inbox.start()
    secret = new_secret()
    config = tmp_path / "config.yaml"
    config.write_text(config_yaml(inbox.url, secret))
    matcher_env = service_env(settings, NEWSALERT_REDIS_URL=own_redis.url)
    matcher = ServiceProcess("matcher", config, matcher_env, tmp_path / "matcher.log")
    dispatcher = ServiceProcess("dispatcher", config, service_env(settings), tmp_path / "d.log")
    before = make_articles(20, list(RULES), seed=3, tag="before")
    during = make_articles(20, list(RULES), seed=4, tag="during")
    same_id = dict(before[0])
    same_url = dict(before[1], id="during-url-copy", source="Other Wire")
    try:
        for service in (matcher, dispatcher):
            service.start()
        for service in (matcher, dispatcher):
            await service.wait_ready()
        await publish_articles(settings, before)
        await inbox.wait_for(len(expected_deliveries(before)), timeout_s=60)

        own_redis.stop()  # Redis goes away under the running (idle) matcher

        async def not_ready() -> bool:
            return await matcher.ready_status() == 503

        assert await eventually(not_ready, 10), "idle matcher still ready with Redis down"
        await publish_articles(settings, [*during, same_id, same_url])

        async def retried() -> bool:
            got = await matcher.metrics()
            return counted(got, "newsalert_matcher_batch_retries_total") >= 1

        assert await eventually(retried, 30), matcher.log_tail()
        assert await matcher.ready_status() == 503
        down_metrics = await matcher.metrics()
        retries_down = counted(down_metrics, "newsalert_matcher_batch_retries_total")

        async def kept_retrying() -> bool:
            got = await matcher.metrics()
            return counted(got, "newsalert_matcher_batch_retries_total") >= retries_down + 2

        # Two more failed tries of the same batch: the matcher keeps retrying, and nothing
        # gets through in the meantime.
        assert await eventually(kept_retrying, 30), matcher.log_tail()
        delivered_while_down = len(inbox.received)

        own_redis.start()
        expected = expected_deliveries([*before, *during])
        await inbox.wait_for(len(expected), timeout_s=60)

        async def ready() -> bool:
            return await matcher.ready_status() == 200

        assert await eventually(ready, 30), matcher.log_tail()
        received = (await settle_desks(settings, inbox)).others(inbox.received)
        final_metrics = await matcher.metrics()
    finally:
        for service in (matcher, dispatcher):
            await service.close()
        await inbox.stop()

    assert delivered_while_down == len(expected_deliveries(before)), "alerted while Redis down"
    assert counted(down_metrics, "newsalert_dependency_up", dependency="redis") == 0
    _assert_exactly_once(received, secret, expected)
    # The same-id repeat is skipped; the same-URL copy (another record) is matched and
    # folds into the alert its story already had -- no delivery either way.
    assert counted(final_metrics, "newsalert_articles_total", outcome="duplicate") == 1
    assert counted(final_metrics, "newsalert_alerts_folded_total") >= 1
    assert counted(final_metrics, "newsalert_dependency_up", dependency="redis") == 1


async def test_hot_reload_in_running_service(settings: Settings, tmp_path: Path) -> None:
    inbox = WebhookInbox()
    await inbox.start()
    secret = new_secret()
    config = tmp_path / "config.yaml"
    config.write_text(config_yaml(inbox.url, secret))
    env = service_env(settings, NEWSALERT_RELOAD_INTERVAL_S="0.5")  # the default interval
    service = ServiceProcess("run", config, env, tmp_path / "run.log")
    glacier = make_articles(4, [EXTRA_RULE[0]], seed=5, tag="glacier")
    port = make_articles(1, ["port-strike"], seed=6, tag="port")
    try:
        service.start()
        await service.wait_ready()
        await publish_articles(settings, glacier[:1])  # no rule for it yet

        async def unmatched_seen() -> bool:
            got = await service.metrics()
            return counted(got, "newsalert_articles_total", outcome="unmatched") >= 1

        assert await eventually(unmatched_seen, 30), service.log_tail()

        replacement = tmp_path / "config.yaml.new"
        replacement.write_text(config_yaml(inbox.url, secret, extra_rule=True))
        replacement.replace(config)  # what editors and config management do
        written = time.monotonic()
        live_after: float | None = None
        while time.monotonic() - written < 2.0:
            rules = await service.get("/rules")
            if rules is not None and EXTRA_RULE[0] in {r["id"] for r in rules.json()}:
                live_after = time.monotonic() - written
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(max(0.0, 2.0 - (time.monotonic() - written)))
        await publish_articles(settings, glacier[1:2])  # published 2 s after the write
        await inbox.wait_for(1, timeout_s=30)

        config.write_text("version: 1\nrules:\n  - id: Not A Valid Id\n    all: []\n")

        async def failing() -> bool:
            got = await service.metrics()
            return counted(got, "newsalert_rules_reload_failing") == 1

        assert await eventually(failing, 10), service.log_tail()
        assert service.process is not None
        assert service.process.poll() is None, "an invalid file must not stop the service"
        assert await service.ready_status() == 200
        await publish_articles(settings, [*glacier[2:], *port])  # last good rules still live
        expected = expected_deliveries([*glacier[1:], *port])
        await inbox.wait_for(len(expected), timeout_s=30)
        received = (await settle_desks(settings, inbox)).others(inbox.received)
        final = await service.metrics()
        service.signal(signal.SIGTERM)
        code = await service.wait()
    finally:
        await service.close()
        await inbox.stop()

    assert live_after is not None, "the new rule was not live within 2 s of the write"
    _assert_exactly_once(received, secret, expected)  # glacier[0] stayed unmatched
    assert counted(final, "newsalert_rules_reload_failing") == 1
    assert counted(final, "newsalert_rules_reloads_total", result="invalid") >= 1
    assert code == 0, service.log_tail()


async def test_failed_batches_are_retried_not_lost(
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A bug while matching, then alerts the broker did not confirm: nothing is lost."""
    original_match = CompiledRules.match
    original_publish = MatcherService._publish
    # The bug hits twice: the batch, then its record processed alone (which rewinds).
    bugs_left, publish_failures_left = [2], [2]

    def buggy_match(self: CompiledRules, document: Document) -> list[RuleMatch]:
        if bugs_left[0] > 0:
            bugs_left[0] -= 1
            raise RuntimeError("injected: a bug while matching")
        return original_match(self, document)

    async def flaky_publish(self: MatcherService, outcome: ArticleOutcome) -> None:
        if outcome.alerts and publish_failures_left[0] > 0:
            publish_failures_left[0] -= 1
            raise KafkaTimeoutError("injected: alerts topic did not confirm")
        await original_publish(self, outcome)

    monkeypatch.setattr(CompiledRules, "match", buggy_match)
    monkeypatch.setattr(MatcherService, "_publish", flaky_publish)
    retries_before = metrics.BATCH_RETRIES._value.get()
    articles = make_articles(3, list(RULES), seed=7, tag="flaky")
    expected = expected_deliveries(articles)
    # The two injected bugs and the publish failures each fail the batch they land in
    # (both publish failures may land in one retried batch): three retries at least.
    async with running_pipeline(settings, tmp_path, config_yaml("{url}", "{secret}")) as pipe:
        await publish_articles(settings, articles)
        await pipe.inbox.wait_for(len(expected), timeout_s=60)
        received = (await settle_desks(settings, pipe.inbox)).others(pipe.inbox.received)

    assert bugs_left == [0], "the injected bug did not happen"
    assert publish_failures_left == [0], "the injected publish failures did not happen"
    assert metrics.BATCH_RETRIES._value.get() - retries_before >= 3
    assert "matcher batch raised unexpectedly" in caplog.text
    _assert_exactly_once(received, pipe.secret, expected)


async def _committed(settings: Settings, group: str, topic: str) -> int:
    """Sum of the group's committed offsets on ``topic`` (a missing one counts 0)."""
    return sum(offset or 0 for offset in (await committed_offsets(settings, group, topic)).values())


async def test_offset_committed_only_after_alerts_are_stored(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At-least-once: while the alerts of an article are not stored, its offset is not committed."""
    original_publish = MatcherService._publish
    held, release = asyncio.Event(), asyncio.Event()

    async def slow_publish(self: MatcherService, outcome: ArticleOutcome) -> None:
        if outcome.alerts:
            held.set()
            await release.wait()
        await original_publish(self, outcome)

    monkeypatch.setattr(MatcherService, "_publish", slow_publish)
    articles = make_articles(1, ["summit-talks"], seed=9, tag="commit")
    group = settings.group(constants.MATCHER_GROUP)
    topic = settings.topic(constants.TOPIC_ARTICLES)
    async with running_pipeline(settings, tmp_path, config_yaml("{url}", "{secret}")) as pipe:
        await publish_articles(settings, articles)
        await asyncio.wait_for(held.wait(), 60)
        await asyncio.sleep(6.0)  # > the 5 s auto-commit interval an ACK_FIRST consumer uses
        committed_while_held = await _committed(settings, group, topic)
        delivered_while_held = len(pipe.inbox.received)
        release.set()
        await pipe.inbox.wait_for(2, timeout_s=60)

        async def committed() -> bool:
            return await _committed(settings, group, topic) == 1

        committed_after = await eventually(committed, 20)

    assert committed_while_held == 0, "offset committed before the alerts were stored"
    assert delivered_while_held == 0
    assert committed_after, "offset not committed after the alerts were stored"


async def test_next_alert_of_a_story_after_the_repeat_interval_is_delivered(
    settings: Settings, tmp_path: Path
) -> None:
    first = make_articles(1, ["river-flood"], seed=8, tag="repeat")[0]
    later = dict(
        first,
        id="repeat-copy",
        url="https://other.example.org/repeat-copy",
        source="Other Wire",
        body=first["body"] + " Reporting by the Other Wire desk.",
        published_at="2026-11-21T08:00:00+00:00",  # 26 h later: past the 24 h interval
    )
    async with running_pipeline(settings, tmp_path, config_yaml("{url}", "{secret}")) as pipe:
        await publish_articles(settings, [first])
        await pipe.inbox.wait_for(1, timeout_s=60)
        await publish_articles(settings, [later])
        alerts = await pipe.read_topic("alerts", 2, timeout_s=30)
        with contextlib.suppress(TimeoutError):
            await pipe.inbox.wait_for(2, timeout_s=10)
        received = list(pipe.inbox.received)

    ids = {Alert.model_validate_json(a.value).alert_id for a in alerts}
    assert len(ids) == 2, "the matcher should publish a second alert for the story"
    assert len(received) == 2, "the second alert of the story never reached the webhook"
    assert len({r.headers["webhook-id"] for r in received}) == 2
