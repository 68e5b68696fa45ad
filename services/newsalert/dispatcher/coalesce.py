"""Coalesce concurrent calls into one batched call (one Redis round trip for many).

Every in-flight delivery loads its record before the POST and records its outcome
after it. Done one by one, that is two Redis round trips per webhook; the attempts of a
subscription (and of every subscription) run concurrently, so calls made in the same
event-loop turn can share one pipeline. :class:`Coalescer` queues the calls, runs them as
one batch as soon as the loop is free, and gives each caller its own result (or the
batch's exception), so callers keep their one-call-one-result code and semantics: each
call still returns only after its own work is done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Coalescer(Generic[T, R]):
    """Runs ``batch(items)`` for the items submitted while the previous batch ran.

    ``batch`` must return one result per item, in order. At most ``limit`` items go in
    one batch (a bounded pipeline); a batch that raises fails every call in it.
    """

    def __init__(
        self, batch: Callable[[Sequence[T]], Awaitable[Sequence[R]]], *, limit: int = 512
    ) -> None:
        self._batch = batch
        self._limit = limit
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        """Queue ``item`` for the next batch and wait for its result."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run())
        return await future

    async def _run(self) -> None:
        while self._queue:
            chunk, self._queue = self._queue[: self._limit], self._queue[self._limit :]
            try:
                results = await self._batch([item for item, _ in chunk])
                if len(results) != len(chunk):
                    raise ValueError(f"batch gave {len(results)} results for {len(chunk)} items")
            except Exception as exc:
                for _, future in chunk:
                    if not future.done():
                        future.set_exception(exc)
                continue
            except BaseException:  # cancelled (shutdown): nobody waits for a result
                for _, future in [*chunk, *self._queue]:
                    future.cancel()
                self._queue = []
                raise
            for (_, future), result in zip(chunk, results, strict=True):
                if not future.done():
                    future.set_result(result)
