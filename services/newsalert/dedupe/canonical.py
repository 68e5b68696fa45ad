"""Exact-duplicate identity of an article: canonical URL and normalised body hash.

Pure functions, no I/O. Two articles are *exact* duplicates when they share the
publisher id, the canonical URL or the normalised body hash; :func:`exact_digests`
turns an article into those three digests, which the stores use as ``seen`` keys.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from newsalert.models import Article

#: Query parameters that only track the click, never select the content.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
    }
)
TRACKING_PREFIXES = ("utm_",)

_DEFAULT_PORTS = {"http": 80, "https": 443}
_WORD = re.compile(r"\w+")
# Characters a URL path may carry unescaped; everything else is percent-encoded once.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def canonical_url(url: str) -> str | None:
    """The canonical form of ``url``, or ``None`` when it has no host or cannot be parsed.

    Lower-cased host without ``www.`` and default port, ``http`` and ``https`` taken
    as the same page (the scheme is dropped), no fragment, no tracking parameters
    (``utm_*``, ``fbclid``, ``gclid``, ...), remaining parameters sorted, percent
    escapes normalised and the trailing slash removed (except for the bare root).
    """
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # e.g. an unclosed IPv6 bracket: no host to compare, not an error
        return None
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        return None
    host = host.removeprefix("www.")
    try:
        port = parts.port
    except ValueError:
        port = None
    scheme = parts.scheme.lower() or "http"
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    path = quote(unquote(parts.path), safe=_PATH_SAFE) or "/"
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    query = sorted(
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not _is_tracking(name)
    )
    return urlunsplit(("", host, path, urlencode(query), "")).removeprefix("//")


def normalised_text(text: str) -> str:
    """``text`` as compared for exact duplicates: NFKC, casefolded, words joined by spaces.

    Punctuation, whitespace and typographic variants (curly quotes, dashes) do not
    make two bodies different.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_WORD.findall(folded))


def body_hash(text: str, words: Iterable[str] | None = None) -> str | None:
    """sha256 (hex) of the normalised ``text``, or ``None`` when it has no words.

    ``words``: the normalised words of ``text`` when the caller already has them (the
    fingerprint's sentences, flattened), so the text is not normalised twice.
    """
    normal = normalised_text(text) if words is None else " ".join(words)
    if not normal:
        return None
    return hashlib.sha256(normal.encode()).hexdigest()


def _digest(kind: str, *parts: str) -> str:
    return hashlib.sha256("\x1f".join((kind, *parts)).encode()).hexdigest()[:32]


def exact_digests(article: Article, body_words: Iterable[str] | None = None) -> dict[str, str]:
    """The exact-duplicate digests of ``article``, keyed by kind (``id``, ``url``, ``body``).

    The id is scoped by ``source`` because ids are only unique per publisher. An
    article without a usable URL or without body words has no ``url``/``body`` entry.
    ``body_words``: the body's normalised words if already computed (see :func:`body_hash`).
    """
    digests = {"id": _digest("id", article.source or "", article.id)}
    if article.url:
        canonical = canonical_url(article.url)
        if canonical:
            digests["url"] = _digest("url", canonical)
    hashed = body_hash(article.body, body_words)
    if hashed:
        digests["body"] = _digest("body", hashed)
    return digests
