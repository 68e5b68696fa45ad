"""The HTTP side of a delivery: one POST, never a redirect, bounded time and reply size.

:class:`WebhookSender` sends through :mod:`newsalert.webhooks.http1`, whose connections
carry the SSRF guard (:mod:`newsalert.webhooks.ssrf`). It never raises for an endpoint's
behaviour: every outcome, including refusals and timeouts, comes back as an
:class:`AttemptResult`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

import httpcore
import httpx

from newsalert.webhooks.http1 import Http1Client, ProtocolError, encode_headers
from newsalert.webhooks.redact import Scrubber, display_url, quiet_http_client_logs, scrub
from newsalert.webhooks.signing import SignedRequest
from newsalert.webhooks.ssrf import ALLOWED_SCHEMES, AddressPolicy, SSRFError

#: How much of a receiver's reply the delivery log keeps.
MAX_RESPONSE_CHARS = 512
#: How much of an error message an attempt keeps.
MAX_ERROR_CHARS = 300
#: URLs whose scheme a sender remembers (one per subscription, cleared when full).
_URLS_KEPT = 1024

log = logging.getLogger("newsalert.webhooks")


@dataclass(frozen=True)
class AttemptResult:
    """The outcome of one POST: status (``None`` when no HTTP reply), timing, reply."""

    status: int | None
    latency_ms: float
    error: str | None = None
    response: str = ""
    retry_after: str | None = None
    timed_out: bool = False
    refused: bool = False  # the SSRF guard or the scheme check refused the URL

    def scrubbed(self, url: str) -> AttemptResult:
        """This result with ``url``'s secret parts removed from the texts that are kept."""
        return self.scrubbed_with(Scrubber(url))

    def scrubbed_with(self, scrubber: Callable[[str], str]) -> AttemptResult:
        """:meth:`scrubbed` with a :class:`Scrubber` (or any text filter) already made."""
        error = scrubber(self.error) if self.error else self.error
        response = scrubber(self.response) if self.response else self.response
        if error is self.error and response is self.response:
            return self  # nothing to remove (every delivered webhook): no copy
        return replace(self, error=error, response=response)


