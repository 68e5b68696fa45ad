"""The exception tree of newsalert.

::

    NewsalertError
    ├── ConfigError            the config file (rules, subscriptions) is invalid
    │   └── RuleFileError      (newsalert.rules) one or more rule problems, all listed
    ├── ArticleError           an input record cannot become an Article (goes to the DLQ)
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


class ArticleError(NewsalertError):
    """An input record is not a valid article; ``reason`` is a one-line explanation."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class StackError(NewsalertError):
    """The embedded stack (broker, Redis) could not be started, found or stopped."""


class DeliveryError(NewsalertError):
    """A webhook delivery attempt failed."""
