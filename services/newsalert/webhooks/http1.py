"""A lean HTTP/1.1 client for webhook POSTs: keep-alive pools, bounded replies.

Only what a webhook delivery needs: one POST with a body, the status, ``Retry-After``
and the first bytes of the reply. A general client (httpx + httpcore) spends most of a
delivery's CPU on features a webhook never uses; this one is an asyncio
:class:`~asyncio.Protocol` that parses the reply as it arrives and completes a future.

What it guarantees, whatever the receiver does:

* every new connection is opened to an address the SSRF guard vetted at connect time
  (:func:`~newsalert.webhooks.ssrf.resolve` once, then the IP literal; TLS still checks
  the URL's host name, which is also sent as SNI);
* the reply head is bounded (:data:`MAX_HEAD_BYTES`), and so are chunk-size lines and
  trailers; at most ``limit`` bytes of the body are kept, and a body is never read past
  that (the connection is closed instead of drained);
* a malformed reply (status line, header, length, chunk) is a :class:`ProtocolError`;
* redirects are not followed (a 3xx is a reply like any other);
* a connection is reused only when its previous reply ended exactly, the receiver did
  not ask to close it, and it has been idle for less than :data:`KEEPALIVE_S`.

Time is bounded by the caller (one deadline around the whole attempt).
"""

from __future__ import annotations

import asyncio
import base64
import re
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

import httpx

from newsalert.webhooks.ssrf import AddressPolicy, resolve

#: The reply's status line and headers together may not exceed this (as httpcore).
MAX_HEAD_BYTES = 100 * 1024
#: A chunk-size line (with extensions) longer than this is refused.
MAX_CHUNK_LINE = 1024
#: Idle keep-alive connections older than this are closed rather than reused (as httpx).
KEEPALIVE_S = 5.0
#: How many parsed URLs are kept (subscriptions post to few distinct URLs).
_URL_CACHE_SIZE = 1024

_STATUS_LINE = re.compile(rb"HTTP/1\.([01]) ([0-9]{3})(?: [^\r\n]*)?")
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: The header names every delivery sends, known to match ``_TOKEN`` (a unit test checks):
#: others are checked per request.
_SENT_NAMES = frozenset(
    ("webhook-id", "webhook-timestamp", "webhook-signature", "content-type", "user-agent")
)


class ProtocolError(Exception):
    """The receiver's reply is not HTTP/1.1 we accept, or the connection broke mid-reply."""


class ConnectionLostError(ProtocolError):
    """The connection closed before the reply's first byte (a kept-alive one may retry)."""


@dataclass(frozen=True, slots=True)
class Target:
    """A parsed webhook URL: where to connect and what to send as the request line."""

    tls: bool
    host: str  # IDNA-encoded host name or IP literal, without brackets
    port: int
    head: bytes  # "POST <path> HTTP/1.1\r\nHost: ...\r\n" (+ Authorization from userinfo)

    @property
    def origin(self) -> tuple[bool, str, int]:
        """The key of the connections that can carry requests to this target."""
        return self.tls, self.host, self.port


def parse_target(url: str) -> Target:
    """``url`` as a :class:`Target`, read by httpx's URL parser (the one the config
    validation uses, :mod:`newsalert.webhooks.endpoint`); raises what it raises."""
    parsed = httpx.URL(url)
    scheme = parsed.scheme
    if scheme not in ("http", "https") or not parsed.raw_host:
        raise httpx.InvalidURL(f"cannot POST to a {scheme or 'schemeless'} URL without a host")
    host = parsed.raw_host.decode("ascii")
    tls = scheme == "https"
    port = parsed.port or (443 if tls else 80)
    shown_host = f"[{host}]" if ":" in host else host
    if parsed.port is not None:
        shown_host = f"{shown_host}:{parsed.port}"
    path = parsed.raw_path or b"/"
    lines = [b"POST ", path, b" HTTP/1.1\r\nHost: ", shown_host.encode(), b"\r\n"]
    if parsed.username or parsed.password:
        # As httpx does: credentials in the URL become Basic authentication.
        token = f"{unquote(parsed.username)}:{unquote(parsed.password)}".encode()
        lines += [b"Authorization: Basic ", base64.b64encode(token), b"\r\n"]
    return Target(tls, host, port, b"".join(lines))


