"""The sender against real HTTP receivers on loopback: SSRF guard, redirects, timeouts."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest

from newsalert.receiver import ReceivedRequest, Reply, WebhookInbox
from newsalert.webhooks.sender import WebhookSender
from newsalert.webhooks.signing import sign_request
from newsalert.webhooks.ssrf import AddressPolicy

pytestmark = pytest.mark.integration

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
REQUEST = sign_request([SECRET], "msg_test", int(time.time()), b'{"ok":true}')
LOOPBACK = AddressPolicy.from_strings(["127.0.0.0/8"])


@pytest.fixture
async def inbox() -> AsyncIterator[WebhookInbox]:
    box = WebhookInbox()
    await box.start()
    yield box
    await box.stop()


async def _post(policy: AddressPolicy, url: str, timeout_s: float = 5.0) -> object:
    sender = WebhookSender(policy, timeout_s=timeout_s)
    try:
        return await sender.post(url, REQUEST)
    finally:
        await sender.aclose()


async def test_loopback_is_refused_unless_allow_listed(inbox: WebhookInbox) -> None:
    for url in (f"{inbox.url}/hook", f"http://localhost:{inbox.port}/hook"):
        sender = WebhookSender(AddressPolicy(), timeout_s=5)
        refused = await sender.post(url, REQUEST)
        await sender.aclose()
        assert refused.refused
        assert refused.status is None
        assert refused.error is not None
        assert "loopback" in refused.error
    assert inbox.received == []
    sender = WebhookSender(LOOPBACK, timeout_s=5)
    allowed = await sender.post(f"{inbox.url}/hook", REQUEST)
    await sender.aclose()
    assert allowed.status == 200
    assert len(inbox.received) == 1
    assert inbox.received[0].body == REQUEST.body
    assert inbox.received[0].headers["webhook-id"] == "msg_test"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://10.0.0.1/hook", "private"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://[::1]:9/hook", "loopback"),
        ("http://0.0.0.0:9/hook", "unspecified"),
    ],
)
async def test_internal_targets_are_refused_without_connecting(url: str, reason: str) -> None:
    result = await _post(LOOPBACK, url)
    assert getattr(result, "refused", False)
    assert reason in str(getattr(result, "error", ""))


async def test_only_http_and_https(inbox: WebhookInbox) -> None:
    sender = WebhookSender(LOOPBACK)
    result = await sender.post(f"ftp://127.0.0.1:{inbox.port}/x", REQUEST)
    await sender.aclose()
    assert result.refused
    assert inbox.received == []


async def test_redirects_are_never_followed(inbox: WebhookInbox) -> None:
    target = WebhookInbox()
    await target.start()
    try:
        redirecting = WebhookInbox(lambda _req: Reply(302, {"Location": f"{target.url}/elsewhere"}))
        await redirecting.start()
        sender = WebhookSender(LOOPBACK)
        result = await sender.post(f"{redirecting.url}/hook", REQUEST)
        await sender.aclose()
        await redirecting.stop()
    finally:
        await target.stop()
    assert result.status == 302
    assert len(redirecting.received) == 1
    assert target.received == []


async def test_a_hanging_endpoint_times_out() -> None:
    release = asyncio.Event()

    async def hang(_request: ReceivedRequest) -> Reply:
        await release.wait()
        return Reply(200)

    hanging = WebhookInbox(hang)
    await hanging.start()
    try:
        sender = WebhookSender(LOOPBACK, timeout_s=0.3)
        result = await sender.post(f"{hanging.url}/hook", REQUEST)
        await sender.aclose()
    finally:
        release.set()  # let the inbox's connection handler finish inside this test's loop
        await asyncio.sleep(0.2)
        await hanging.stop()
    assert result.timed_out
    assert result.status is None


async def test_retry_after_is_reported(inbox: WebhookInbox) -> None:
    throttling = WebhookInbox(lambda _req: Reply(429, {"Retry-After": "7"}))
    await throttling.start()
    try:
        sender = WebhookSender(LOOPBACK)
        result = await sender.post(f"{throttling.url}/hook", REQUEST)
        await sender.aclose()
    finally:
        await throttling.stop()
    assert result.status == 429
    assert result.retry_after == "7"


async def test_a_trickling_reply_cannot_outlive_the_timeout() -> None:
    # Every byte arrives well within the per-read timeout; only a deadline on the whole
    # attempt stops it (100 bytes at 0.2 s each would take 20 s).
    stopping = asyncio.Event()
    finished = asyncio.Event()

    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
            with contextlib.suppress(ConnectionError):
                for _ in range(100):
                    if stopping.is_set():
                        break
                    writer.write(b"x")
                    await writer.drain()
                    await asyncio.sleep(0.2)
        finally:
            writer.close()
            finished.set()

    server = await asyncio.start_server(trickle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        sender = WebhookSender(LOOPBACK, timeout_s=0.5)
        result = await sender.post(f"http://127.0.0.1:{port}/hook", REQUEST)
        await sender.aclose()
    finally:
        stopping.set()
        await asyncio.wait_for(finished.wait(), 5)
        server.close()
        await server.wait_closed()
    assert result.timed_out
    assert result.status is None
