"""A tiny webhook inbox: an HTTP server on loopback that records every POST.

Used by ``newsalert demo`` and ``newsalert receiver`` to show deliveries, and by the tests
as the real HTTP receiver. Deliberately dependency-free (asyncio streams, HTTP/1.1,
``Content-Length`` bodies, keep-alive) so it behaves like a plain web server.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

_REASONS = {
    200: "OK",
    204: "No Content",
    400: "Bad Request",
    404: "Not Found",
    410: "Gone",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the inbox saw it."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    received_at: float


@dataclass(frozen=True)
class Reply:
    """What the inbox answers: status, extra headers, optional delay before answering."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


Responder = Callable[[ReceivedRequest], Reply | Awaitable[Reply]]


class WebhookInbox:
    """Records requests; answers each with ``responder(request)`` (default: 200).

    ``keep`` bounds :attr:`received` to the most recent requests, for an inbox that runs
    for days (``newsalert receiver``); :attr:`total` still counts every request.
    """

    def __init__(self, responder: Responder | None = None, *, keep: int | None = None) -> None:
        self.received: list[ReceivedRequest] = []
        self.total = 0
        self._keep = keep
        self._responder = responder
        self._server: asyncio.Server | None = None
        self._arrived = asyncio.Condition()
        self.port = 0

    @property
    def url(self) -> str:
        """Base URL of the inbox (``http://127.0.0.1:PORT``)."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen (on a free port by default) and return the base URL."""
        self._server = await asyncio.start_server(self._serve, host, port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.url

    async def stop(self) -> None:
        """Stop listening and drop open connections."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    async def wait_for(self, count: int, timeout_s: float) -> list[ReceivedRequest]:
        """Wait until at least ``count`` requests arrived; raises TimeoutError otherwise."""
        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: self.total >= count), timeout_s)
        return list(self.received)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await self._read_request(reader)
                if request is None:
                    break
                async with self._arrived:
                    self.total += 1
                    self.received.append(request)
                    if self._keep is not None and len(self.received) > self._keep:
                        del self.received[: len(self.received) - self._keep]
                    self._arrived.notify_all()
                reply = await self._reply_for(request)
                if reply.delay_s:
                    await asyncio.sleep(reply.delay_s)
                head = [f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Status')}",
                        "Content-Length: 0"]  # fmt: skip
                head += [f"{name}: {value}" for name, value in reply.headers.items()]
                writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _reply_for(self, request: ReceivedRequest) -> Reply:
        if self._responder is None:
            return Reply()
        reply = self._responder(request)
        if isinstance(reply, Reply):
            return reply
        return await reply

    @staticmethod
    async def _read_request(reader: asyncio.StreamReader) -> ReceivedRequest | None:
        line = await reader.readline()
        if not line:
            return None
        method, path, _version = line.decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while True:
            raw = await reader.readline()
            if raw in (b"\r\n", b"\n", b""):
                break
            name, _, value = raw.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        body = await reader.readexactly(length) if length else b""
        return ReceivedRequest(method, path, headers, body, time.time())
