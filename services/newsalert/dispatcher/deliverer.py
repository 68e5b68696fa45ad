"""One attempt of one delivery, and what its outcome means for the delivery.

Turns a claimed delivery id into a signed POST, then records the outcome: delivered,
retry later (schedule, jitter, Retry-After), dead-letter (exhausted or too old), or park
it because the subscription is (now) paused. Pausing wins over dead-lettering so a
failing endpoint's alerts are kept for when it is resumed.

Whatever raises on the way (a secret that cannot sign, a bug of ours) is recorded as a
failed attempt on the schedule, so no delivery repeats outside it; only Redis or Kafka
being away leaves the attempt to its lease, since then nothing can be recorded.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from prometheus_client import Counter
from pydantic_core import to_json

from newsalert import metrics
from newsalert.dispatcher.deadletter import DeadLetter, DeadLetterQueue
from newsalert.dispatcher.events import EventSink
from newsalert.dispatcher.records import AttemptRecord, DeliveryStatus
from newsalert.dispatcher.store import Claimed, DeliveryStore, PendingDelivery
from newsalert.errors import StoreError
from newsalert.isolation import classify as failure_kind
from newsalert.models import Alert
from newsalert.subscriptions import Subscription
from newsalert.timespec import from_ms
from newsalert.webhooks.redact import Scrubber
from newsalert.webhooks.retry import Verdict, classify, next_delay, parse_retry_after
from newsalert.webhooks.sender import AttemptResult, WebhookSender, describe
from newsalert.webhooks.signing import SignatureError, SignedRequest, sign_request

log = logging.getLogger("newsalert.dispatcher")
#: Subscription URLs a deliverer keeps a scrubber for (cleared when full).
_URLS_KEPT = 1024


@dataclass
class _Progress:
    """How far one call of :meth:`Deliverer.deliver` got, for its error handling."""

    item: PendingDelivery | None = None
    now: datetime | None = None
    result: AttemptResult | None = None
    stored: bool = False  # the outcome reached the store: nothing is left to record


def build_request(
    sub: Subscription, item: PendingDelivery, now: datetime, tails: AlertTails | None = None
) -> SignedRequest:
    """The exact bytes and headers of one attempt (body serialised once, then signed).

    ``tails``: where the alert parts of recent bodies are kept (see :func:`webhook_body`).
    """
    body = webhook_body(item.alert, item.delivery_id, sub.id, now, tails)
    return sign_request(sub.signing_secrets(now), item.delivery_id, int(now.timestamp()), body)


#: The alert fields a webhook's ``data`` object repeats after its two ids: in the same
#: order in :class:`Alert` as in :class:`WebhookAlertData`, so the alert serialises them
#: as the payload model would (the unit tests compare the bytes).
_TAIL_FIELDS = {"rule", "article", "story_id", "matched", "duplicates_folded", "event_time_clamped"}


class AlertTails:
    """The part of the webhook body that depends on the alert only, by alert object.

    A fanned-out alert is one object for all its subscriptions (the store decodes each
    stored alert once), so its tail is serialised once. Bounded: cleared when full. Each
    :class:`Deliverer` has its own.
    """

    def __init__(self, limit: int = 4096) -> None:
        self._limit = limit
        self._tails: dict[int, tuple[Alert, bytes]] = {}

    def get(self, alert: Alert) -> bytes:
        entry = self._tails.get(id(alert))
        if entry is not None and entry[0] is alert:
            return entry[1]
        tail = _alert_tail(alert)
        if len(self._tails) >= self._limit:
            self._tails.clear()
        # The alert is kept with its tail so that its id is not reused while cached.
        self._tails[id(alert)] = (alert, tail)
        return tail


def _alert_tail(alert: Alert) -> bytes:
    """``"rule":…,"event_time_clamped":…}``: the webhook ``data`` object after its ids."""
    return alert.model_dump_json(include=_TAIL_FIELDS).encode()[1:]


def webhook_body(
    alert: Alert,
    delivery_id: str,
    subscription_id: str,
    now: datetime,
    tails: AlertTails | None = None,
) -> bytes:
    """The JSON body of one webhook: the bytes of :class:`WebhookPayload`'s
    ``model_dump_json()``, with the alert's part taken from ``tails`` when given, so it is
    serialised once per alert, not once per delivery (only the ids and the timestamp
    differ between a fan-out's webhooks)."""
    tail = _alert_tail(alert) if tails is None else tails.get(alert)
    return b"".join(
        (
            b'{"type":"news.alert","timestamp":',
            to_json(now),
            b',"data":{"alert_id":',
            to_json(delivery_id),
            b',"subscription_id":',
            to_json(subscription_id),
            b",",
            tail,
            b"}",
        )
    )


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
        # Subscriptions this process paused since their worker's last claim: the rest of
        # a claimed batch is parked instead of sent (the claim saw them active).
        self._paused: set[str] = set()
        self._tails = AlertTails()
        # Per subscription URL (cleared when full): every reply is scrubbed of its URL.
        self._scrubbers: dict[str, Scrubber] = {}
        # The attempts counter's child per verdict: ``labels()`` is a locked lookup.
        self._attempt_counters: dict[str, Counter] = {}

    @property
    def events(self) -> EventSink:
        """Where endpoint events go."""
        return self._events

    def claimed_active(self, subscription_id: str) -> None:
        """A claim found ``subscription_id`` active (not paused) in the store."""
        self._paused.discard(subscription_id)

    def _scrubber(self, url: str) -> Scrubber:
        scrubber = self._scrubbers.get(url)
        if scrubber is None:
            if len(self._scrubbers) >= _URLS_KEPT:
                self._scrubbers.clear()
            scrubber = self._scrubbers[url] = Scrubber(url)
        return scrubber

    async def deliver(
        self, sub: Subscription, delivery_id: str, claimed: Claimed | None = None
    ) -> DeliveryStatus | None:
        """Attempt ``delivery_id`` once (if still needed); returns its new status.

        ``claimed``: its record as the claim loaded it (else it is loaded here).

        A bug of ours (any exception but the store's or the broker's) does not escape: it
        is recorded as a failed attempt and the delivery follows its retry schedule to
        ``alerts.dlq`` like any other failure, instead of repeating whenever its lease
        expires.
        """
        progress = _Progress()
        try:
            return await self._deliver(sub, delivery_id, progress, claimed)
        except Exception as exc:
            if failure_kind(exc) == "infrastructure":
                # Redis or Kafka away: nothing can be recorded now, so the attempt is left
                # to its lease (back in the due queue once it expires; nothing is lost).
                raise
            metrics.INTERNAL_ERRORS.inc()
            log.exception("delivery %s to %s raised unexpectedly", delivery_id, sub.id)
            return await self._record_internal_error(sub, delivery_id, progress, exc)

    async def _deliver(
        self, sub: Subscription, delivery_id: str, progress: _Progress, claimed: Claimed | None
    ) -> DeliveryStatus | None:
        if claimed is None:
            item, delivered, paused = await self._store.load_for_attempt(sub.id, delivery_id)
        else:
            item, delivered = self._store.decode(claimed), claimed.delivered
            paused = sub.id in self._paused
        progress.item = item
        if item is None or (delivered and not item.force):
            await self._store.drop(sub.id, delivery_id)
            progress.stored = True
            return None
        if paused:
            await self._finish(
                progress, DeliveryStatus.PAUSED, None, attempts=item.attempts, next_ms=item.order
            )
            return DeliveryStatus.PAUSED
        max_attempts = 1 + len(sub.retry_schedule)
        if item.attempts >= max_attempts:
            return await self._dead_letter(progress, None, item.attempts, "retries exhausted")
        now = progress.now = datetime.now(UTC)
        max_age = sub.max_alert_age_s()
        if (
            not item.force
            and max_age is not None
            and (now - item.alert.created_at).total_seconds() > max_age
        ):
            reason = f"max_alert_age exceeded ({sub.max_alert_age})"
            return await self._dead_letter(progress, None, item.attempts, reason)
        try:
            request = build_request(sub, item, now, self._tails)
        except (SignatureError, ValueError) as exc:  # a secret that cannot sign, say
            result = AttemptResult(None, 0.0, error=f"cannot sign: {describe(exc)}", refused=True)
        else:
            timeout_s = sub.timeout_s(self._timeout_s)
            result = await self._sender.post(sub.url, request, timeout_s=timeout_s, pool=sub.id)
        # The error text goes to the delivery log, events, logs and alerts.dlq.
        progress.result = result = result.scrubbed_with(self._scrubber(sub.url))
        return await self._record(sub, progress, result)

    async def _record(
        self, sub: Subscription, progress: _Progress, result: AttemptResult
    ) -> DeliveryStatus:
        item, now = _attempted(progress)
        attempts = item.attempts + 1
        verdict = Verdict.FAILED if result.refused else classify(result.status)
        attempt = attempt_record(attempts, now, verdict, result)
        if verdict is Verdict.DELIVERED:
            ended = await self._finish(
                progress, DeliveryStatus.DELIVERED, attempt, attempts=attempts
            )
            metrics.DELIVERED.inc()
            if ended:
                self._events.emit("recovered", sub.id, failed_attempts=ended)
            return DeliveryStatus.DELIVERED
        streak = await self._store.note_failure(sub.id)
        if streak.count == 1:
            self._events.emit("failing", sub.id, status=result.status, error=result.error)
        reason = pause_reason(sub, verdict, streak.count, streak.since_ms)
        if reason is not None:
            self._paused.add(sub.id)
            if await self._store.pause(sub.id, reason):
                self._events.emit("paused", sub.id, reason=reason)
            await self._finish(
                progress, DeliveryStatus.PAUSED, attempt, attempts=attempts, next_ms=item.order,
                error=_error_of(result),
            )  # fmt: skip
            metrics.OUTCOMES.labels("paused").inc()
            return DeliveryStatus.PAUSED
        retry_after = parse_retry_after(result.retry_after, now=now)
        return await self._retry_or_dead_letter(sub, progress, attempt, verdict, retry_after)

    async def _record_internal_error(
        self, sub: Subscription, delivery_id: str, progress: _Progress, exc: Exception
    ) -> DeliveryStatus | None:
        """Record the attempt a bug interrupted, unless its outcome was already stored.

        The POST's reply (when there was one) is kept; the verdict is a plain failure,
        with no pause and no ``Retry-After``: only the schedule, which is what ends the
        delivery in the DLQ if the bug is not a one-off.
        """
        if progress.stored:
            return None
        if progress.item is None:  # the stored record itself cannot be decoded
            return await self._dead_letter_unreadable(sub, delivery_id, exc)
        progress.now = progress.now or datetime.now(UTC)
        item, now = _attempted(progress)
        error = f"internal error: {describe(exc)}"
        result = progress.result or AttemptResult(None, 0.0)
        result = AttemptResult(
            result.status,
            result.latency_ms,
            error=error if result.error is None else f"{result.error}; {error}",
            response=result.response,
        ).scrubbed(sub.url)
        attempt = attempt_record(item.attempts + 1, now, Verdict.FAILED, result)
        return await self._retry_or_dead_letter(sub, progress, attempt, Verdict.FAILED, None)

    async def _dead_letter_unreadable(
        self, sub: Subscription, delivery_id: str, exc: Exception
    ) -> DeliveryStatus:
        """No attempt can be made of a record that does not decode: it goes to the DLQ as
        stored (an attempt after every lease expiry would fail the same way forever)."""
        reason = f"unreadable delivery record: {describe(exc)}"
        try:
            raw = await self._store.stored_alert(delivery_id)
        except (UnicodeDecodeError, StoreError):  # not text, not a record: the letter says
            raw = None  # why, without it
        # Published before it leaves the queues: if Kafka fails, the lease brings it back.
        await self._dlq.publish_raw(delivery_id.encode(), (raw or "").encode(), reason)
        await self._store.discard_unreadable(sub.id, delivery_id, reason)
        metrics.OUTCOMES.labels("failed").inc()
        log.warning("delivery %s to %s dead-lettered: %s", delivery_id, sub.id, reason)
        return DeliveryStatus.FAILED

    async def _retry_or_dead_letter(
        self,
        sub: Subscription,
        progress: _Progress,
        attempt: AttemptRecord,
        verdict: Verdict,
        retry_after: float | None,
    ) -> DeliveryStatus:
        attempts = attempt.number
        delay = next_delay(
            sub.retry_delays(), attempts, verdict, retry_after_s=retry_after, rng=self._rng
        )
        if delay is None:
            return await self._dead_letter(
                progress, attempt, attempts, f"retries exhausted after {attempts} attempts"
            )
        next_ms = time.time() * 1000.0 + delay * 1000.0
        attempt = attempt.model_copy(update={"next_at": from_ms(next_ms)})
        await self._finish(
            progress, DeliveryStatus.RETRYING, attempt, attempts=attempts, next_ms=next_ms,
            error=attempt.error or f"HTTP {attempt.status}",
        )  # fmt: skip
        return DeliveryStatus.RETRYING

    async def _dead_letter(
        self, progress: _Progress, attempt: AttemptRecord | None, attempts: int, reason: str
    ) -> DeliveryStatus:
        item = progress.item
        assert item is not None
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
        await self._finish(
            progress, DeliveryStatus.FAILED, attempt, attempts=attempts, error=reason
        )
        metrics.OUTCOMES.labels("failed").inc()
        log.warning(
            "delivery %s to %s dead-lettered: %s", item.delivery_id, item.subscription_id, reason
        )
        return DeliveryStatus.FAILED

    async def _finish(
        self,
        progress: _Progress,
        status: DeliveryStatus,
        attempt: AttemptRecord | None,
        *,
        attempts: int,
        next_ms: float | None = None,
        error: str | None = None,
    ) -> int:
        assert progress.item is not None
        ended = await self._store.finish(
            progress.item, status, attempt, attempts=attempts, next_ms=next_ms, error=error
        )
        progress.stored = True
        if attempt is not None:
            counter = self._attempt_counters.get(attempt.verdict)
            if counter is None:
                counter = metrics.ATTEMPTS.labels(attempt.verdict)
                self._attempt_counters[attempt.verdict] = counter
            counter.inc()
            metrics.ATTEMPT_SECONDS.observe(attempt.latency_ms / 1000.0)
        return ended


def _attempted(progress: _Progress) -> tuple[PendingDelivery, datetime]:
    assert progress.item is not None
    assert progress.now is not None
    return progress.item, progress.now


def attempt_record(
    number: int, now: datetime, verdict: Verdict, result: AttemptResult
) -> AttemptRecord:
    """The delivery-log entry of attempt ``number`` made at ``now`` (no ``next_at`` yet).

    Built without validation (once per webhook): every value is converted to its
    field's type here, which is all that validating these values would do.
    """
    return AttemptRecord.model_construct(
        number=int(number),
        at=now,
        status=None if result.status is None else int(result.status),
        latency_ms=float(result.latency_ms),
        verdict=str(verdict.value),
        error=None if result.error is None else str(result.error),
        response=str(result.response),
    )


def _error_of(result: AttemptResult) -> str:
    return result.error or f"HTTP {result.status}"
