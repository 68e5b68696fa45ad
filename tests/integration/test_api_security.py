"""Who may call which route of the running service's API, and what a refused call does.

The documented matrix (docs/security.md): open routes answer anyone; read routes need a
read or admin token (401 without or with a wrong one); admin routes need an admin token
(401 without or with a wrong one, 403 with a read token). A refused call writes nothing
to Redis and sends nothing to a receiver.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis

from newsalert import constants
from newsalert.api.server import create_app
from newsalert.apiauth import ADMIN_DISABLED, API_DISABLED, ApiGuard, ApiTokens
from newsalert.dispatcher.api import MAX_REASON_CHARS, deliveries_router
from newsalert.dispatcher.store import DeliveryStore
from newsalert.receiver import WebhookInbox
from newsalert.settings import Settings
from tests.integration.api_support import (
    ADMIN_TOKEN,
    READ_TOKEN,
    WRONG_TOKEN,
    ApiService,
    api_service,
    with_tokens,
)
from tests.integration.pipeline_harness import RULES_YAML, Pipeline, new_secret

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

SUB = "ops-desk"
#: Expected status per caller: (no token, wrong token, read token, admin token).
OPEN = (200, 200, 200, 200)
READ = (401, 401, 200, 200)
ADMIN = (401, 401, 403, 200)
CALLERS = (None, WRONG_TOKEN, READ_TOKEN, ADMIN_TOKEN)


def routes(delivery: str) -> list[tuple[str, str, dict[str, Any], tuple[int, ...]]]:
    """(method, path, request kwargs, expected statuses) of every route."""
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    text = {"title": "Port strike", "body": "Dock workers strike at the port."}
    return [
        ("GET", "/healthz", {}, OPEN),
        ("GET", "/readyz", {}, OPEN),
        ("GET", "/metrics", {}, OPEN),
        ("GET", "/docs", {}, READ),
        ("GET", "/openapi.json", {}, READ),
        ("GET", "/rules", {}, READ),
        ("GET", "/subscriptions", {}, READ),
        ("POST", "/rules/test", {"json": text}, READ),
        ("GET", "/deliveries", {}, READ),
        ("GET", f"/deliveries/{delivery}", {}, READ),
        ("GET", f"/subscriptions/{SUB}/delivery-state", {}, READ),
        ("POST", f"/subscriptions/{SUB}/pause", {"params": {"reason": "test"}}, ADMIN),
        ("POST", f"/subscriptions/{SUB}/resume", {}, ADMIN),
        ("POST", f"/deliveries/{delivery}/redeliver", {}, ADMIN),
        ("POST", f"/subscriptions/{SUB}/recover", {"params": {"since": since}}, ADMIN),
    ]


_STORIES = {
    "first": ("Port walkout halts container traffic", "Dock workers walked out at the port."),
    "sentinel": ("Harbour strike enters its third day", "Crane operators strike at the port."),
}


def _article(article_id: str) -> dict[str, object]:
    # Different stories: near-duplicates would be folded into one alert.
    title, body = _STORIES[article_id]
    return {"id": article_id, "title": title, "body": body}


async def _delivered(service: ApiService, count: int) -> list[dict[str, Any]]:
    async with service.client(ADMIN_TOKEN) as client:
        for _ in range(200):
            rows = (await client.get("/deliveries", params={"subscription": SUB})).json()
            if len(rows) >= count and all(row["status"] == "delivered" for row in rows):
                return list(rows)
            await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {count} delivered deliveries: {rows}")


@pytest.fixture
async def service(settings: Settings, tmp_path: Path) -> AsyncIterator[tuple[ApiService, Pipeline]]:
    inbox = WebhookInbox()
    await inbox.start()
    secret = new_secret()
    config = RULES_YAML.format(url=inbox.url, secret=secret)
    settings = with_tokens(settings)
    try:
        async with api_service(settings, config, tmp_path, inbox) as running:
            yield running, Pipeline(settings, inbox, secret, tmp_path / "rules.yaml")
    finally:
        await inbox.stop()


async def test_route_by_caller_matrix_and_refusals_change_nothing(
    service: tuple[ApiService, Pipeline],
) -> None:
    api, pipe = service
    await pipe.publish_articles(constants.TOPIC_ARTICLES, _article("first"))
    await api.inbox.wait_for(1, timeout_s=60)
    [record] = await _delivered(api, 1)
    delivery = record["delivery_id"]
    table = routes(delivery)

    before, sent_before = await api.redis_snapshot(), len(api.inbox.received)
    for method, path, kwargs, expected in table:
        for token, status in zip(CALLERS, expected, strict=True):
            if status == 200:
                continue
            async with api.client(token) as client:
                answer = await client.request(method, path, **kwargs)
            assert answer.status_code == status, (method, path, token, answer.text)
            if status == 401:
                assert answer.headers["www-authenticate"] == "Bearer"
            assert WRONG_TOKEN not in answer.text
            assert READ_TOKEN not in answer.text
    assert await api.redis_snapshot() == before, "a refused call wrote to Redis"

    # Sentinel: published after every refused call; once it is in, nothing else came.
    await pipe.publish_articles(constants.TOPIC_ARTICLES, _article("sentinel"))
    await api.inbox.wait_for(sent_before + 1, timeout_s=60)
    await _delivered(api, 2)
    extra = api.inbox.received[sent_before:]
    assert [json.loads(r.body)["data"]["article"]["id"] for r in extra] == ["sentinel"]

    for method, path, kwargs, expected in table:
        for token, status in zip(CALLERS, expected, strict=True):
            if status != 200 or (expected is ADMIN and token != ADMIN_TOKEN):
                continue
            async with api.client(token) as client:
                answer = await client.request(method, path, **kwargs)
            assert answer.status_code == 200, (method, path, token, answer.text)
    # The admitted redeliver really resent the first alert, with its webhook-id.
    got = await api.inbox.wait_for(sent_before + 2, timeout_s=30)
    assert got[-1].headers["webhook-id"] == delivery


async def test_unknown_ids_and_limits_answer_without_writing(
    service: tuple[ApiService, Pipeline],
) -> None:
    api, _pipe = service
    old = "1970-01-01T00:00:00Z"
    recent = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    before = await api.redis_snapshot()
    async with api.client(ADMIN_TOKEN) as client:
        for method, path, params in [
            ("POST", "/subscriptions/nope/pause", {"reason": "x" * 10_000}),
            ("POST", "/subscriptions/nope/pause", {}),
            ("POST", "/subscriptions/nope/resume", {}),
            ("POST", "/subscriptions/nope/recover", {"since": recent}),
            ("GET", "/subscriptions/nope/delivery-state", {}),
            ("POST", "/deliveries/msg_nope/redeliver", {}),
            ("POST", "/deliveries/alrt_nope/redeliver", {}),
            ("GET", "/deliveries/msg_nope", {}),
        ]:
            answer = await client.request(method, path, params=params)
            assert answer.status_code in (404, 422), (path, answer.text)
            if not params.get("reason"):
                assert answer.status_code == 404, (path, answer.text)

        long_reason = {"reason": "x" * (MAX_REASON_CHARS + 1)}
        answer = await client.post(f"/subscriptions/{SUB}/pause", params=long_reason)
        assert answer.status_code == 422, answer.text
        answer = await client.post(f"/subscriptions/{SUB}/recover", params={"since": old})
        assert answer.status_code == 422
        assert "older than the delivery log keeps" in answer.text

        too_big = {"title": "t", "body": "x" * (api.settings.max_article_bytes + 1)}
        answer = await client.post("/rules/test", json=too_big)
        assert answer.status_code == 413, answer.text
        chunked = client.build_request("POST", "/rules/test", content=_chunks(b'{"title": "x"}'))
        assert "content-length" not in chunked.headers
        answer = await client.send(chunked)
        assert answer.status_code == 411, answer.text
    assert await api.redis_snapshot() == before, "an unknown id or a refused input wrote"


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


@pytest.fixture
async def store(redis_settings: Settings) -> AsyncIterator[DeliveryStore]:
    redis = Redis.from_url(redis_settings.redis_url, decode_responses=True)
    yield DeliveryStore(redis, redis_settings.redis_prefix)
    await redis.aclose()


def _app(store: DeliveryStore, tokens: ApiTokens) -> FastAPI:
    guard = ApiGuard(tokens)
    app = create_app(_NoRules(), [], guard)  # type: ignore[arg-type]
    app.include_router(deliveries_router(store, lambda: [SUB], guard))
    return app


class _NoRules:
    """The reloader part /readyz reads: no rules compiled."""

    compiled: tuple[()] = ()


async def _call(
    app: FastAPI, method: str, path: str, token: str | None, **kw: Any
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        return await client.request(method, path, headers=headers, **kw)


async def test_without_an_admin_token_state_changes_are_disabled(store: DeliveryStore) -> None:
    app = _app(store, ApiTokens.parse(read=READ_TOKEN, admin=""))
    for method, path, kwargs, expected in routes("msg_x"):
        if expected is not ADMIN:
            continue
        for token in (None, WRONG_TOKEN, READ_TOKEN, ADMIN_TOKEN):
            answer = await _call(app, method, path, token, **kwargs)
            assert answer.status_code == 403, (path, token)
            assert answer.json()["detail"] == ADMIN_DISABLED
            assert "NEWSALERT_API_ADMIN_TOKENS" in ADMIN_DISABLED
    assert (await _call(app, "GET", f"/subscriptions/{SUB}/delivery-state", READ_TOKEN)).is_success
    keys = [k async for k in store.log.redis.scan_iter(match=f"{store.log.keys.prefix}*")]
    assert keys == []


async def test_without_any_token_only_probes_and_metrics_answer(store: DeliveryStore) -> None:
    app = _app(store, ApiTokens())
    for method, path, kwargs, expected in routes("msg_x"):
        if path == "/readyz":
            continue  # needs running services; covered on the real service above
        answer = await _call(app, method, path, READ_TOKEN, **kwargs)
        if expected is OPEN:
            assert answer.status_code == 200, path
        else:
            assert answer.status_code == 403, path
            assert answer.json()["detail"] in (API_DISABLED, ADMIN_DISABLED)
