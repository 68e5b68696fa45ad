"""The exception tree of newsalert.

::

    NewsalertError
    ├── ConfigError            the config file (rules, subscriptions) is invalid
    │   └── RuleFileError      (newsalert.rules) one or more rule problems, all listed
    ├── RecordError            one input record is unusable (``kind``, ``reason``; goes to a DLQ)
    │   └── ArticleError       an ``articles`` record cannot become an Article
    ├── StackError             the embedded broker or Redis could not be started/found
    └── DeliveryError          a webhook delivery attempt failed (status, reason)

Library errors (aiokafka, redis, httpx) are converted at the boundary with
``raise ... from exc`` so callers only need to know this tree.
"""

from __future__ import annotations


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


class ArticleError(RecordError):
    """An input record is not a valid article; ``reason`` is a one-line explanation."""

    def __init__(self, reason: str, kind: str = "invalid-article") -> None:
        super().__init__(reason, kind)


class StackError(NewsalertError):
    """The embedded stack (broker, Redis) could not be started, found or stopped."""


class DeliveryError(NewsalertError):
    """A webhook delivery attempt failed."""
