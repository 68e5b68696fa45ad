"""One worker per subscription: its own queue, concurrency cap and rate limit.

Isolation comes from here: a worker only ever claims its own subscription's deliveries
and runs at most ``max_in_flight`` attempts at once, so a slow or dead endpoint fills its
own slots and nobody else's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from newsalert.dispatcher.deliverer import Deliverer
from newsalert.dispatcher.store import Claimed, DeliveryStore
from newsalert.subscriptions import Subscription

log = logging.getLogger("newsalert.dispatcher")

#: A claim is leased for the request timeout plus this margin (Redis round trips).
LEASE_MARGIN_S = 5.0
#: Expired leases (a dead process's claims) are looked for this often.
REAP_INTERVAL_S = 1.0
#: While attempts run, a worker claims again once this share of its slots is free (a
#: quarter of ``max_in_flight``): one claim round trip per batch, not per attempt.
CLAIM_FRACTION = 4


def claim_threshold(max_in_flight: int) -> int:
    """Free slots a worker waits for before it claims again while attempts run."""
    return max(1, max_in_flight // CLAIM_FRACTION)


class TokenBucket:
    """``rate`` tokens per second, bursts up to ``max(1, rate)``."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self._tokens = self.capacity
        self._stamp = time.monotonic()

    def available(self) -> int:
        """Whole tokens available now."""
        now = time.monotonic()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        return int(self._tokens)

    def take(self, count: int) -> None:
        """Spend ``count`` tokens."""
        self._tokens -= count


class SubscriptionWorker:
    """Claims and attempts the deliveries of one subscription until stopped."""

    def __init__(
        self,
        subscription: Subscription,
        store: DeliveryStore,
        deliverer: Deliverer,
        *,
        poll_s: float,
        default_timeout_s: float,
    ) -> None:
        self.subscription = subscription
        self._store = store
        self._deliverer = deliverer
        self._poll_s = poll_s
        self._default_timeout_s = default_timeout_s
        self._wake = asyncio.Event()
        self._stopping = False
        self._attempts: set[asyncio.Task[None]] = set()
        self._bucket = TokenBucket(subscription.rate_limit) if subscription.rate_limit else None
        self._task: asyncio.Task[None] | None = None
        self._last_reap = 0.0
        self._paused = False
        self.attempted = 0  # deliveries this worker claimed (observability, tests)

    def start(self) -> None:
        """Start the claim loop in the background."""
        self._task = asyncio.create_task(self._run(), name=f"worker:{self.subscription.id}")

    def update(self, subscription: Subscription) -> None:
        """Take a changed subscription (config reload) for the next attempts."""
        if subscription.rate_limit != self.subscription.rate_limit:
            self._bucket = TokenBucket(subscription.rate_limit) if subscription.rate_limit else None
        self.subscription = subscription
        self.wake()

    def wake(self) -> None:
        """Look for due deliveries now (new ones were just scheduled)."""
        self._wake.set()

    @property
    def in_flight(self) -> int:
        """Attempts running right now."""
        return len(self._attempts)

    async def stop(self, grace_s: float) -> None:
        """Claim nothing more; let running attempts finish for up to ``grace_s`` seconds.

        Attempts still running after that are cancelled; their leases expire and another
        (or the next) dispatcher retries them, so nothing is lost.
        """
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
        if self._attempts:
            _done, pending = await asyncio.wait(set(self._attempts), timeout=grace_s)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()  # before the tick, so a wake-up during it is not lost
            try:
                await self._tick()
            except Exception:  # a Redis hiccup must not kill the worker: log and go on
                log.exception("worker %s: claim loop error", self.subscription.id)
                await asyncio.sleep(self._poll_s * 5)
                continue
            # Not wait_for: it wraps the wait in a task, and this runs once per attempt.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_s):
                    await self._wake.wait()

    async def _tick(self) -> None:
        sub = self.subscription
        now = time.monotonic()
        if now - self._last_reap >= REAP_INTERVAL_S:
            self._last_reap = now
            await self._store.reap(sub.id)
        free = sub.max_in_flight - len(self._attempts)
        if self._attempts and free < claim_threshold(sub.max_in_flight):
            return  # claim in batches: a round trip per finished attempt would cost more
        if self._bucket is not None:
            free = min(free, self._bucket.available())
        if free <= 0:
            return
        lease_s = sub.timeout_s(self._default_timeout_s) + LEASE_MARGIN_S
        claim = await self._store.claim_batch(sub.id, free, lease_s)
        if claim.paused != self._paused:
            if self._paused:  # resumed by an operator (``newsalert deliveries resume``)
                self._deliverer.events.emit("resumed", sub.id)
            self._paused = claim.paused
        if claim.paused:
            return
        self._deliverer.claimed_active(sub.id)
        if self._bucket is not None:
            self._bucket.take(len(claim.deliveries))
        self.attempted += len(claim.deliveries)
        for claimed in claim.deliveries:
            task = asyncio.create_task(self._attempt(sub, claimed))
            self._attempts.add(task)
            task.add_done_callback(self._attempt_done)

    def _attempt_done(self, task: asyncio.Task[None]) -> None:
        self._attempts.discard(task)
        # Enough slots are free for :meth:`_tick` to claim: claim now. Below that a tick
        # would return at once, so it is left to the next wake-up or poll.
        limit = self.subscription.max_in_flight
        if not self._attempts or limit - len(self._attempts) >= claim_threshold(limit):
            self._wake.set()

    async def _attempt(self, sub: Subscription, claimed: Claimed) -> None:
        try:
            await self._deliverer.deliver(sub, claimed.delivery_id, claimed)
        except asyncio.CancelledError:
            raise
        except Exception:  # Redis or Kafka away: the lease expires, the delivery is tried again
            log.exception("delivery %s to %s failed unexpectedly", claimed.delivery_id, sub.id)
