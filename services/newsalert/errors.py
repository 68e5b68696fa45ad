"""The exception tree of newsalert.

::

    NewsalertError
    ├── ConfigError          the config file (rules, subscriptions) is invalid
    ├── RecordError          one input record is unusable (``kind``, ``reason``): DLQ
    │   ├── ArticleError         an ``articles`` record cannot become an Article
    │   └── OversizedRecordError the broker refused a record as too large
    ├── InfraError           a dependency is away: retry later, the record is fine
    │   └── KafkaUnavailableError, RedisUnavailableError
    ├── StoreError           Redis refused a command (WRONGTYPE, a script error)
    ├── StackError           the embedded broker or Redis could not be started/found
    └── DeliveryError        a webhook delivery attempt failed (status, reason)

Adapters convert library errors (aiokafka in :mod:`newsalert.kafka`, redis-py in
:mod:`newsalert.redis_errors`) with ``raise ... from exc``: callers catch only these.
"""

from __future__ import annotations

from typing import ClassVar


class NewsalertError(Exception):
    """Base class of every error newsalert raises on purpose."""


class ConfigError(NewsalertError):
    """The configuration (rule file, subscriptions, settings) is invalid."""


class RecordError(NewsalertError):
    """One input record cannot be used; it goes to a DLQ and the consumer moves on.

    ``reason`` is a one-line explanation for people (bounded length); ``kind`` a short
    stable code for counting and alerting (``invalid-json``, ``lone-surrogate``, ...).
    """

    def __init__(self, reason: str, kind: str = "invalid") -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind
        #: The exception type the DLQ's error header names.
        self.error = type(self).__name__


class ArticleError(RecordError):
    """An input record is not a valid article; ``reason`` is a one-line explanation."""

    def __init__(self, reason: str, kind: str = "invalid-article") -> None:
        super().__init__(reason, kind)


class OversizedRecordError(RecordError):
    """The broker refused a record as too large; ``error`` names the broker's error."""

    def __init__(self, reason: str, error: str) -> None:
        super().__init__(reason, "too-large")
        self.error = error


class InfraError(NewsalertError):
    """A dependency (Kafka, Redis) is unavailable or timed out.

    Nothing is wrong with the work in hand: the caller stops, waits and retries the same
    work (a consumer rewinds its batch), so nothing is lost. ``dependency`` names it for
    metrics and logs.
    """

    dependency: ClassVar[str] = "infrastructure"


class KafkaUnavailableError(InfraError):
    """The broker could not be reached, timed out or refused a request for a while."""

    dependency: ClassVar[str] = "kafka"


class RedisUnavailableError(InfraError):
    """Redis could not be reached, timed out, is loading, read-only or out of memory."""

    dependency: ClassVar[str] = "redis"


class StoreError(NewsalertError):
    """Redis refused a command for what it was asked (a key of the wrong type, a script
    error): retrying the same call fails the same way, so it is not an :class:`InfraError`.
    """


class StackError(NewsalertError):
    """The embedded stack (broker, Redis) could not be started, found or stopped."""


class DeliveryError(NewsalertError):
    """A webhook delivery attempt failed."""
