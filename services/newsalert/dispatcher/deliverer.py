"""One attempt of one delivery, and what its outcome means for the delivery.

Turns a claimed delivery id into a signed POST, then records the outcome: delivered,
retry later (schedule, jitter, Retry-After), dead-letter (exhausted or too old), or park
it because the subscription is (now) paused. Pausing wins over dead-lettering so a
failing endpoint's alerts are kept for when it is resumed.
"""

from __future__ import annotations

import logging
import random
import time
from datetime import UTC, datetime

from newsalert.dispatcher import telemetry
from newsalert.dispatcher.deadletter import DeadLetter, DeadLetterQueue
from newsalert.dispatcher.events import EventSink
from newsalert.dispatcher.records import AttemptRecord, DeliveryStatus
from newsalert.dispatcher.store import DeliveryStore, PendingDelivery
from newsalert.models import WebhookAlertData, WebhookPayload
from newsalert.subscriptions import Subscription
from newsalert.timespec import from_ms
from newsalert.webhooks.retry import Verdict, classify, next_delay, parse_retry_after
from newsalert.webhooks.sender import AttemptResult, WebhookSender
from newsalert.webhooks.signing import SignedRequest, sign_request

log = logging.getLogger("newsalert.dispatcher")


def build_request(sub: Subscription, item: PendingDelivery, now: datetime) -> SignedRequest:
    """The exact bytes and headers of one attempt (body serialised once, then signed)."""
    alert = item.alert
    payload = WebhookPayload(
        timestamp=now,
        data=WebhookAlertData(
            alert_id=item.delivery_id,
            subscription_id=sub.id,
            rule=alert.rule,
            article=alert.article,
            story_id=alert.story_id,
            matched=alert.matched,
            duplicates_folded=alert.duplicates_folded,
            event_time_clamped=alert.event_time_clamped,
        ),
    )
    body = payload.model_dump_json().encode()
    return sign_request(sub.signing_secrets(now), item.delivery_id, int(now.timestamp()), body)


def pause_reason(sub: Subscription, verdict: Verdict, streak: int, since_ms: int) -> str | None:
    """Why ``sub`` must be paused after a failed attempt, or ``None`` to keep trying.

    ``streak`` counts consecutive failed attempts, ``since_ms`` is when the streak began.
    """
    if verdict is Verdict.GONE:
        return "endpoint answered 410 Gone"
    if sub.pause_after_failures is not None and streak >= sub.pause_after_failures:
        return f"{streak} consecutive failed attempts"
    limit = sub.pause_after_s()
    if limit is not None and time.time() - since_ms / 1000.0 >= limit:
        return f"failing for more than {sub.pause_after}"
    return None


