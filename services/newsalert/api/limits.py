"""Limits every API request meets before a route runs, and the bounded rule-test runner.

- :class:`BodyLimit` (ASGI): a request body must declare its length (411 otherwise) and
  stay within the cap (413), checked from the headers before a byte of it is read.
- :class:`BoundedOffload`: blocking work (matching a text against the live rules) runs
  in its own small thread pool, never on the event loop that serves the pipeline; a
  call is awaited for at most ``timeout_s``, and at most ``limit`` run at once. Work
  that timed out still holds its slot until its thread returns, so slow calls cannot
  pile up threads.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from starlette.types import ASGIApp, Receive, Scope, Send

T = TypeVar("T")


class OffloadBusyError(Exception):
    """Every slot is taken: try again later."""


class OffloadTimeoutError(Exception):
    """The work did not finish in time (it still runs to completion in its thread)."""


class BoundedOffload:
    """Runs blocking calls in ``limit`` threads with a per-call deadline."""

    def __init__(self, limit: int, timeout_s: float, name: str = "api-offload") -> None:
        self._limit = limit
        self._timeout_s = timeout_s
        self._running = 0
        self._pool = ThreadPoolExecutor(max_workers=limit, thread_name_prefix=name)

    @property
    def timeout_s(self) -> float:
        """How long a call is awaited."""
        return self._timeout_s

    @property
    def running(self) -> int:
        """Calls whose thread has not returned yet (timed out ones included)."""
        return self._running

    async def run(self, function: Callable[[], T]) -> T:
        """``function()`` in a worker thread; raises the two errors above."""
        if self._running >= self._limit:
            raise OffloadBusyError
        self._running += 1
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._pool, function)
        future.add_done_callback(self._release)
        try:
            return await asyncio.wait_for(asyncio.shield(future), self._timeout_s)
        except TimeoutError as exc:
            raise OffloadTimeoutError from exc

    def _release(self, _future: object) -> None:
        self._running -= 1

    def close(self) -> None:
        """Stop accepting work; running threads finish on their own."""
        self._pool.shutdown(wait=False, cancel_futures=True)


class BodyLimit:
    """ASGI middleware: 411 for a body of undeclared length, 413 above ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length, then hand over to the app."""
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            length = headers.get(b"content-length")
            if length is None and b"transfer-encoding" in headers:
                await _refuse(send, 411, "a request body needs a Content-Length header")
                return
            if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
                await _refuse(send, 413, f"request body over {self.max_bytes} bytes")
                return
        await self.app(scope, receive, send)


async def _refuse(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
