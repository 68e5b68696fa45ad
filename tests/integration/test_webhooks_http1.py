"""The sender's HTTP/1.1 client against scripted receivers on loopback.

Each receiver here answers every request with fixed bytes, so the replies can be as
broken as a hostile or buggy endpoint makes them: the sender must come back with a
result (never raise, never hang past its deadline) and reuse a connection only when the
previous reply ended exactly.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from newsalert.webhooks.sender import MAX_RESPONSE_CHARS, AttemptResult, WebhookSender
from newsalert.webhooks.signing import sign_request
from newsalert.webhooks.ssrf import AddressPolicy

pytestmark = pytest.mark.integration

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
REQUEST = sign_request([SECRET], "msg_http1", int(time.time()), b'{"ok":true}')
LOOPBACK = AddressPolicy.from_strings(["127.0.0.0/8"])
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


class Scripted:
    """A receiver answering each request with ``reply(n)`` (n: requests so far)."""

    def __init__(self, reply: Callable[[int], bytes], *, close_after: bool = False) -> None:
        self._reply = reply
        self._close_after = close_after
        self.connections = 0
        self.requests: list[bytes] = []
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length)
                self.requests.append(head + body)
                writer.write(self._reply(len(self.requests)))
                await writer.drain()
                if self._close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    def drop_connections(self) -> None:
        for writer in list(self._writers):
            writer.close()

    async def stop(self) -> None:
        self.drop_connections()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


@contextlib.asynccontextmanager
async def scripted(reply: Callable[[int], bytes], **kwargs: Any) -> AsyncIterator[Scripted]:
    server = Scripted(reply, **kwargs)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def _posts(url: str, count: int, timeout_s: float = 2.0) -> list[AttemptResult]:
    sender = WebhookSender(LOOPBACK, timeout_s=timeout_s)
    try:
        return [await sender.post(url, REQUEST, pool="p") for _ in range(count)]
    finally:
        await sender.aclose()


async def test_keep_alive_reuses_one_connection() -> None:
    async with scripted(lambda _n: OK) as server:
        results = await _posts(server.url, 5)
    assert [r.status for r in results] == [200] * 5
    assert results[0].response == "ok"
    assert server.connections == 1
    head = server.requests[0].split(b"\r\n\r\n", 1)[0].lower()
    assert head.startswith(b"post /hook http/1.1\r\n")
    assert f"host: 127.0.0.1:{server.port}".encode() in head
    assert b"webhook-id: msg_http1" in head
    assert server.requests[0].endswith(REQUEST.body)


async def test_connection_close_is_honoured() -> None:
    reply = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    async with scripted(lambda _n: reply, close_after=True) as server:
        results = await _posts(server.url, 3)
    assert [r.status for r in results] == [200] * 3
    assert server.connections == 3


async def test_http10_reply_read_until_close() -> None:
    async with scripted(lambda _n: b"HTTP/1.0 201 Created\r\n\r\nmade", close_after=True) as s:
        results = await _posts(s.url, 2)
    assert [(r.status, r.response) for r in results] == [(201, "made")] * 2


async def test_chunked_reply_with_trailer() -> None:
    reply = (
        b"HTTP/1.1 503 Busy\r\nTransfer-Encoding: chunked\r\nRetry-After: 7\r\n\r\n"
        b"4;ext=1\r\nbusy\r\n6\r\n again\r\n0\r\nX-Trailer: t\r\n\r\n"
    )
    async with scripted(lambda _n: reply) as server:
        results = await _posts(server.url, 3)
    assert [(r.status, r.response, r.retry_after) for r in results] == [
        (503, "busy again", "7")
    ] * 3
    assert server.connections == 1


async def test_interim_reply_is_skipped_and_repeated_headers_joined() -> None:
    reply = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 429 Slow\r\nRetry-After: 1\r\nretry-after: 2\r\nContent-Length: 0\r\n\r\n"
    )
    async with scripted(lambda _n: reply) as server:
        (result,) = await _posts(server.url, 1)
    assert (result.status, result.retry_after) == (429, "1, 2")


async def test_a_huge_body_is_cut_and_its_connection_dropped() -> None:
    huge = b"HTTP/1.1 200 OK\r\nContent-Length: 5000000\r\n\r\n" + b"x" * 5_000_000
    async with scripted(lambda _n: huge) as server:
        results = await _posts(server.url, 2)
    assert [r.status for r in results] == [200, 200]
    assert len(results[0].response) == MAX_RESPONSE_CHARS + 1  # 512 and the ellipsis
    assert server.connections == 2


@pytest.mark.parametrize(
    ("reply", "fragment"),
    [
        (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "status line"),
        (b"HTTP/1.1 2000 OK\r\n\r\n", "status line"),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "header"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n", "content-length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n", "content-length"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "transfer-encoding"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunk size"),
        (b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 200_000, "too large"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "mid-reply"),
    ],
)
async def test_malformed_replies_are_failed_attempts(reply: bytes, fragment: str) -> None:
    async with scripted(lambda _n: reply, close_after=True) as server:
        started = time.monotonic()
        (result,) = await _posts(server.url, 1, timeout_s=5.0)
    assert result.status is None
    assert not result.timed_out
    assert result.error is not None
    assert fragment in result.error
    assert time.monotonic() - started < 4.0  # refused on the spot, not at the deadline


async def test_a_reply_less_close_of_a_kept_connection_is_retried_on_a_new_one() -> None:
    async with scripted(lambda _n: OK) as server:
        sender = WebhookSender(LOOPBACK, timeout_s=2.0)
        try:
            first = await sender.post(server.url, REQUEST, pool="p")
            server.drop_connections()  # the receiver's idle timeout
            second = await sender.post(server.url, REQUEST, pool="p")
        finally:
            await sender.aclose()
    assert (first.status, second.status) == (200, 200)
    assert server.connections == 2


async def test_a_trickled_head_times_out() -> None:
    stopping = asyncio.Event()
    finished = asyncio.Event()

    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\n")
            while not stopping.is_set():
                writer.write(b"X: y\r\n")
                await writer.drain()
                await asyncio.sleep(0.05)
        writer.close()
        finished.set()

    server = await asyncio.start_server(trickle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        (result,) = await _posts(f"http://127.0.0.1:{port}/hook", 1, timeout_s=0.5)
    finally:
        stopping.set()
        await asyncio.wait_for(finished.wait(), 5)
        server.close()
        await server.wait_closed()
    assert result.timed_out
    assert result.error == "timeout: ReadTimeout"


async def test_a_host_name_is_connected_to_by_its_vetted_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers: list[str] = []

    async def getaddrinfo(host: str, port: int, **_kwargs: Any) -> list[Any]:
        answers.append(host)
        address = "127.0.0.1" if host == "hook.example" else "10.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    async with scripted(lambda _n: OK) as server:
        monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)
        results = await _posts(f"http://hook.example:{server.port}/h", 1)
        refused = await _posts(f"http://inside.example:{server.port}/h", 1)
    assert results[0].status == 200
    assert f"host: hook.example:{server.port}".encode() in server.requests[0].lower()
    assert refused[0].refused
    assert "10.0.0.1" in (refused[0].error or "")
    assert answers == ["hook.example", "inside.example"]
    assert len(server.requests) == 1


async def test_tls_to_a_plain_listener_is_a_failed_attempt() -> None:
    async with scripted(lambda _n: OK) as server:
        (result,) = await _posts(f"https://127.0.0.1:{server.port}/hook", 1)
    assert result.status is None
    assert result.error is not None
