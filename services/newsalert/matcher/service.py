"""The matcher service: consume articles, match, dedupe, publish alerts, DLQ bad input.

At-least-once: FastStream's batch subscriber with ``AckPolicy.NACK_ON_ERROR`` commits
the batch's offsets only after the handler returned, i.e. after every alert of the batch
was stored by the broker (``acks=all``) and the batch's dedupe marks were made final
(one dedupe call per stage for the whole batch, :meth:`ArticlePipeline.process_batch`). Any
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
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from aiokafka import AIOKafkaProducer, ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from newsalert import constants, metrics
from newsalert.backoff import MATCHER_BATCH_S, Backoff
from newsalert.dedupe import DedupeStore
from newsalert.dedupe.fingerprint import warm_up as warm_up_fingerprint
from newsalert.errors import InfraError, OversizedRecordError
from newsalert.isolation import DeadLetterReason, PoisonTracker, classify, position
from newsalert.kafka import (
    PendingSends,
    await_stored,
    ensure_topics,
    kafka_calls,
    make_producer,
    send_all,
    send_records,
)
from newsalert.matcher.batch import keep_bytes, tolerate_headers
from newsalert.models import Article
from newsalert.pipeline.decode import decode_article
from newsalert.pipeline.eventtime import EventTimeBounds, bounded_event_time, marked_clamped
from newsalert.pipeline.lanes import RepeatLanes
from newsalert.pipeline.step import ArticleOutcome, ArticlePipeline
from newsalert.readiness import answers
from newsalert.rules import CompiledRules
from newsalert.settings import Settings
from newsalert.subscriptions import Subscription

log = logging.getLogger("newsalert.matcher")


class _Decoded(NamedTuple):
    """A consumed record that passed the edge: its article and event time."""

    record: ConsumerRecord[bytes, bytes]
    article: Article
    event_time: datetime
    clamped: bool


# tansu holds a fetch for the whole wait even when records arrive: a short wait keeps
# the latency of a steady trickle of articles low.
_FETCH_MAX_WAIT_MS = 20


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
        rules_ready: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self._settings = settings
        #: Awaited before the first batch: the rules may still be compiling while the
        #: consumer joins its group (``None`` once they are known to be ready).
        self._rules_ready = rules_ready
        self._dedupe = dedupe
        self._pipeline = ArticlePipeline(
            rules,
            dedupe,
            timedelta(seconds=settings.repeat_interval_s),
            lanes=RepeatLanes(subscriptions),  # per-subscription repeat intervals
        )
        self._max_batch = max_batch
        self._producer: AIOKafkaProducer | None = None
        self._broker: KafkaBroker | None = None
        self._backoff = Backoff(MATCHER_BATCH_S)
        #: Alert sends not yet acknowledged: a stalled produce path makes /readyz fail.
        self.pending = PendingSends()
        #: Alert sends of the batch in hand, acknowledged together before its commit.
        self._unacked: list[asyncio.Future[Any]] = []
        self._poison = PoisonTracker()
        self._event_bounds = EventTimeBounds.from_settings(settings)
        self.ready = False

    async def start(self) -> None:
        """Create topics if missing, connect, and start consuming."""
        # The fingerprint's compiled sketch now, not on the first article (a thread: the
        # loop keeps serving the API while numba loads or compiles it).
        await asyncio.to_thread(warm_up_fingerprint)
        await ensure_topics(self._settings)
        metrics.PRODUCE_PENDING_AGE.set_function(self.pending.oldest_age_s)  # read at scrape
        self._producer = make_producer(self._settings)
        with kafka_calls():
            await self._producer.start()
        broker = KafkaBroker(
            self._settings.bootstrap_servers,
            graceful_timeout=30.0,
            enable_idempotence=False,
            logger=None,
        )
        subscriber = broker.subscriber(
            self._settings.topic(constants.TOPIC_ARTICLES),
            group_id=self._settings.group(constants.MATCHER_GROUP),
            batch=True,
            max_records=self._max_batch,
            # The broker may hold a fetch for this long when a partition has nothing new
            # (tansu does not answer early when records arrive): it bounds the latency an
            # idle matcher adds to the next article.
            fetch_max_wait_ms=_FETCH_MAX_WAIT_MS,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,
            parser=tolerate_headers,
            decoder=keep_bytes,
        )
        subscriber(self._handle_batch)
        self._broker = broker
        with kafka_calls():  # FastStream starts aiokafka's consumer and lets its errors out
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
        """Readiness check (``/readyz``): no alert send stalled, Redis answers within a second."""
        stalled_s = self.pending.oldest_age_s()
        if stalled_s > self._settings.produce_stall_s:
            log.warning("alert produce stalled: a send has waited %.1fs", stalled_s)
            return False
        up = await answers(self._dedupe.ping)
        metrics.DEPENDENCY_UP.labels("redis").set(1 if up else 0)
        return up

    async def _handle_batch(self, message: KafkaMessage) -> None:
        if self._rules_ready is not None:
            await self._rules_ready()
            self._rules_ready = None
        records: tuple[ConsumerRecord[bytes, bytes], ...] = (
            message.raw_message
            if isinstance(message.raw_message, tuple)
            else (message.raw_message,)
        )
        try:
            await self._handle_records(records)
        except (InfraError, OSError) as exc:
            # Rewind and try the batch again; alerts already published are republished
            # with the same ids and dropped downstream, none is lost.
            dependency = exc.dependency if isinstance(exc, InfraError) else "redis"
            metrics.DEPENDENCY_UP.labels(dependency).set(0)
            await self._back_off(exc)
            raise
        except Exception as exc:
            # A bug (rule evaluation, dedupe reply...): same rewind and backoff, but never
            # silent -- FastStream runs without a logger here, so log it ourselves.
            log.exception("matcher batch raised unexpectedly; the batch will be retried")
            await self._back_off(exc)
            raise
        failures = self._backoff.reset()
        if failures:
            log.info("matcher recovered after %d failed tries", failures)
        self.ready = True
        metrics.DEPENDENCY_UP.labels("redis").set(1)
        metrics.DEPENDENCY_UP.labels("kafka").set(1)

    async def _back_off(self, exc: Exception) -> None:
        """Count the failed batch, report not ready, wait before FastStream rewinds it."""
        metrics.BATCH_RETRIES.inc()
        delay = self._backoff.next_delay()
        self.ready = False
        log.warning(
            "matcher batch failed (%s: %s); retrying in %.1fs", type(exc).__name__, exc, delay
        )
        await asyncio.sleep(delay)

    async def _handle_records(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        """Process a batch: one dedupe call per stage for all its articles, then publish
        every alert, then commit the batch's marks (all or nothing, see docs/guarantees.md).

        Records the edge refuses go to the DLQ first. When the batch fails with anything
        but an infrastructure error (which rewinds it), its records are processed again
        one at a time, each with its own failure handling, so the record at fault is
        found and the others go through.
        """
        batch: list[_Decoded] = []
        for record in records:
            try:
                batch.append(self._decode(record))
            except Exception as exc:
                await self._record_failed(record, exc)
        if not batch:
            return
        try:
            await self._process(batch)
        except Exception as exc:
            if classify(exc) == "infrastructure":
                raise  # the batch rewinds
            log.warning(
                "matcher batch raised unexpectedly (%s: %s); processing its records one at a time",
                type(exc).__name__,
                exc,
            )
            for one in batch:
                try:
                    await self._process([one])
                except Exception as failed:
                    await self._record_failed(one.record, failed)

    async def _record_failed(self, record: ConsumerRecord[bytes, bytes], exc: Exception) -> None:
        """A failure of one record's work: the DLQ if it is the record's own, else raise."""
        verdict = classify(exc)
        if verdict == "infrastructure":
            raise exc  # the batch rewinds
        if verdict == "unexpected":
            if not self._poison.failed(position(record)):
                raise exc  # the batch rewinds; it may be transient
            log.error(
                "article at %s raised unexpectedly %d times; sent to the DLQ",
                position(record),
                self._poison.tries,
                exc_info=exc,
            )
            metrics.POISON_RECORDS.labels("matcher").inc()
            self._backoff.reset()  # progress was made: the next failure starts a new backoff
            await self._to_dlq(record, DeadLetterReason.poison(exc, self._poison.tries))
            return
        await self._to_dlq(record, DeadLetterReason.of(exc))

    def _decode(self, record: ConsumerRecord[bytes, bytes]) -> _Decoded:
        """The record's article and its event time, clamped to the configured bounds."""
        article = decode_article(record.value, self._settings.max_article_bytes)
        event_time, clamped = bounded_event_time(
            article, record.timestamp, datetime.now(tz=UTC), self._event_bounds
        )
        return _Decoded(record, article, event_time, clamped)

    async def _process(self, batch: Sequence[_Decoded]) -> None:
        """Decide, publish and commit ``batch`` as a whole; on failure release its marks."""
        started = time.perf_counter()
        outcomes = await self._pipeline.process_batch([(d.article, d.event_time) for d in batch])
        spent = (time.perf_counter() - started) / len(batch)
        for decoded, outcome in zip(batch, outcomes, strict=True):
            metrics.MATCH_SECONDS.observe(spent)  # the batch's time, shared by its articles
            if decoded.clamped:
                outcome.alerts = marked_clamped(outcome.alerts)
        try:
            # Article by article, in order; the broker's acknowledgements are awaited once
            # for the batch, and only then are its dedupe marks committed.
            with self.pending.track():  # a send can block too (metadata, a full buffer)
                for outcome in outcomes:
                    await self._publish(outcome)
                await self._await_unacked()
        except BaseException:
            await self._await_unacked(failing=True)
            await self._pipeline.abandon_batch(outcomes)
            raise
        await self._pipeline.commit_batch(outcomes)
        for outcome in outcomes:
            self._count(outcome)

    async def _publish(self, outcome: ArticleOutcome) -> None:
        """Send the alerts of ``outcome``; :meth:`_await_unacked` waits until they are stored."""
        assert self._producer is not None
        topic = self._settings.topic(constants.TOPIC_ALERTS)
        self._unacked += await send_records(
            self._producer,
            [
                (topic, alert.alert_id.encode(), alert.model_dump_json().encode(), None)
                for alert in outcome.alerts
            ],
        )

    async def _await_unacked(self, *, failing: bool = False) -> None:
        """Wait until the batch's alert sends are stored (raising the first failure); when
        the batch is ``failing`` already, wait for every send and raise nothing."""
        unacked, self._unacked = self._unacked, []
        if failing:
            await asyncio.gather(*unacked, return_exceptions=True)
        else:
            await await_stored(unacked)

    async def _to_dlq(self, record: ConsumerRecord[bytes, bytes], why: DeadLetterReason) -> None:
        assert self._producer is not None
        where = position(record)
        log.warning("article at %s to DLQ (%s): %s", where, why.kind, why.text)
        topic = self._settings.topic(constants.TOPIC_ARTICLES_DLQ)
        value = record.value or b""
        try:
            await send_all(self._producer, [(topic, record.key, value, why.headers(where))])
        except OversizedRecordError:
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
