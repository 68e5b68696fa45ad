"""The dispatcher service: ``alerts`` topic → durable per-subscription queues → webhooks.

The consumer fans each alert out to the subscriptions that select it -- among those in
the alert's repeat lane (``Alert.repeat_interval_ms``, see ``pipeline/lanes.py``) -- and
schedules one delivery per subscription in Redis (:class:`DeliveryStore`); only when every
delivery of a batch is stored is the batch's offset committed. Per-subscription workers then claim
and attempt deliveries independently. aiokafka is used directly (not FastStream): the
commit point is "after the Redis write", which is simplest to state and test with an
explicit ``commit(offsets)``. An alert record that cannot be processed goes to
``alerts.dlq`` with the reason (see :mod:`newsalert.isolation`); only infrastructure
errors, and a few tries of an unexpected one, rewind the batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from pydantic import ValidationError
from redis.asyncio import Redis

from newsalert import constants, kafka, metrics
from newsalert.backoff import DISPATCHER_BATCH_S, Backoff
from newsalert.dispatcher.deadletter import DeadLetterQueue
from newsalert.dispatcher.deliverer import Deliverer
from newsalert.dispatcher.events import EventSink
from newsalert.dispatcher.store import DeliveryStore, NewDelivery
from newsalert.dispatcher.worker import SubscriptionWorker
from newsalert.errors import KafkaUnavailableError, RecordError
from newsalert.isolation import DeadLetterReason, PoisonTracker, classify, position
from newsalert.kafka import ensure_topics, make_producer
from newsalert.models import Alert, alert_id, delivery_id
from newsalert.readiness import answers
from newsalert.settings import Settings
from newsalert.strict_json import loads_strict, shown
from newsalert.subscriptions import Subscription
from newsalert.webhooks.sender import WebhookSender
from newsalert.webhooks.ssrf import AddressPolicy

log = logging.getLogger("newsalert.dispatcher")
T = TypeVar("T")


def webhook_id(subscription_id: str, alert: Alert) -> str:
    """The delivery id (``webhook-id``) of ``alert`` for one subscription.

    The first alert of a (rule, story) gets ``delivery_id(sub, rule, story)``, the
    contract's formula. A repeat alert of the same story after the rule's repeat interval
    carries a different ``alert_id`` (the matcher numbers repeats); it gets its own id,
    derived from that alert id, so it is delivered instead of being taken for a replay.
    """
    if alert.alert_id == alert_id(alert.rule.id, alert.story_id):
        return delivery_id(subscription_id, alert.rule.id, alert.story_id)
    return delivery_id(subscription_id, alert.rule.id, alert.alert_id)


class DispatcherService:
    """Consumes alerts and delivers them; :meth:`start` returns once running."""

    def __init__(
        self,
        settings: Settings,
        subscriptions: Callable[[], Sequence[Subscription]],
        *,
        poll_s: float = 0.2,
        max_batch: int = 200,
    ) -> None:
        self._settings = settings
        self._subscriptions = subscriptions
        self._poll_s = poll_s
        self._max_batch = max_batch
        self._redis: Redis | None = None
        self._producer: AIOKafkaProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._sender: WebhookSender | None = None
        self._events: EventSink | None = None
        self._store: DeliveryStore | None = None
        self._deliverer: Deliverer | None = None
        self._workers: dict[str, SubscriptionWorker] = {}
        self._tasks: list[asyncio.Task[None]] = []
        # Workers of removed subscriptions finishing their attempts; each leaves the set
        # when done, so subscription churn (hot reload) does not grow it.
        self._retiring: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._poison = PoisonTracker()
        self.ready = False

    @property
    def store(self) -> DeliveryStore:
        """The delivery store (after :meth:`start`)."""
        assert self._store is not None, "DispatcherService.start() first"
        return self._store

    @property
    def workers(self) -> dict[str, SubscriptionWorker]:
        """The running per-subscription workers, by subscription id."""
        return self._workers

    @property
    def events(self) -> EventSink:
        """Endpoint events emitted so far (after :meth:`start`)."""
        assert self._events is not None, "DispatcherService.start() first"
        return self._events

    async def start(self) -> None:
        """Create topics if missing, connect Redis, Kafka and HTTP, start consuming."""
        settings = self._settings
        alerts = settings.topic(constants.TOPIC_ALERTS)
        dlq = settings.topic(constants.TOPIC_ALERTS_DLQ)
        await ensure_topics(settings, [alerts, dlq])
        self._redis = Redis.from_url(settings.redis_url, decode_responses=True)
        self._store = DeliveryStore(self._redis, settings.redis_prefix)
        await self._store.ping()
        self._producer = make_producer(settings)
        with kafka.kafka_calls():
            await self._producer.start()
        policy = AddressPolicy.from_strings(settings.webhook_allow_networks)
        self._sender = WebhookSender(policy, timeout_s=settings.webhook_timeout_s)
        self._events = EventSink(
            self._sender, self._subscriptions, timeout_s=settings.webhook_timeout_s
        )
        self._deliverer = Deliverer(
            self._store,
            self._sender,
            DeadLetterQueue(self._producer, dlq),
            self._events,
            default_timeout_s=settings.webhook_timeout_s,
        )
        self._reconcile_workers()
        self._consumer = AIOKafkaConsumer(
            alerts,
            bootstrap_servers=settings.bootstrap_servers,
            group_id=settings.group(constants.DISPATCHER_GROUP),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=100,
        )
        with kafka.kafka_calls():
            await self._consumer.start()
        self._tasks = [
            asyncio.create_task(self._consume(), name="dispatcher:consume"),
            asyncio.create_task(self._supervise(), name="dispatcher:supervise"),
        ]
        self.ready = True
        log.info("dispatcher consuming %s", alerts)

    async def probe(self) -> bool:
        """Readiness check: Redis answers within a second (``/readyz`` calls this).

        Redis holds every queued delivery; without it nothing is scheduled or sent.
        """
        return self._store is not None and await answers(self._store.ping)

    async def stop(self) -> None:
        """Stop fetching, finish in-flight attempts (bounded), commit, close everything."""
        self.ready = False
        self._stopping.set()
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception:  # a crashed loop must not stop the rest of the shutdown
                log.exception("dispatcher task %s had failed", task.get_name())
        self._tasks = []
        if self._retiring:
            await asyncio.wait(set(self._retiring))
        grace = self._settings.webhook_timeout_s + 1.0
        await asyncio.gather(*(worker.stop(grace) for worker in self._workers.values()))
        self._workers.clear()
        if self._events is not None:
            await self._events.drain(grace)
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
        if self._sender is not None:
            await self._sender.aclose()
            self._sender = None
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    # -- consuming ----------------------------------------------------------------------

    async def _consume(self) -> None:
        assert self._consumer is not None
        backoff = Backoff(DISPATCHER_BATCH_S)
        while not self._stopping.is_set():
            try:
                batches = await kafka.fetch(
                    self._consumer, timeout_ms=200, max_records=self._max_batch
                )
            except KafkaUnavailableError as exc:  # broker away: aiokafka reconnects; keep polling
                log.warning("dispatcher fetch failed: %s", exc)
                await asyncio.sleep(DISPATCHER_BATCH_S[-1])
                continue
            if not batches:
                continue
            try:
                await self._schedule(batches)
            except Exception as exc:  # Redis/Kafka down: rewind and retry, lose nothing
                delay = backoff.next_delay()
                self.ready = False  # /readyz reports it while Redis or Kafka is away
                log.warning(
                    "dispatcher batch failed (%s: %s); retrying in %.1fs",
                    type(exc).__name__,
                    exc,
                    delay,
                    exc_info=classify(exc) == "unexpected",
                )
                kafka.rewind(self._consumer, batches)
                await asyncio.sleep(delay)
                continue
            backoff.reset()
            self.ready = True

    async def _schedule(
        self, batches: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]
    ) -> None:
        assert self._consumer is not None
        assert self._store is not None
        subs = list(self._subscriptions())
        lanes = {sub.id: sub.repeat_lane_ms() for sub in subs}
        planned: list[tuple[ConsumerRecord[bytes, bytes], list[NewDelivery]]] = []
        base = self._store.now_ms()
        count = 0
        for records in batches.values():
            for record in records:
                fan_out = functools.partial(self._fan_out, record, subs, lanes, base, count)
                fanned = await self._isolated(record, fan_out)
                if fanned:
                    planned.append((record, fanned))
                    count += len(fanned)
        await self._enqueue(planned, batches)
        await kafka.commit(self._consumer, batches)
        self._reconcile_workers()
        for sub_id in {item.subscription_id for _record, items in planned for item in items}:
            worker = self._workers.get(sub_id)
            if worker is not None:
                worker.wake()

    async def _fan_out(
        self,
        record: ConsumerRecord[bytes, bytes],
        subs: Sequence[Subscription],
        lanes: Mapping[str, int | None],
        base: float,
        count: int,
    ) -> list[NewDelivery]:
        """The deliveries of one alert record, one per subscription selecting it."""
        alert = self._decode(record)
        deliveries: list[NewDelivery] = []
        for sub in subs:
            # An alert is for the subscriptions of its repeat lane only.
            lane = lanes[sub.id]
            if lane == alert.repeat_interval_ms and sub.selects(alert.rule.id, alert.tags):
                # The fraction keeps batch order among equal enqueue milliseconds.
                order = base + min(count + len(deliveries), 1023) / 1024.0
                deliveries.append(NewDelivery(webhook_id(sub.id, alert), sub.id, alert, order))
        metrics.SCHEDULED.inc()
        return deliveries

    async def _enqueue(
        self,
        planned: Sequence[tuple[ConsumerRecord[bytes, bytes], list[NewDelivery]]],
        batches: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]],
    ) -> None:
        """Store the batch's deliveries; after repeated unexpected failures, one record at
        a time, so the record at fault goes to the DLQ and the others are stored."""
        assert self._store is not None
        store = self._store
        try:
            await store.enqueue([item for _record, items in planned for item in items])
            return
        except Exception as exc:
            first = next(iter(batches.values()))[0]
            if classify(exc) == "infrastructure" or not self._poison.failed(
                "batch:" + position(first)
            ):
                raise
        for record, items in planned:
            await self._isolated(record, functools.partial(store.enqueue, items), tried=True)

    async def _isolated(
        self,
        record: ConsumerRecord[bytes, bytes],
        work: Callable[[], Awaitable[T]],
        *,
        tried: bool = False,
    ) -> T | None:
        """``work()`` for one record; its own failure sends it to the DLQ (``None``).

        ``tried``: the work already failed unexpectedly as often as a record may, so an
        unexpected failure now sends the record to the DLQ at once.
        """
        try:
            return await work()
        except Exception as exc:
            verdict = classify(exc)
            if verdict == "infrastructure":
                raise
            if verdict == "unexpected":
                if not tried and not self._poison.failed(position(record)):
                    raise
                log.exception("alert at %s raised unexpectedly; sent to the DLQ", position(record))
                metrics.POISON_RECORDS.labels("dispatcher").inc()
                why = DeadLetterReason.poison(exc, self._poison.tries)
            else:
                why = DeadLetterReason.of(exc)
        await self._dead_letter(record, why)
        return None

    async def _dead_letter(
        self, record: ConsumerRecord[bytes, bytes], why: DeadLetterReason
    ) -> None:
        assert self._producer is not None
        log.warning("alert at %s to DLQ (%s): %s", position(record), why.kind, why.text)
        dlq = DeadLetterQueue(self._producer, self._settings.topic(constants.TOPIC_ALERTS_DLQ))
        await dlq.publish_record(record, why)
        metrics.ALERTS_CONSUMED.labels("invalid").inc()
        metrics.DEAD_LETTERED.labels("dispatcher", why.kind).inc()

    @staticmethod
    def _decode(record: ConsumerRecord[bytes, bytes]) -> Alert:
        """The alert of ``record``; :class:`RecordError` when it is not a valid one."""
        if record.value is None:
            raise RecordError("invalid alert: empty record (no value)", "empty")
        try:
            return Alert.model_validate(loads_strict(record.value))
        except RecordError as exc:
            raise RecordError(f"invalid alert: {exc.reason}", exc.kind) from exc
        except ValidationError as exc:
            first = exc.errors()[0] if exc.errors() else None
            detail = shown(str(first["msg"]) if first else str(exc), 200)
            raise RecordError(f"invalid alert: {detail}", "invalid-alert") from exc

    # -- workers ------------------------------------------------------------------------

    async def _supervise(self) -> None:
        """Follow subscription changes (hot reload) every second."""
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), 1.0)
            if not self._stopping.is_set():
                self._reconcile_workers()

    def _reconcile_workers(self) -> None:
        assert self._store is not None
        assert self._deliverer is not None
        if self._stopping.is_set():
            return
        current = {sub.id: sub for sub in self._subscriptions()}
        for sub_id, sub in current.items():
            worker = self._workers.get(sub_id)
            if worker is None:
                worker = SubscriptionWorker(
                    sub,
                    self._store,
                    self._deliverer,
                    poll_s=self._poll_s,
                    default_timeout_s=self._settings.webhook_timeout_s,
                )
                worker.start()
                self._workers[sub_id] = worker
            elif worker.subscription != sub:
                worker.update(sub)
        for sub_id in set(self._workers) - set(current):
            worker = self._workers.pop(sub_id)
            task = asyncio.create_task(
                worker.stop(self._settings.webhook_timeout_s + 1.0), name=f"retire:{sub_id}"
            )
            self._retiring.add(task)
            task.add_done_callback(_retired(self._retiring))


def _retired(retiring: set[asyncio.Task[None]]) -> Callable[[asyncio.Task[None]], None]:
    """A done-callback forgetting a retired worker's stop task (logging its failure)."""

    def done(task: asyncio.Task[None]) -> None:
        retiring.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("stopping %s failed", task.get_name(), exc_info=task.exception())

    return done
