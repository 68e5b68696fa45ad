"""How long to wait before retrying work that failed for want of a dependency.

One schedule object per retry loop: each failure takes the next delay of the schedule
(the last one repeats), a success starts it again from the first. The consumers' batch
retries and the start-up wait for Redis use it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

#: Batch retries of the matcher: short at first (a blip), then up to 10 s.
MATCHER_BATCH_S = (0.5, 1.0, 2.0, 5.0, 10.0)
#: Batch retries of the dispatcher: it also serves webhooks, so it looks again sooner.
DISPATCHER_BATCH_S = (0.5, 1.0, 2.0, 5.0)


class Backoff:
    """Delays of a retry loop: ``delays[0]``, ``delays[1]``, ..., then the last forever."""

    def __init__(
        self,
        delays: Sequence[float],
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not delays:
            raise ValueError("a backoff needs at least one delay")
        self._delays = tuple(delays)
        self._sleep = sleep
        #: Failures since the last success.
        self.failures = 0

    def next_delay(self) -> float:
        """Count one failure; the pause before the next try."""
        delay = self._delays[min(self.failures, len(self._delays) - 1)]
        self.failures += 1
        return delay

    async def wait(self) -> float:
        """Count one failure and sleep its delay; returns the delay slept."""
        delay = self.next_delay()
        await self._sleep(delay)
        return delay

    def reset(self) -> int:
        """The work succeeded: the next failure waits the first delay again.

        Returns the failures counted before (0 when the last try succeeded too).
        """
        failures, self.failures = self.failures, 0
        return failures
