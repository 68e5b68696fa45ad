"""Webhook URLs in output: scheme and host only, plus a short hash to tell two apart.

A webhook URL often carries its own credential (``https://hooks.slack.com/services/T/B/X``,
``?token=...``, ``user:pass@``), so the full URL is written nowhere: not in the API, the
logs, endpoint events, the delivery log or ``alerts.dlq``. :func:`display_url` is the
only form shown; :func:`scrub` removes the secret-bearing parts of a URL from free text
(an error message from the HTTP stack) before it is stored or logged.
"""

from __future__ import annotations

import hashlib
import logging
from urllib.parse import parse_qsl, urlsplit

#: Loggers of the HTTP client stack that write full request URLs at INFO/DEBUG.
HTTP_CLIENT_LOGGERS = ("httpx", "httpcore")
#: Path segments and query values at least this long are treated as possible secrets.
_MIN_SECRET_CHARS = 6
#: A user name or password this long is hidden wherever it appears.
_MIN_USERINFO = 3
_HIDDEN = "…"


def url_fingerprint(url: str) -> str:
    """Eight hex digits of the URL's SHA-256: equal URLs match, nothing is revealed."""
    return hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def display_url(url: str) -> str:
    """``scheme://host[:port]/… #hash``: what may be shown or logged of a webhook URL."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return f"(invalid URL) #{url_fingerprint(url)}"
    if ":" in host:
        host = f"[{host}]"
    where = f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")
    rest = _HIDDEN if (parts.path not in ("", "/") or parts.query or parts.fragment) else ""
    return f"{where}/{rest} #{url_fingerprint(url)}"


def secret_parts(url: str) -> list[str]:
    """The substrings of ``url`` that may be a credential, longest first.

    Userinfo, the path and query as wholes, and each path segment and query value long
    enough to be a token; the scheme, host and port are not secret.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return [url]
    found = {url}
    if "@" in parts.netloc:
        userinfo = parts.netloc.rsplit("@", 1)[0]
        found.add(parts.netloc)
        found.update(p for p in (userinfo, *userinfo.split(":", 1)) if len(p) >= _MIN_USERINFO)
    pieces = [parts.path, parts.query, parts.fragment, *parts.path.split("/")]
    pieces += [value for _key, value in parse_qsl(parts.query, keep_blank_values=True)]
    pieces += parts.query.split("&")
    found.update(p for p in pieces if len(p) >= _MIN_SECRET_CHARS and p != "/")
    return sorted(found, key=len, reverse=True)


def scrub(text: str, url: str) -> str:
    """``text`` with every secret-bearing part of ``url`` replaced by its display form."""
    if not text:
        return text
    return Scrubber(url)(text)


class Scrubber:
    """:func:`scrub` for one URL, with what it replaces worked out once: a caller that
    scrubs every reply from the same endpoint keeps one (the dispatcher keeps one per
    subscription URL) instead of parsing the URL for each text."""

    def __init__(self, url: str) -> None:
        shown = display_url(url)
        self._replacements = tuple(
            (part, shown if part == url else _HIDDEN) for part in secret_parts(url)
        )

    def __call__(self, text: str) -> str:
        """``text`` scrubbed (the same object when nothing in it is secret)."""
        for part, replacement in self._replacements:
            if part in text:
                text = text.replace(part, replacement)
        return text


def quiet_http_client_logs() -> None:
    """Raise httpx/httpcore loggers to WARNING: at INFO they log every request URL."""
    for name in HTTP_CLIENT_LOGGERS:
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.WARNING:
            logger.setLevel(logging.WARNING)
