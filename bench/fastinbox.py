"""A fast local webhook receiver for benchmarks: HTTP/1.1 keep-alive, 200 to every POST.

``newsalert.receiver.WebhookInbox`` verifies every signature and keeps every request,
which costs more than the dispatcher's own work per webhook; a benchmark of the
dispatcher needs a receiver that is not the bottleneck. This one parses just enough
HTTP (request line, ``content-length``, ``webhook-id``) on a raw asyncio protocol and
counts distinct ``(path, webhook-id)`` pairs, so repeats are visible.
"""

from __future__ import annotations

import asyncio
import time

_REPLY = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok"


class FastInbox:
    """Counts webhooks; :attr:`first_at`/:attr:`last_at` are ``perf_counter`` stamps."""

    def __init__(self) -> None:
        self.seen: set[tuple[bytes, bytes]] = set()
        self.requests = 0
        self.first_at: float | None = None
        self.last_at: float | None = None
        self.arrivals: dict[bytes, float] = {}  # webhook-id -> first arrival (latency)
        #: When not None, every request's ``(arrival, body)`` (latency by article id).
        self.bodies: list[tuple[float, bytes]] | None = None
        self._server: asyncio.Server | None = None
        self.transports: set[asyncio.Transport] = set()
        self.port = 0

    @property
    def url(self) -> str:
        """Base URL (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Listen on a free loopback port."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Protocol(self), "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close the listener and every connection."""
        if self._server is not None:
            self._server.close()
            for transport in list(self.transports):
                transport.close()
            await self._server.wait_closed()

    def reset(self) -> None:
        """Forget what arrived (between measurements)."""
        self.seen.clear()
        self.arrivals.clear()
        if self.bodies is not None:
            self.bodies.clear()
        self.requests = 0
        self.first_at = self.last_at = None

    def _record(self, path: bytes, webhook_id: bytes, body: bytes = b"") -> None:
        now = time.perf_counter()
        if self.bodies is not None:
            self.bodies.append((now, body))
        if self.first_at is None:
            self.first_at = now
        self.last_at = now
        self.requests += 1
        self.seen.add((path, webhook_id))
        self.arrivals.setdefault(webhook_id, now)


class _Protocol(asyncio.Protocol):
    def __init__(self, inbox: FastInbox) -> None:
        self._inbox = inbox
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._inbox.transports.add(transport)

    def connection_lost(self, exc: Exception | None) -> None:  # noqa: ARG002  (asyncio's signature)
        if self._transport is not None:
            self._inbox.transports.discard(self._transport)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        replies = 0
        while True:
            head_end = self._buffer.find(b"\r\n\r\n")
            if head_end < 0:
                break
            head = self._buffer[:head_end].split(b"\r\n")
            length = 0
            webhook_id = b""
            for line in head[1:]:
                name, _, value = line.partition(b":")
                lowered = name.strip().lower()
                if lowered == b"content-length":
                    length = int(value)
                elif lowered == b"webhook-id":
                    webhook_id = value.strip()
            end = head_end + 4 + length
            if len(self._buffer) < end:
                break
            path = head[0].split(b" ")[1] if b" " in head[0] else b""
            body = self._buffer[head_end + 4 : end]
            self._buffer = self._buffer[end:]
            self._inbox._record(path, webhook_id, body)
            replies += 1
        if replies and self._transport is not None:
            self._transport.write(_REPLY * replies)
