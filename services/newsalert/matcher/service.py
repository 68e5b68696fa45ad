"""The matcher service: consume articles, match, dedupe, publish alerts, DLQ bad input.

At-least-once: FastStream's batch subscriber with ``AckPolicy.NACK_ON_ERROR`` commits
the batch's offsets only after the handler returned, i.e. after every alert of the batch
was stored by the broker (``acks=all``) and the dedupe marks were made final. Any
infrastructure error rewinds the partitions to the batch start (nack) after a backoff,
so nothing is lost and Redis being down pauses consumption instead of letting alerts
through unchecked. Invalid records are not errors: they go to ``articles.dlq`` with the
reason and the original bytes, and the offset moves on. The same holds for any failure
that belongs to one record (see :mod:`newsalert.isolation`): it goes to the DLQ with the
reason and exception type in headers; a record whose work keeps raising unexpectedly
goes there after a few tries, so no record can stall its partition.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer, ConsumerRecord
from aiokafka.errors import KafkaError, MessageSizeTooLargeError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from redis.exceptions import RedisError

from newsalert import constants, metrics
from newsalert.dedupe import DedupeStore, DedupeUnavailableError
from newsalert.isolation import DeadLetterReason, PoisonTracker, classify, position
from newsalert.kafka import ensure_topics, make_producer, send_all
from newsalert.matcher.batch import keep_bytes, tolerate_headers
from newsalert.matcher.decode import decode_article
from newsalert.matcher.eventtime import EventTimeBounds, bounded_event_time
from newsalert.matcher.lanes import RepeatLanes
from newsalert.matcher.pipeline import ArticleOutcome, ArticlePipeline
from newsalert.rules import CompiledRules
from newsalert.settings import Settings
from newsalert.subscriptions import Subscription

log = logging.getLogger("newsalert.matcher")

_RETRY_BACKOFF_S = (0.5, 1.0, 2.0, 5.0, 10.0)
_PROBE_TIMEOUT_S = 1.0


@dataclass
class _Batch:
    """The articles of the batch in hand whose alerts are not handed off yet."""

    waiting: list[ArticleOutcome] = field(default_factory=list)
    stories: set[str] = field(default_factory=set)
    acks: list[asyncio.Future[Any]] = field(default_factory=list)


#: Set while a batch is handled serially: its publishes queue their sends and leave the
#: broker's acknowledgements (and the dedupe commits) to one hand-off for the batch.
_BATCH: ContextVar[_Batch | None] = ContextVar("newsalert_matcher_batch", default=None)


class MatcherService:
    """Runs the matcher in the current event loop until :meth:`stop`."""

    def __init__(
        self,
        settings: Settings,
        rules: Callable[[], CompiledRules],
        dedupe: DedupeStore,
        *,
        max_batch: int = 200,
        subscriptions: Callable[[], Sequence[Subscription]] = tuple,
    ) -> None:
        self._settings = settings
        self._dedupe = dedupe
        self._pipeline = ArticlePipeline(
            rules,
            dedupe,
            timedelta(seconds=settings.repeat_interval_s),
            lanes=RepeatLanes(subscriptions),  # per-subscription repeat intervals
            before_claim=self._before_claim,
        )
        self._max_batch = max_batch
        self._producer: AIOKafkaProducer | None = None
        self._broker: KafkaBroker | None = None
        self._failures = 0
        self._poison = PoisonTracker()
        self._event_bounds = EventTimeBounds.from_settings(settings)
        self.ready = False

    async def start(self) -> None:
        """Create topics if missing, connect, and start consuming."""
        await ensure_topics(self._settings)
        self._producer = make_producer(self._settings)
        await self._producer.start()
        broker = KafkaBroker(
            self._settings.kafka_bootstrap,
            graceful_timeout=30.0,
            enable_idempotence=False,
            logger=None,
        )
        subscriber = broker.subscriber(
            self._settings.topic(constants.TOPIC_ARTICLES),
            group_id=self._settings.group(constants.MATCHER_GROUP),
            batch=True,
            max_records=self._max_batch,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,
            parser=tolerate_headers,
            decoder=keep_bytes,
        )
        subscriber(self._handle_batch)
        self._broker = broker
        await broker.start()
        self.ready = True
        log.info("matcher consuming %s", self._settings.topic(constants.TOPIC_ARTICLES))

    async def stop(self) -> None:
        """Finish the batch in flight, commit, close connections."""
        self.ready = False
        if self._broker is not None:
            await self._broker.stop()  # waits for the running handler (graceful_timeout)
            self._broker = None
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
        close = getattr(self._dedupe, "aclose", None)
        if close is not None:
            await close()

    async def probe(self) -> bool:
        """Readiness check: Redis answers within a second (``/readyz`` calls this)."""
        try:
            await asyncio.wait_for(self._dedupe.ping(), _PROBE_TIMEOUT_S)
        except (DedupeUnavailableError, RedisError, OSError, TimeoutError):
            metrics.DEPENDENCY_UP.labels("redis").set(0)
            return False
        metrics.DEPENDENCY_UP.labels("redis").set(1)
        return True

    async def _handle_batch(self, message: KafkaMessage) -> None:
        records: tuple[ConsumerRecord[bytes, bytes], ...] = (
            message.raw_message
            if isinstance(message.raw_message, tuple)
            else (message.raw_message,)
        )
        try:
            await self._handle_records(records)
        except (RedisError, DedupeUnavailableError, KafkaError, OSError) as exc:
            # Rewind and try the batch again; alerts already published are republished
            # with the same ids and dropped downstream, none is lost.
            metrics.DEPENDENCY_UP.labels("kafka" if isinstance(exc, KafkaError) else "redis").set(0)
            await self._back_off(exc)
            raise
        except Exception as exc:
            # A bug (rule evaluation, dedupe reply...): same rewind and backoff, but never
            # silent -- FastStream runs without a logger here, so log it ourselves.
            log.exception("matcher batch raised unexpectedly; the batch will be retried")
            await self._back_off(exc)
            raise
        if self._failures:
            log.info("matcher recovered after %d failed tries", self._failures)
        self._failures = 0
        self.ready = True
        metrics.DEPENDENCY_UP.labels("redis").set(1)
        metrics.DEPENDENCY_UP.labels("kafka").set(1)

    async def _back_off(self, exc: Exception) -> None:
        """Count the failed batch, report not ready, wait before FastStream rewinds it."""
        metrics.BATCH_RETRIES.inc()
        delay = _RETRY_BACKOFF_S[min(self._failures, len(_RETRY_BACKOFF_S) - 1)]
        self._failures += 1
        self.ready = False
        log.warning(
            "matcher batch failed (%s: %s); retrying in %.1fs", type(exc).__name__, exc, delay
        )
        await asyncio.sleep(delay)

    async def _handle_records(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        """Process a batch, ``matcher_concurrency`` articles at a time.

        Matching is CPU work and stays serial; the overlap is in the Redis round trips of
        the dedupe store, which dominate an article's wall time. Concurrent articles are
        no different from concurrent matcher replicas, which the dedupe store's leases
        already make safe. The batch succeeds only when every article did; otherwise the
        remaining ones are cancelled (their pending marks released) and the batch rewinds.
        """
        limit = self._settings.matcher_concurrency
        if limit <= 1 or len(records) <= 1:
            await self._handle_serially(records)
            return
        slots = asyncio.Semaphore(limit)

        async def one(record: ConsumerRecord[bytes, bytes]) -> None:
            async with slots:
                await self._handle_record(record)

        try:
            async with asyncio.TaskGroup() as group:
                for record in records:
                    group.create_task(one(record))
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0] from failed

    async def _handle_serially(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        """Process the batch's records one by one; hand their alerts off together.

        Each article's alerts are sent as soon as it is decided (a record's own failure,
        a too-large alert say, still sends that record to the DLQ), and the broker's
        acknowledgements (``acks=all``) are awaited once for the batch instead of once per
        article; only then are the articles' dedupe marks made final. An article whose
        story already has alerts waiting in this batch hands those off first (its claim
        would wait for theirs). On any batch failure the marks of every article not
        handed off are released and the batch rewinds, as for a single article.
        """
        batch = _Batch()
        token = _BATCH.set(batch)
        try:
            for record in records:
                await self._handle_record(record)
            await self._hand_off(batch)
        except BaseException:
            for outcome in batch.waiting:
                await self._pipeline.abandon(outcome)
            raise
        finally:
            _BATCH.reset(token)

    async def _hand_off(self, batch: _Batch) -> None:
        """Wait until the waiting articles' alerts are stored, then commit their marks."""
        outcomes = list(batch.waiting)
        batch.waiting.clear()
        batch.stories.clear()
        acks, batch.acks = batch.acks, []
        try:
            await asyncio.gather(*acks)
        except BaseException:
            # Every send was waited for (errors read); the retry publishes them all again
            # under the same ids.
            await asyncio.gather(*acks, return_exceptions=True)
            for outcome in outcomes:
                await self._pipeline.abandon(outcome)
            raise
        for outcome in outcomes:
            await self._pipeline.commit(outcome)
            self._count(outcome)

    async def _before_claim(self, story_id: str) -> None:
        batch = _BATCH.get()
        if batch is not None and story_id in batch.stories:
            await self._hand_off(batch)

    async def _handle_record(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """Process one record; a failure that is the record's own sends it to the DLQ."""
        try:
            await self._process_record(record)
        except Exception as exc:
            verdict = classify(exc)
            if verdict == "infrastructure":
                raise  # the batch rewinds
            if verdict == "unexpected":
                if not self._poison.failed(position(record)):
                    raise  # the batch rewinds; it may be transient
                log.exception(
                    "article at %s raised unexpectedly %d times; sent to the DLQ",
                    position(record),
                    self._poison.tries,
                )
                metrics.POISON_RECORDS.labels("matcher").inc()
                self._failures = 0  # progress was made: the next failure starts a new backoff
                await self._to_dlq(record, DeadLetterReason.poison(exc, self._poison.tries))
                return
            await self._to_dlq(record, DeadLetterReason.of(exc))

    async def _process_record(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """Decode, match and dedupe one record, publish its alerts, then commit its marks."""
        article = decode_article(record.value, self._settings.max_article_bytes)
        event_time, clamped = bounded_event_time(
            article, record.timestamp, datetime.now(tz=UTC), self._event_bounds
        )
        started = time.perf_counter()
        outcome = await self._pipeline.process(article, event_time)
        metrics.MATCH_SECONDS.observe(time.perf_counter() - started)
        if clamped:
            outcome.alerts = [
                alert.model_copy(update={"event_time_clamped": True}) for alert in outcome.alerts
            ]
        try:
            await self._publish(outcome)
        except BaseException:
            await self._pipeline.abandon(outcome)
            raise
        batch = _BATCH.get()
        if batch is not None:  # stored and committed at the batch's hand-off
            batch.waiting.append(outcome)
            if outcome.claims:
                batch.stories.add(outcome.verdict.story_id)
            return
        await self._pipeline.commit(outcome)
        self._count(outcome)

    async def _publish(self, outcome: ArticleOutcome) -> None:
        """Send the alerts of ``outcome``; wait until stored (in a batch: at its hand-off)."""
        assert self._producer is not None
        producer, topic = self._producer, self._settings.topic(constants.TOPIC_ALERTS)
        acks = [
            await producer.send(
                topic, value=alert.model_dump_json().encode(), key=alert.alert_id.encode()
            )
            for alert in outcome.alerts
        ]
        batch = _BATCH.get()
        if batch is not None:
            batch.acks.extend(acks)
        elif acks:
            await asyncio.gather(*acks)

    async def _to_dlq(self, record: ConsumerRecord[bytes, bytes], why: DeadLetterReason) -> None:
        assert self._producer is not None
        where = position(record)
        log.warning("article at %s to DLQ (%s): %s", where, why.kind, why.text)
        topic = self._settings.topic(constants.TOPIC_ARTICLES_DLQ)
        value = record.value or b""
        try:
            await send_all(self._producer, [(topic, record.key, value, why.headers(where))])
        except MessageSizeTooLargeError:
            # The DLQ topic takes less than the source did: keep the reason and the source
            # position (the original stays on the source topic for its retention time).
            dropped = DeadLetterReason(
                why.kind, f"{why.reason} (value of {len(value)} bytes left out)", why.error
            )
            await send_all(self._producer, [(topic, record.key, b"", dropped.headers(where))])
        metrics.ARTICLES.labels("invalid").inc()
        metrics.DEAD_LETTERED.labels("matcher", why.kind).inc()

    @staticmethod
    def _count(outcome: ArticleOutcome) -> None:
        if outcome.duplicate:
            metrics.ARTICLES.labels("duplicate").inc()
            return
        metrics.ARTICLES.labels("matched" if outcome.matches else "unmatched").inc()
        metrics.ALERTS_PUBLISHED.inc(len(outcome.alerts))
        metrics.ALERTS_FOLDED.inc(len(outcome.claims) - len(outcome.alerts))
