"""What a webhook endpoint URL must be before a subscription is accepted.

Checked where a URL enters (the config file, the API), with the same URL parser the sender
uses (httpx), so a URL that passes here is one httpx can build a request for; reaching it
is then the SSRF guard's and the network's business. Rejected: anything but ``http``/
``https``, whitespace or control characters, a missing host, a port outside 1-65535,
addresses httpx refuses (``http://0177.0.0.1/``: octal IPv4), and very long URLs.
"""

from __future__ import annotations

import re

import httpx

#: Longer URLs are refused (browsers and proxies commonly stop near this length).
MAX_URL_CHARS = 2048
_SCHEMES = ("http://", "https://")
_BAD_CHARS = re.compile(r"[\x00-\x20\x7f]")
_MAX_DETAIL_CHARS = 120


class EndpointURLError(ValueError):
    """A webhook URL that cannot be sent to; the message says why, not the URL itself."""


def check_endpoint_url(url: str) -> str:
    """``url`` unchanged when the sender can POST to it; raises :class:`EndpointURLError`.

    The URL is not repeated in the message: it may carry a token, and the caller already
    says where it was written.
    """
    if len(url) > MAX_URL_CHARS:
        raise EndpointURLError(f"url is longer than {MAX_URL_CHARS} characters")
    if not url.startswith(_SCHEMES):
        raise EndpointURLError("url must start with http:// or https://")
    if _BAD_CHARS.search(url):
        raise EndpointURLError("url must not contain spaces or control characters")
    try:
        url.encode("utf-8")
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
        detail = str(exc)[:_MAX_DETAIL_CHARS]
        raise EndpointURLError(f"url is not one httpx can send to ({detail})") from exc
    if not parsed.host:
        raise EndpointURLError("url has no host")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise EndpointURLError(f"url port {parsed.port} is outside 1-65535")
    return url
