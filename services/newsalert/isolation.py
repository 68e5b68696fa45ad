"""Per-record isolation: which failures rewind a batch, which send one record to a DLQ.

When work on one record of a consumed batch raises, :func:`classify` says which of three
things the exception is:

* ``infrastructure`` -- an :class:`~newsalert.errors.InfraError` (Kafka, Redis away), the
  network, a timeout. The record is fine: the batch rewinds and is retried after a backoff
  until the dependency is back, so nothing is lost and nothing passes unchecked.
* ``record`` -- the record's own fault: a :class:`~newsalert.errors.RecordError` (the edge
  checks, a record too large for the broker), a ``ValueError``, ``ArithmeticError`` or
  ``RecursionError`` raised by code working on its data. It goes to the DLQ at once.
* ``unexpected`` -- anything else: a bug, a command Redis refuses
  (:class:`~newsalert.errors.StoreError`). The batch rewinds (it may be transient), but a
  :class:`PoisonTracker` counts the record's failures and on the :data:`POISON_TRIES`-th
  sends it to the DLQ, so no bug can stall a partition.

A library error that reaches :func:`classify` unconverted is placed as its adapter
would have converted it.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal

from aiokafka import ConsumerRecord
from aiokafka.errors import (
    KafkaError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
)
from redis.exceptions import RedisError

from newsalert import constants, redis_errors
from newsalert.errors import InfraError, RecordError
from newsalert.strict_json import shown

#: Failures of one record (same topic, partition, offset) before it goes to the DLQ.
POISON_TRIES = 3
#: Longest reason put in a DLQ header.
REASON_CHARS = 500

Verdict = Literal["infrastructure", "record", "unexpected"]

_TOO_LARGE = (MessageSizeTooLargeError, RecordTooLargeError, RecordListTooLargeError)
_INFRASTRUCTURE = (InfraError, KafkaError, OSError)
_DATA = (RecordError, ValueError, ArithmeticError, RecursionError)


def classify(exc: BaseException) -> Verdict:
    """Where a failure of one record's work belongs (see the module docstring)."""
    if isinstance(exc, _TOO_LARGE):  # a KafkaError, but about this record's size
        return "record"
    if isinstance(exc, RedisError):
        exc = redis_errors.converted(exc)
    if isinstance(exc, _INFRASTRUCTURE):  # TimeoutError and ConnectionError are OSErrors
        return "infrastructure"
    if isinstance(exc, _DATA):
        return "record"
    return "unexpected"


@dataclass(frozen=True)
class DeadLetterReason:
    """Why a record goes to a DLQ: ``kind`` (stable code), ``reason`` (text), ``error``."""

    kind: str
    reason: str
    error: str

    @classmethod
    def of(cls, exc: BaseException) -> DeadLetterReason:
        """The reason for a ``record`` failure."""
        if isinstance(exc, RecordError):
            return cls(exc.kind, exc.reason, exc.error)
        kind = "too-large" if isinstance(exc, _TOO_LARGE) else "unprocessable"
        return cls(kind, f"{type(exc).__name__}: {exc}", type(exc).__name__)

    @classmethod
    def poison(cls, exc: BaseException, tries: int) -> DeadLetterReason:
        """The reason for a record whose work raised unexpectedly ``tries`` times."""
        name = type(exc).__name__
        return cls("poison", f"failed {tries} times: {name}: {exc}", name)

    @property
    def text(self) -> str:
        """The reason cut to :data:`REASON_CHARS`, unprintable characters escaped."""
        return shown(self.reason, REASON_CHARS)

    def headers(self, source: str) -> list[tuple[str, bytes]]:
        """Kafka headers of the DLQ record (bounded, always valid UTF-8)."""
        return [
            (constants.HEADER_DLQ_REASON, self.text.encode()),
            (constants.HEADER_DLQ_SOURCE, source.encode()),
            (constants.HEADER_DLQ_KIND, self.kind.encode()),
            (constants.HEADER_DLQ_ERROR, self.error.encode()),
        ]


def position(record: ConsumerRecord[bytes, bytes]) -> str:
    """``topic/partition@offset`` of a consumed record (the DLQ source header, log lines)."""
    return f"{record.topic}/{record.partition}@{record.offset}"


class PoisonTracker:
    """Counts unexpected failures per record position; forgets the oldest beyond a bound."""

    def __init__(self, tries: int = POISON_TRIES, capacity: int = 10_000) -> None:
        self.tries = tries
        self._capacity = capacity
        self._failures: OrderedDict[str, int] = OrderedDict()

    def failed(self, where: str) -> bool:
        """Count one failure at ``where``; True when the record should now go to the DLQ."""
        count = self._failures.pop(where, 0) + 1
        if count >= self.tries:
            return True
        self._failures[where] = count
        while len(self._failures) > self._capacity:
            self._failures.popitem(last=False)
        return False
