"""Which failures rewind a batch and which send one record to a DLQ."""

from __future__ import annotations

import pytest
from aiokafka.errors import KafkaTimeoutError, MessageSizeTooLargeError
from pydantic import ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError

from newsalert import constants
from newsalert.dedupe import DedupeUnavailableError
from newsalert.errors import ArticleError, RecordError
from newsalert.isolation import DeadLetterReason, PoisonTracker, classify
from newsalert.models import Article


def _validation_error() -> ValidationError:
    try:
        Article.model_validate({})
    except ValidationError as exc:
        return exc
    raise AssertionError("expected a ValidationError")


@pytest.mark.parametrize(
    ("exc", "verdict"),
    [
        (RedisConnectionError("down"), "infrastructure"),
        (DedupeUnavailableError("down"), "infrastructure"),
        (KafkaTimeoutError(), "infrastructure"),
        (TimeoutError(), "infrastructure"),
        (ConnectionResetError(), "infrastructure"),
        (MessageSizeTooLargeError(), "record"),
        (ArticleError("bad", "invalid-json"), "record"),
        (RecordError("bad"), "record"),
        (ValueError("Invalid IPv6 URL"), "record"),
        (UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"), "record"),
        (_validation_error(), "record"),
        (OverflowError("date value out of range"), "record"),
        (RecursionError(), "record"),
        (RuntimeError("a bug"), "unexpected"),
        (KeyError("rule"), "unexpected"),
        (TypeError("NoneType"), "unexpected"),
        (AssertionError(), "unexpected"),
    ],
)
def test_classify(exc: BaseException, verdict: str) -> None:
    assert classify(exc) == verdict


def test_reason_headers_name_kind_and_exception_type() -> None:
    why = DeadLetterReason.of(ValueError("Invalid IPv6 URL"))
    headers = dict(why.headers("articles/2@17"))
    assert headers[constants.HEADER_DLQ_KIND] == b"unprocessable"
    assert headers[constants.HEADER_DLQ_ERROR] == b"ValueError"
    assert headers[constants.HEADER_DLQ_REASON] == b"ValueError: Invalid IPv6 URL"
    assert headers[constants.HEADER_DLQ_SOURCE] == b"articles/2@17"
    edge = dict(DeadLetterReason.of(ArticleError("x", "too-deep")).headers("s"))
    assert edge[constants.HEADER_DLQ_KIND] == b"too-deep"
    assert edge[constants.HEADER_DLQ_ERROR] == b"ArticleError"


def test_reason_header_is_bounded_and_encodable() -> None:
    why = DeadLetterReason.of(ValueError("\ud800" + "x" * 100_000))
    reason = dict(why.headers("s"))[constants.HEADER_DLQ_REASON]
    assert len(reason) < 600
    assert reason.startswith(b"ValueError: \\ud800x")


def test_poison_after_the_third_failure_of_one_record() -> None:
    tracker = PoisonTracker(tries=3)
    assert [tracker.failed("t/0@5") for _ in range(3)] == [False, False, True]
    assert tracker.failed("t/0@6") is False  # counted per record
    assert tracker.failed("t/0@5") is False  # a DLQ'd record starts again if seen again
    reason = DeadLetterReason.poison(RuntimeError("boom"), 3)
    assert (reason.kind, reason.error) == ("poison", "RuntimeError")
    assert "3 times" in reason.reason


def test_poison_tracker_is_bounded() -> None:
    tracker = PoisonTracker(tries=2, capacity=10)
    for offset in range(100):
        tracker.failed(f"t/0@{offset}")
    assert tracker.failed("t/0@0") is False  # forgotten: the oldest went first
    assert tracker.failed("t/0@99") is True