class WebhookSender:
    """POSTs signed requests; one instance per dispatcher, one set of keep-alive
    connections per ``pool`` name (the dispatcher uses one per subscription).

    Requests go through :class:`~newsalert.webhooks.http1.Http1Client`, whose connections
    are vetted by the SSRF guard at connect time. ``transport``: an httpx transport to send
    through instead (tests fake the network with one); it bypasses the guard.
    """

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        timeout_s: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._timeout_s = timeout_s
        self._schemes: dict[str, str] = {}  # URL -> its lower-case scheme
        quiet_http_client_logs()  # httpx logs each request's full URL at INFO
        # Building a TLS context loads the CA bundle: once, shared by every connection.
        self._client = Http1Client(policy, httpx.create_ssl_context())
        self._httpx: httpx.AsyncClient | None = None
        if transport is not None:
            self._httpx = httpx.AsyncClient(
                transport=transport,
                follow_redirects=False,
                trust_env=False,
                timeout=httpx.Timeout(timeout_s),
            )

    async def post(
        self,
        url: str,
        request: SignedRequest,
        *,
        timeout_s: float | None = None,
        pool: str | None = None,
    ) -> AttemptResult:
        """POST ``request`` to ``url`` once (on the connections of ``pool``) and report what
        happened; never raises.

        An exception nobody expected (a URL httpx's parser refuses, a bug below us) is a
        failed attempt too: the delivery's schedule must go on whatever the endpoint or
        the libraries do.
        """
        started = time.perf_counter()
        try:
            return await self._post(url, request, timeout_s, pool, started)
        except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
            # Not a URL we can send to (config validation refuses these; a subscription
            # built some other way still ends here).
            return AttemptResult(None, _elapsed_ms(started), error=describe(exc), refused=True)
        except Exception as exc:
            # No traceback: its messages could carry the URL's secret parts.
            log.warning(
                "webhook POST to %s raised unexpectedly: %s",
                display_url(url),
                scrub(describe(exc), url),
            )
            return AttemptResult(None, _elapsed_ms(started), error=describe(exc))

    async def _post(
        self,
        url: str,
        request: SignedRequest,
        timeout_s: float | None,
        pool: str | None,
        started: float,
    ) -> AttemptResult:
        scheme = self._schemes.get(url)
        if scheme is None:  # a subscription posts to the same URL every time
            if len(self._schemes) >= _URLS_KEPT:
                self._schemes.clear()
            scheme = self._schemes[url] = urlsplit(url).scheme.lower()
        if scheme not in ALLOWED_SCHEMES:
            return AttemptResult(None, 0.0, error=f"scheme {scheme!r} not allowed", refused=True)
        limit = timeout_s if timeout_s is not None else self._timeout_s
        if self._httpx is not None:
            return await self._post_httpx(self._httpx, url, request, limit, started)
        target = self._client.target(url)
        head = encode_headers(request.headers, request.body)
        connected = [False]
        try:
            # One deadline bounds the whole attempt (connect, TLS, write, every read), so
            # a receiver trickling bytes cannot outlive the delivery's lease.
            async with asyncio.timeout(limit):
                reply = await self._client.post(
                    target,
                    head,
                    request.body,
                    limit=MAX_RESPONSE_CHARS * 4,
                    pool=pool,
                    connected=connected,
                )
        except SSRFError as exc:
            return AttemptResult(None, _elapsed_ms(started), error=f"ssrf: {exc}", refused=True)
        except TimeoutError:
            phase = "ReadTimeout" if connected[0] else "ConnectTimeout"
            return AttemptResult(
                None, _elapsed_ms(started), error=f"timeout: {phase}", timed_out=True
            )
        except (ProtocolError, OSError, httpcore.ConnectError) as exc:
            return AttemptResult(None, _elapsed_ms(started), error=describe(exc))
        return AttemptResult(
            status=reply.status,
            latency_ms=_elapsed_ms(started),
            response=_excerpt(reply.body.decode("utf-8", errors="replace")),
            retry_after=reply.headers.get("retry-after"),
        )

    async def _post_httpx(
        self,
        client: httpx.AsyncClient,
        url: str,
        request: SignedRequest,
        limit: float,
        started: float,
    ) -> AttemptResult:
        try:
            async with (
                asyncio.timeout(limit),
                client.stream(
                    "POST",
                    url,
                    content=request.body,
                    headers=dict(request.headers),
                    timeout=httpx.Timeout(limit),
                ) as response,
            ):
                reply = await _read_prefix(response, MAX_RESPONSE_CHARS * 4)
        except SSRFError as exc:
            return AttemptResult(None, _elapsed_ms(started), error=f"ssrf: {exc}", refused=True)
        except (httpx.TimeoutException, TimeoutError) as exc:
            return AttemptResult(
                None, _elapsed_ms(started), error=f"timeout: {type(exc).__name__}", timed_out=True
            )
        except httpx.HTTPError as exc:
            return AttemptResult(None, _elapsed_ms(started), error=describe(exc))
        return AttemptResult(
            status=response.status_code,
            latency_ms=_elapsed_ms(started),
            response=_excerpt(reply.decode("utf-8", errors="replace")),
            retry_after=_header(response.headers, "retry-after"),
        )

    async def aclose(self) -> None:
        """Close every connection."""
        self._client.close()
        if self._httpx is not None:
            await self._httpx.aclose()


def describe(exc: BaseException) -> str:
    """``Type: message`` of ``exc``, bounded and valid UTF-8: the delivery log and the DLQ
    keep it as JSON, which a lone surrogate in a message would make unserialisable."""
    text = f"{type(exc).__name__}: {exc}"
    if len(text) > MAX_ERROR_CHARS:
        text = text[:MAX_ERROR_CHARS] + "…"
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 2)


async def _read_prefix(response: httpx.Response, limit: int) -> bytes:
    """At most ``limit`` bytes of the reply: a receiver cannot make us buffer a huge body."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


def _excerpt(text: str) -> str:
    return text if len(text) <= MAX_RESPONSE_CHARS else text[:MAX_RESPONSE_CHARS] + "…"


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return headers.get(name)