def encode_headers(headers: Mapping[str, str], body: bytes) -> bytes:
    """The request's header lines after ``Host`` (with ``Content-Length``), and the blank
    line; a name or value that could split the request is a :class:`ValueError`."""
    lines: list[str] = []
    for name, value in headers.items():
        if name not in _SENT_NAMES and not _TOKEN.fullmatch(name.encode("latin-1")):
            raise ValueError("header name or value not allowed in a request")
        if "\r" in value or "\n" in value or "\x00" in value:
            raise ValueError("header name or value not allowed in a request")
        lines.append(f"{name}: {value}\r\n")
    lines.append(f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n")
    return "".join(lines).encode()


@dataclass(frozen=True, slots=True)
class Reply:
    """What is kept of one reply."""

    status: int
    headers: dict[str, str]  # lower-case names; repeated ones joined by ", "
    body: bytes  # at most the caller's limit


class _Connection(asyncio.Protocol):
    """One keep-alive connection; carries one request at a time."""

    def __init__(self, pool: _OriginPool) -> None:
        self._pool = pool
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self.used = False  # carried a request before: a reply-less close may be retried
        self._waiter: asyncio.Future[Reply] | None = None
        self._limit = 0
        self._buffer = bytearray()
        self._got_bytes = False
        # The reply being read.
        self._status = 0
        self._headers: dict[str, str] = {}
        self._keep = True
        self._body = bytearray()
        self._framing = ""  # "length", "chunked", "close" once the head is read
        self._remaining = 0  # body bytes still due ("length"), or in this chunk ("chunked")
        self._chunk_state = "size"  # size | data | data_crlf | trailer

    # -- asyncio.Protocol -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self._waiter is None or self._waiter.done():
            self._close()  # bytes nobody asked for: the connection cannot be trusted
            return
        self._got_bytes = True
        self._buffer += data
        try:
            self._parse()
        except ProtocolError as exc:
            self._fail(exc)

    def eof_received(self) -> bool | None:
        if self._waiter is not None and not self._waiter.done() and self._framing == "close":
            self._keep = False
            self._complete()
        self._close()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._pool.forget(self)
        if self._waiter is not None and not self._waiter.done():
            if not self._got_bytes:
                self._waiter.set_exception(
                    ConnectionLostError("server closed the connection without a reply")
                )
            elif self._framing == "close":
                self._complete()
            else:
                self._waiter.set_exception(ProtocolError(f"connection lost mid-reply: {exc}"))

    # -- requests -------------------------------------------------------------------------

    def send(self, data: bytes, limit: int) -> asyncio.Future[Reply]:
        """Write one request; the future completes with its reply."""
        assert self.transport is not None
        if self.closed or self.transport.is_closing():
            raise ConnectionLostError("connection closed before the request was sent")
        self._waiter = asyncio.get_running_loop().create_future()
        self._limit = limit
        self._buffer.clear()
        self._got_bytes = False
        self._framing = ""
        self._body = bytearray()
        self._headers = {}
        self._keep = True
        self.used = True
        self.transport.write(data)
        return self._waiter

    def reusable(self) -> bool:
        """The last reply ended exactly and nobody asked to close the connection."""
        return self._keep and not self.closed and not self._buffer

    def usable(self) -> bool:
        """Open, as far as this side knows."""
        return not self.closed and self.transport is not None and not self.transport.is_closing()

    def abort(self) -> None:
        """Drop the connection (a timed-out or cancelled request)."""
        self._keep = False
        if self.transport is not None:
            self.transport.abort()

    def _close(self) -> None:
        self._keep = False
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def _fail(self, exc: Exception) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)
        self.abort()

    def _complete(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(Reply(self._status, self._headers, bytes(self._body)))

    # -- parsing --------------------------------------------------------------------------

    def _parse(self) -> None:
        if not self._framing and not self._parse_head():
            return
        if self._framing == "length":
            self._take_length()
        elif self._framing == "chunked":
            self._take_chunks()
        else:
            self._take_until_close()

    def _parse_head(self) -> bool:
        """Read status line and headers when complete; False while more is needed."""
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > MAX_HEAD_BYTES:
                    raise ProtocolError("reply headers too large")
                return False
            if end > MAX_HEAD_BYTES:
                raise ProtocolError("reply headers too large")
            head = bytes(self._buffer[:end])
            del self._buffer[: end + 4]
            lines = head.split(b"\r\n")
            found = _STATUS_LINE.fullmatch(lines[0])
            if found is None:
                raise ProtocolError(f"malformed status line {lines[0][:80]!r}")
            status = int(found.group(2))
            if 100 <= status < 200 and status != 101:
                continue  # an interim reply (100 Continue): the real one follows
            self._status = status
            self._read_headers(lines[1:], http10=found.group(1) == b"0")
            return True

    def _read_headers(self, lines: list[bytes], *, http10: bool) -> None:
        headers: dict[str, str] = {}
        for line in lines:
            name, colon, value = line.partition(b":")
            if not colon or not _TOKEN.fullmatch(name):
                raise ProtocolError("malformed reply header")
            key = name.decode("ascii").lower()
            text = _header_text(value.strip(b" \t"))
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        self._headers = headers
        connection = headers.get("connection", "").lower()
        self._keep = "close" not in connection and (not http10 or "keep-alive" in connection)
        if self._status in (204, 304) or self._status == 101:
            self._framing, self._remaining = "length", 0
            if self._status == 101:
                self._keep = False
            return
        encoding = headers.get("transfer-encoding")
        if encoding is not None:
            if encoding.lower().rsplit(",", 1)[-1].strip() != "chunked":
                raise ProtocolError(f"unsupported transfer-encoding {encoding[:40]!r}")
            self._framing, self._chunk_state = "chunked", "size"
            return
        length = headers.get("content-length")
        if length is None:
            self._framing, self._keep = "close", False
            return
        values = {item.strip() for item in length.split(",")}
        if len(values) != 1 or not next(iter(values)).isascii() or not next(iter(values)).isdigit():
            raise ProtocolError(f"bad content-length {length[:40]!r}")
        self._framing, self._remaining = "length", int(next(iter(values)))

    def _keep_body(self, data: bytes | bytearray) -> bool:
        """Append to the kept body; True once the limit is reached (stop reading)."""
        room = self._limit - len(self._body)
        self._body += data[:room]
        return len(data) >= room

    def _take_length(self) -> None:
        take = min(self._remaining, len(self._buffer))
        full = self._keep_body(self._buffer[:take])
        self._remaining -= take
        del self._buffer[:take]
        if self._remaining == 0:
            self._finish()
        elif full:
            self._keep = False  # the rest is not read: the connection cannot carry more
            self._complete()
            self._close()

    def _take_chunks(self) -> None:
        while True:
            if self._chunk_state == "size":
                end = self._buffer.find(b"\r\n")
                if end < 0:
                    if len(self._buffer) > MAX_CHUNK_LINE:
                        raise ProtocolError("chunk size line too long")
                    return
                size_text = bytes(self._buffer[:end]).split(b";", 1)[0].strip(b" \t")
                del self._buffer[: end + 2]
                try:
                    size = int(size_text, 16)
                except ValueError:
                    raise ProtocolError(f"bad chunk size {size_text[:20]!r}") from None
                if size < 0 or not size_text.isalnum():
                    raise ProtocolError(f"bad chunk size {size_text[:20]!r}")
                self._remaining = size
                self._chunk_state = "data" if size else "trailer"
            elif self._chunk_state == "data":
                take = min(self._remaining, len(self._buffer))
                full = self._keep_body(self._buffer[:take])
                self._remaining -= take
                del self._buffer[:take]
                if full:
                    self._keep = False
                    self._complete()
                    self._close()
                    return
                if self._remaining:
                    return
                self._chunk_state = "data_crlf"
            elif self._chunk_state == "data_crlf":
                if len(self._buffer) < 2:
                    return
                if self._buffer[:2] != b"\r\n":
                    raise ProtocolError("chunk not followed by CRLF")
                del self._buffer[:2]
                self._chunk_state = "size"
            else:  # trailer: header lines up to an empty one, bounded like the head
                if self._buffer[:2] == b"\r\n":
                    del self._buffer[:2]
                    self._finish()
                    return
                end = self._buffer.find(b"\r\n\r\n")
                if end < 0:
                    if len(self._buffer) > MAX_HEAD_BYTES:
                        raise ProtocolError("reply trailers too large")
                    return
                del self._buffer[: end + 4]
                self._finish()
                return

    def _take_until_close(self) -> None:
        full = self._keep_body(self._buffer)
        self._buffer.clear()
        if full:
            self._complete()
            self._close()

    def _finish(self) -> None:
        """The reply ended exactly: complete it; keep the connection if allowed."""
        if self._buffer:  # bytes past the reply: the stream is out of step
            self._keep = False
        self._complete()
        if not self._keep:
            self._close()


def _header_text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


class _OriginPool:
    """Idle keep-alive connections to one origin, most recently used last."""

    def __init__(self) -> None:
        self.idle: list[_Connection] = []
        self.open: set[_Connection] = set()

    def take(self) -> _Connection | None:
        """The most recently used idle connection still fit for a request."""
        now = time.monotonic()
        while self.idle:
            conn = self.idle.pop()
            if conn.usable() and now - conn.idle_since < KEEPALIVE_S:
                return conn
            conn.abort()
        return None

    def give_back(self, conn: _Connection) -> None:
        """Keep ``conn`` for the next request, or close it when it cannot be reused."""
        if conn.reusable():
            conn.idle_since = time.monotonic()
            self.idle.append(conn)
        else:
            conn.abort()

    def forget(self, conn: _Connection) -> None:
        """``conn`` closed: it is no longer open or idle."""
        self.open.discard(conn)
        if conn in self.idle:
            self.idle.remove(conn)

    def close(self) -> None:
        """Close every connection of this origin."""
        for conn in list(self.open):
            conn.abort()
        self.idle.clear()
        self.open.clear()


class Http1Client:
    """POSTs over kept-alive HTTP/1.1 connections, one set of pools per ``pool`` name.

    Separate pools keep each endpoint's connections to itself, so one busy or hanging
    endpoint cannot take another's connections.
    """

    def __init__(self, policy: AddressPolicy, ssl_context: ssl.SSLContext) -> None:
        self._policy = policy
        self._ssl = ssl_context
        self._pools: dict[tuple[str | None, tuple[bool, str, int]], _OriginPool] = {}
        self._targets: dict[str, Target] = {}

    def target(self, url: str) -> Target:
        """``url`` parsed (cached: a subscription posts to the same URL every time)."""
        target = self._targets.get(url)
        if target is None:
            if len(self._targets) >= _URL_CACHE_SIZE:
                self._targets.clear()
            target = self._targets[url] = parse_target(url)
        return target

    async def post(
        self,
        target: Target,
        head: bytes,
        body: bytes,
        *,
        limit: int,
        pool: str | None,
        connected: list[bool] | None = None,
    ) -> Reply:
        """POST ``body`` with header lines ``head`` (from :func:`encode_headers`); keeps
        at most ``limit`` bytes of the reply's body. Raises :class:`ProtocolError`,
        :class:`~newsalert.webhooks.ssrf.SSRFError` or :class:`OSError` (TLS included).

        The caller bounds the time; on cancellation the connection is dropped.
        ``connected[0]`` is set once a connection carries the request (for the caller's
        timeout message).
        """
        key = (pool, target.origin)
        origin = self._pools.get(key)
        if origin is None:
            origin = self._pools[key] = _OriginPool()
        request = target.head + head + body
        conn = origin.take()
        if connected is not None:
            connected[0] = conn is not None
        if conn is not None:
            try:
                return await self._exchange(origin, conn, request, limit)
            except ConnectionLostError:
                pass  # the receiver closed it as we reused it: once more on a fresh one
        conn = await self._connect(origin, target)
        if connected is not None:
            connected[0] = True
        return await self._exchange(origin, conn, request, limit)

    async def _exchange(
        self, origin: _OriginPool, conn: _Connection, request: bytes, limit: int
    ) -> Reply:
        try:
            reply = await conn.send(request, limit)
        except BaseException:
            conn.abort()
            raise
        origin.give_back(conn)
        return reply

    async def _connect(self, origin: _OriginPool, target: Target) -> _Connection:
        address = self._policy.check(target.host, await resolve(target.host, target.port))
        loop = asyncio.get_running_loop()
        _transport, conn = await loop.create_connection(
            lambda: _Connection(origin),
            str(address),
            target.port,
            ssl=self._ssl if target.tls else None,
            server_hostname=target.host if target.tls else None,
        )
        origin.open.add(conn)
        return conn

    def close(self) -> None:
        """Close every connection of every pool."""
        for origin in self._pools.values():
            origin.close()
        self._pools.clear()
