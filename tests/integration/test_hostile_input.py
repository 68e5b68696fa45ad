"""Hostile input through the real service: real broker (tansu and Apache Kafka), Redis, HTTP.

Every hostile record is followed on its partition by a sentinel article that must alert
exactly once; afterwards the matcher group has no lag, ``/readyz`` answers 200, and each
hostile record was either processed or is on ``articles.dlq`` with a reason, a kind and
an exception type — exactly those the edge refuses, and with the edge's kind.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from standardwebhooks.webhooks import Webhook

from newsalert import constants, metrics
from newsalert.kafka import group_caught_up
from newsalert.rules import CompiledRules, Document, RuleMatch
from newsalert.runner import Roles
from newsalert.settings import Settings
from newsalert.stack.process import free_port
from tests.hostile_input import batches, generate
from tests.integration.guarantee_support import eventually
from tests.integration.hostile_support import (
    PARTITIONS,
    RULES_YAML,
    PartitionPublisher,
    delivered_articles,
    edge_kind,
    read_dead_letters,
    sentinel,
)
from tests.integration.pipeline_harness import Pipeline, running_pipeline

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


class Run:
    """A running service plus what the test published to it."""

    def __init__(self, pipe: Pipeline, api: str, publisher: PartitionPublisher) -> None:
        self.pipe = pipe
        self.api = api
        self.publisher = publisher
        self.rng = random.Random(11)
        self.sentinels: list[str] = []
        self.hostile: dict[str, bytes] = {}  # position -> value

    async def hostile_then_sentinel(
        self,
        values: list[bytes],
        partition: int,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        """Publish ``values`` then a sentinel on ``partition``; wait for its one alert."""
        for value in values:
            self.hostile[await self.publisher.put(value, partition, headers)] = value
        article_id, raw = sentinel(len(self.sentinels), self.rng)
        self.sentinels.append(article_id)
        await self.publisher.put(raw, partition)

        async def arrived() -> bool:
            return article_id in delivered_articles(self.pipe.inbox.received, "/sentinel")

        assert await eventually(arrived, 30), f"sentinel {article_id} did not alert: stalled"

    async def check(self, later_kinds: frozenset[str] = frozenset()) -> None:
        """Sentinels once each, no lag, ready, every refused record on the DLQ as refused.

        ``later_kinds``: DLQ kinds a record the edge accepts may get from a later stage.
        """
        settings = self.pipe.settings
        group = settings.group(constants.MATCHER_GROUP)
        topic = settings.topic(constants.TOPIC_ARTICLES)

        async def caught_up() -> bool:
            return await group_caught_up(settings, group, topic)

        assert await eventually(caught_up, 20), "the matcher group kept a lag"
        async with httpx.AsyncClient() as client:
            ready = await client.get(f"{self.api}/readyz")
        assert ready.status_code == 200, ready.text

        sentinels = delivered_articles(self.pipe.inbox.received, "/sentinel")
        assert sentinels == dict.fromkeys(self.sentinels, 1)
        verifier = Webhook(self.pipe.secret)
        for request in self.pipe.inbox.received:  # hostile titles still sign and verify
            verifier.verify(request.body, request.headers)

        letters = {letter.source: letter for letter in await read_dead_letters(settings)}
        assert set(letters) <= set(self.hostile), "a sentinel or unknown record in the DLQ"
        for position, value in self.hostile.items():
            kind = edge_kind(value, settings.max_article_bytes)
            letter = letters.get(position)
            if kind is not None:
                assert letter is not None, f"{position} refused at the edge but not in the DLQ"
                assert (letter.kind, letter.error) == (kind, "ArticleError")
                assert letter.value == value
            if letter is not None:
                assert letter.reason
                assert letter.error
            # A record the edge accepts is processed, unless a later stage refused it
            # in a way this test expects.
            assert kind is not None or letter is None or letter.kind in later_kinds, letter


@pytest.fixture
async def run(settings: Settings, tmp_path: Path) -> AsyncIterator[Run]:
    port = free_port()
    async with (
        running_pipeline(settings, tmp_path, RULES_YAML, Roles(api_port=port)) as pipe,
        PartitionPublisher(settings) as publisher,
    ):
        yield Run(pipe, f"http://127.0.0.1:{port}", publisher)


def _article(**fields: object) -> bytes:
    return json.dumps({"id": f"issue-{uuid.uuid4().hex[:10]}", **fields}).encode()


async def test_issue_examples_go_to_the_dlq_and_later_articles_still_alert(run: Run) -> None:
    """Records whose work raises mid-batch: without per-record isolation each would
    stall its partition forever."""
    poison_before = metrics.POISON_RECORDS.labels("matcher")._value.get()
    examples = [
        _article(title="port strike at the docks", url="http://[::1/"),  # processed
        _article(title="port strike", url="\ud800"),
        _article(title="port strike", source="\ud800"),
        _article(title="port strike \ud800"),
        b'{"id": "deep", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        b'{"id": "digits", "n": ' + b"9" * 5000 + b"}",
        _article(title="port strike in the year 9999", published_at="9999-12-31T23:59:59Z"),
    ]
    for number, value in enumerate(examples):
        await run.hostile_then_sentinel([value], number % PARTITIONS)
    # FastStream's parser decodes header values as UTF-8; one that is not must not matter.
    bad_header = _article(title="port strike with a bad header")
    await run.hostile_then_sentinel([bad_header], 0, headers=[("origin", b"\xff\xfe")])
    await run.check()

    letters = await read_dead_letters(run.pipe.settings)
    assert sorted(letter.kind for letter in letters) == [
        "lone-surrogate",
        "lone-surrogate",
        "lone-surrogate",
        "number-out-of-range",
        "too-deep",
    ]
    hostile = [json.loads(r.body)["data"] for r in run.pipe.inbox.received if r.path == "/hostile"]
    by_title = {data["article"]["title"]: data for data in hostile}
    assert set(by_title) == {
        "port strike at the docks",
        "port strike in the year 9999",
        "port strike with a bad header",
    }
    assert by_title["port strike at the docks"]["article"]["url"] == "http://[::1/"
    assert by_title["port strike at the docks"]["event_time_clamped"] is False
    assert by_title["port strike in the year 9999"]["event_time_clamped"] is True
    assert metrics.POISON_RECORDS.labels("matcher")._value.get() == poison_before


async def test_generated_hostile_records_never_stall_the_matcher(run: Run) -> None:
    """Generated batches of hostile records (Hypothesis), each followed by a sentinel."""
    for values, partition in generate(batches(), 12):
        await run.hostile_then_sentinel(values, partition)
    assert len(run.sentinels) == 12
    await run.check()


async def test_a_record_that_keeps_raising_goes_to_the_dlq_after_three_tries(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug only one article triggers (every time) costs two rewinds, then the DLQ."""
    original = CompiledRules.match

    def match(self: CompiledRules, document: Document) -> list[RuleMatch]:
        if "poison port strike" in document.fields["title"].text:
            raise RuntimeError("injected: a bug only this article triggers")
        return original(self, document)

    monkeypatch.setattr(CompiledRules, "match", match)
    poison_before = metrics.POISON_RECORDS.labels("matcher")._value.get()
    retries_before = metrics.BATCH_RETRIES._value.get()
    await run.hostile_then_sentinel([_article(title="poison port strike")], 1)
    await run.hostile_then_sentinel([_article(title="port strike after the poison")], 1)

    [letter] = await read_dead_letters(run.pipe.settings)
    assert (letter.kind, letter.error) == ("poison", "RuntimeError")
    assert letter.reason.startswith("failed 3 times: RuntimeError: injected")
    assert metrics.POISON_RECORDS.labels("matcher")._value.get() == poison_before + 1
    assert metrics.BATCH_RETRIES._value.get() - retries_before == 2
    hostile = [json.loads(r.body)["data"] for r in run.pipe.inbox.received if r.path == "/hostile"]
    assert [data["article"]["title"] for data in hostile] == ["port strike after the poison"]


