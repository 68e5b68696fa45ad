"""End to end on a real broker (tansu and Apache Kafka), real Redis, real HTTP receiver."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from newsalert import constants
from newsalert.models import delivery_id
from newsalert.settings import Settings
from tests.integration.guarantee_support import make_articles
from tests.integration.pipeline_harness import Pipeline, running_pipeline
from tests.integration.sentinel import Sentinels, settle

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

SUMMONS = {
    "id": "kr-1",
    "title": "Seoul calls in Moscow's envoy",
    "body": "The Russian ambassador was summoned on Tuesday over military cooperation "
    "with Pyongyang, the foreign ministry said.",
    "url": "https://news.example.org/world/kr-1?utm_source=rss",
    "source": "Example Wire",
    "language": "en",
    "published_at": "2026-11-20T08:00:00Z",
}
PORT = {
    "id": "port-1",
    "title": "Dock workers walk out",
    "body": "Dock workers at the container port began a walkout over pay on Monday.",
    "url": "https://news.example.org/business/port-1",
    "published_at": "2026-11-20T09:00:00Z",
}
GARDEN = {
    "id": "garden-1",
    "title": "Orchard wins prize",
    "body": "A community orchard won a prize.",
}


async def _settle(pipe: Pipeline) -> Sentinels:
    """Sentinels behind everything published: new Korea stories, so both desks get them."""
    rule = "kr-summons-russia"
    phrase = {rule: "ambassador summoned over military cooperation"}

    def article(n: int) -> dict[str, object]:
        return make_articles(1, [rule], seed=100 + n, tag="sentinel", start=n, phrases=phrase)[0]

    return await settle(pipe.settings, pipe.inbox, ["asia-desk", "ops-desk"], article)


async def test_article_in_signed_webhook_out(settings: Settings, tmp_path: Path) -> None:
    async with running_pipeline(settings, tmp_path) as pipe:
        await pipe.publish_articles(constants.TOPIC_ARTICLES, SUMMONS)
        received = await pipe.inbox.wait_for(2, timeout_s=60)
        sentinels = await _settle(pipe)
        assert len(sentinels.others(pipe.inbox.received)) == 2  # nothing else arrived

    by_path = {r.path: r for r in received}
    assert set(by_path) == {"/asia", "/ops"}
    verifier = Webhook(pipe.secret)
    for path, sub_id in (("/asia", "asia-desk"), ("/ops", "ops-desk")):
        request = by_path[path]
        assert request.method == "POST"
        payload = verifier.verify(
            request.body, request.headers
        )  # raises when the signature is wrong
        expected_id = delivery_id(sub_id, "kr-summons-russia", payload["data"]["story_id"])
        assert request.headers["webhook-id"] == expected_id
        assert payload["type"] == "news.alert"
        data = payload["data"]
        assert data["alert_id"] == expected_id
        assert data["subscription_id"] == sub_id
        assert data["rule"] == {
            "id": "kr-summons-russia",
            "title": "Seoul summons Russian envoy over military ties",
        }
        assert data["article"]["id"] == "kr-1"
        assert data["article"]["title"] == SUMMONS["title"]
        assert data["article"]["url"] == SUMMONS["url"]
        assert data["article"]["source"] == "Example Wire"
        assert data["article"]["published_at"].startswith("2026-11-20T08:00:00")
        assert data["matched"]


async def test_repeat_no_second_alert_and_bad_input_to_dlq(
    settings: Settings, tmp_path: Path
) -> None:
    repeat_by_url = dict(SUMMONS, id="kr-1-copy", url="https://NEWS.example.org/world/kr-1/#top")
    async with running_pipeline(settings, tmp_path) as pipe:
        await pipe.publish_articles(constants.TOPIC_ARTICLES, SUMMONS)
        await pipe.inbox.wait_for(2, timeout_s=60)
        await pipe.publish(
            constants.TOPIC_ARTICLES,
            json.dumps(SUMMONS).encode(),  # same id again
            json.dumps(repeat_by_url).encode(),  # same canonical URL
            b"{not json",
            json.dumps({"title": "no id", "body": "x"}).encode(),
            b"x" * (settings.max_article_bytes + 1),
        )
        await pipe.publish_articles(constants.TOPIC_ARTICLES, GARDEN, PORT)
        received = await pipe.inbox.wait_for(3, timeout_s=60)
        dlq = await pipe.read_topic(constants.TOPIC_ARTICLES_DLQ, 3)
        received = (await _settle(pipe)).others(pipe.inbox.received)

    rules_seen = sorted((r.path, json.loads(r.body)["data"]["rule"]["id"]) for r in received)
    assert rules_seen == [
        ("/asia", "kr-summons-russia"),
        ("/ops", "kr-summons-russia"),
        ("/ops", "port-strike"),
    ]
    reasons = sorted(dict(r.headers)[constants.HEADER_DLQ_REASON].decode() for r in dlq)
    assert any("invalid JSON" in r for r in reasons)
    assert any(r.startswith("id:") for r in reasons)
    assert any("over the" in r for r in reasons)
    assert {r.value for r in dlq} >= {b"{not json"}