class Deliverer:
    """Performs attempts for the workers of every subscription."""

    def __init__(
        self,
        store: DeliveryStore,
        sender: WebhookSender,
        dead_letters: DeadLetterQueue,
        events: EventSink,
        *,
        default_timeout_s: float,
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._sender = sender
        self._dlq = dead_letters
        self._events = events
        self._timeout_s = default_timeout_s
        self._rng = rng or random.Random()

    @property
    def events(self) -> EventSink:
        """Where endpoint events go."""
        return self._events

    async def deliver(self, sub: Subscription, delivery_id: str) -> DeliveryStatus | None:
        """Attempt ``delivery_id`` once (if still needed); returns its new status."""
        item, delivered, paused = await self._store.load_for_attempt(sub.id, delivery_id)
        if item is None or (delivered and not item.force):
            await self._store.drop(sub.id, delivery_id)
            return None
        if paused:
            await self._store.finish(
                item, DeliveryStatus.PAUSED, None, attempts=item.attempts, next_ms=item.order
            )
            return DeliveryStatus.PAUSED
        max_attempts = 1 + len(sub.retry_schedule)
        if item.attempts >= max_attempts:
            return await self._dead_letter(item, None, item.attempts, "retries exhausted")
        now = datetime.now(UTC)
        max_age = sub.max_alert_age_s()
        if (
            not item.force
            and max_age is not None
            and (now - item.alert.created_at).total_seconds() > max_age
        ):
            reason = f"max_alert_age exceeded ({sub.max_alert_age})"
            return await self._dead_letter(item, None, item.attempts, reason)
        request = build_request(sub, item, now)
        result = await self._sender.post(
            sub.url, request, timeout_s=sub.timeout_s(self._timeout_s), pool=sub.id
        )
        # The error text goes to the delivery log, events, logs and alerts.dlq.
        return await self._record(sub, item, now, result.scrubbed(sub.url))

    async def _record(
        self, sub: Subscription, item: PendingDelivery, now: datetime, result: AttemptResult
    ) -> DeliveryStatus:
        attempts = item.attempts + 1
        verdict = Verdict.FAILED if result.refused else classify(result.status)
        telemetry.ATTEMPTS.labels(verdict.value).inc()
        telemetry.ATTEMPT_SECONDS.observe(result.latency_ms / 1000.0)
        attempt = AttemptRecord(
            number=attempts,
            at=now,
            status=result.status,
            latency_ms=result.latency_ms,
            verdict=verdict.value,
            error=result.error,
            response=result.response,
        )
        if verdict is Verdict.DELIVERED:
            ended = await self._store.finish(
                item, DeliveryStatus.DELIVERED, attempt, attempts=attempts
            )
            telemetry.OUTCOMES.labels("delivered").inc()
            if ended:
                self._events.emit("recovered", sub.id, failed_attempts=ended)
            return DeliveryStatus.DELIVERED
        streak = await self._store.note_failure(sub.id)
        if streak.count == 1:
            self._events.emit("failing", sub.id, status=result.status, error=result.error)
        reason = pause_reason(sub, verdict, streak.count, streak.since_ms)
        if reason is not None:
            if await self._store.pause(sub.id, reason):
                self._events.emit("paused", sub.id, reason=reason)
            await self._store.finish(
                item, DeliveryStatus.PAUSED, attempt, attempts=attempts, next_ms=item.order,
                error=_error_of(result),
            )  # fmt: skip
            telemetry.OUTCOMES.labels("paused").inc()
            return DeliveryStatus.PAUSED
        retry_after = parse_retry_after(result.retry_after, now=now)
        delay = next_delay(
            sub.retry_delays(), attempts, verdict, retry_after_s=retry_after, rng=self._rng
        )
        if delay is None:
            return await self._dead_letter(
                item, attempt, attempts, f"retries exhausted after {attempts} attempts"
            )
        next_ms = time.time() * 1000.0 + delay * 1000.0
        attempt = attempt.model_copy(update={"next_at": from_ms(next_ms)})
        await self._store.finish(
            item, DeliveryStatus.RETRYING, attempt, attempts=attempts, next_ms=next_ms,
            error=_error_of(result),
        )  # fmt: skip
        return DeliveryStatus.RETRYING

    async def _dead_letter(
        self, item: PendingDelivery, attempt: AttemptRecord | None, attempts: int, reason: str
    ) -> DeliveryStatus:
        record = await self._store.log.get(item.delivery_id)
        history = list(record.history) if record is not None else []
        if attempt is not None:
            history.append(attempt)
        letter = DeadLetter(
            delivery_id=item.delivery_id,
            subscription_id=item.subscription_id,
            reason=reason,
            alert=item.alert,
            attempts=history,
        )
        await self._dlq.publish(letter)
        await self._store.finish(
            item, DeliveryStatus.FAILED, attempt, attempts=attempts, error=reason
        )
        telemetry.OUTCOMES.labels("failed").inc()
        log.warning(
            "delivery %s to %s dead-lettered: %s", item.delivery_id, item.subscription_id, reason
        )
        return DeliveryStatus.FAILED


def _error_of(result: AttemptResult) -> str:
    return result.error or f"HTTP {result.status}"
