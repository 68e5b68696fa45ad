"""Whatever goes wrong inside one POST comes back as a failed :class:`AttemptResult`.

The sender is the boundary between a delivery's schedule and the outside world: an
exception escaping it would skip the attempt's record (the lease then expires and the POST
repeats outside the schedule). The transports here are fakes of httpx's port; the real
receiver cases are in ``tests/integration/test_dispatcher_schedule.py``.
"""

from __future__ import annotations

import time

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsalert.webhooks.sender import AttemptResult, WebhookSender
from newsalert.webhooks.signing import sign_request
from newsalert.webhooks.ssrf import AddressPolicy

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
REQUEST = sign_request([SECRET], "msg_test", int(time.time()), b'{"ok":true}')


async def _post(url: str, transport: httpx.AsyncBaseTransport | None = None) -> AttemptResult:
    sender = WebhookSender(AddressPolicy(), timeout_s=2.0, transport=transport)
    try:
        return await sender.post(url, REQUEST)
    finally:
        await sender.aclose()


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://0177.0.0.1/", "InvalidURL"),  # octal IPv4: httpx refuses it
        ("http://[::1/", "ValueError"),  # urllib's split raises before httpx sees it
        ("http://a:b:c/", "InvalidURL"),
        ("https://example.org/\ud800", "UnicodeEncodeError"),
    ],
)
async def test_urls_httpx_refuses_are_refused_attempts(url: str, error: str) -> None:
    result = await _post(url)
    assert result.status is None
    assert result.refused
    assert result.error is not None
    assert error in result.error


class _BoomError(Exception):
    """A failure no layer below the sender is expected to raise."""


@pytest.mark.parametrize(
    "exc",
    [
        _BoomError("bug in a transport"),
        RuntimeError("event loop is closing"),
        OSError(24, "Too many open files"),
        KeyError("header"),
        UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
        _BoomError("a lone surrogate \ud800 in the message"),
    ],
)
async def test_any_exception_below_is_a_failed_attempt(exc: Exception) -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        raise exc

    result = await _post("http://hooks.example.org/x", httpx.MockTransport(handler))
    assert result.status is None
    assert result.error is not None
    assert type(exc).__name__ in result.error
    result.error.encode("utf-8")  # it is stored as JSON: always encodable
    assert result.latency_ms >= 0.0


async def test_an_error_message_is_bounded() -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        raise _BoomError("x" * 100_000)

    result = await _post("http://hooks.example.org/x", httpx.MockTransport(handler))
    assert result.error is not None
    assert len(result.error) < 600


async def test_a_reply_still_comes_back_as_before() -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, headers=[(b"Retry-After", "²".encode())], content=b"busy")

    result = await _post("http://hooks.example.org/x", httpx.MockTransport(handler))
    assert (result.status, result.retry_after, result.response) == (503, "²", "busy")
    assert result.error is None


_URLISH = st.builds(
    "{}{}{}".format,
    st.sampled_from(["http://", "https://", "http://[", "http://0", "ftp://", ""]),
    st.text(max_size=30),
    st.sampled_from(["", "/", ":80/", ":99999", "]/", "/x?y=1"]),
)


@settings(max_examples=60, deadline=None)
@given(_URLISH)
async def test_no_url_makes_the_sender_raise(url: str) -> None:
    # Every URL reaches a fake transport at most: nothing here touches the network.
    def handler(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(204)

    result = await _post(url, httpx.MockTransport(handler))
    assert result.status == 204 or result.error is not None


async def test_an_unexpected_error_is_logged_without_the_url_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = "https://hooks.example.org/services/T000/B000/s3cr3t-t0ken"

    def handler(request: httpx.Request) -> httpx.Response:
        raise _BoomError(f"cannot handle {request.url}")

    result = await _post(url, httpx.MockTransport(handler))
    assert result.error is not None
    assert "s3cr3t-t0ken" not in caplog.text
    assert "hooks.example.org" in caplog.text