async def test_alerts_and_dead_letters_too_large_for_their_topics(
    settings: Settings, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """An alert the broker refuses as too large sends its article to the DLQ; a DLQ that
    takes less than the source did gets the reason without the value."""
    if request.node.callspec.params["kafka_bootstrap"] == "tansu":
        pytest.skip("tansu does not enforce a topic's max.message.bytes")
    small = {"max.message.bytes": "3000"}
    names = (constants.TOPIC_ALERTS, constants.TOPIC_ARTICLES_DLQ)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(settings.topic(name), 3, 1, topic_configs=small) for name in names]
        )
    finally:
        await admin.close()
    port = free_port()
    huge_title = "port strike " + "x" * 6000
    async with (
        running_pipeline(settings, tmp_path, RULES_YAML, Roles(api_port=port)) as pipe,
        PartitionPublisher(settings) as publisher,
    ):
        run = Run(pipe, f"http://127.0.0.1:{port}", publisher)
        await run.hostile_then_sentinel([_article(title=huge_title)], 2)
        await run.check(later_kinds=frozenset({"too-large"}))
        [letter] = await read_dead_letters(settings)
    assert (letter.kind, letter.error) == ("too-large", "MessageSizeTooLargeError")
    assert letter.value == b""
    assert "bytes left out" in letter.reason
