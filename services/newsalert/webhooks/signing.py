"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

``webhook-signature`` is ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` keyed by the
base64-decoded part of the ``whsec_`` secret; during a secret rotation every active secret
signs and the signatures are joined by spaces.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from newsalert.errors import NewsalertError

SECRET_PREFIX = "whsec_"  # noqa: S105 (a format prefix, not a secret)
HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"
#: Receivers reject messages whose timestamp is further than this from their clock.
DEFAULT_TOLERANCE_S = 300


class SignatureError(NewsalertError):
    """A secret is malformed or a signature does not verify."""


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret."""
    if not secret.startswith(SECRET_PREFIX):
        raise SignatureError("secret must start with 'whsec_'")
    try:
        encoded = secret[len(SECRET_PREFIX) :]
        # Unpadded base64 is common in the wild; the reference library accepts it too.
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("secret is not valid base64 after 'whsec_'") from exc


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature of ``body`` sent as ``msg_id`` at ``timestamp``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    # hmac.digest with a digest name is OpenSSL's one-shot HMAC: no Python HMAC objects.
    digest = hmac.digest(secret_key(secret), signed, "sha256")
    return "v1," + base64.b64encode(digest).decode()


@dataclass(frozen=True)
class SignedRequest:
    """What one attempt sends: the exact body bytes and their Standard Webhooks headers."""

    msg_id: str
    timestamp: int
    body: bytes
    headers: Mapping[str, str]


def sign_request(secrets: Iterable[str], msg_id: str, timestamp: int, body: bytes) -> SignedRequest:
    """Sign ``body`` with every secret in ``secrets`` (rotation: all active ones)."""
    signatures = [sign(secret, msg_id, timestamp, body) for secret in secrets]
    if not signatures:
        raise SignatureError("at least one signing secret is required")
    headers = {
        HEADER_ID: msg_id,
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_SIGNATURE: " ".join(signatures),
        "content-type": "application/json",
        "user-agent": "newsalert-webhooks/1",
    }
    return SignedRequest(msg_id=msg_id, timestamp=timestamp, body=body, headers=headers)


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: int,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> None:
    """Check that ``headers`` carry a valid signature of ``body`` by ``secret``.

    The receiver side, used by the demo inbox; raises :class:`SignatureError` otherwise.
    Header names are matched case-insensitively.
    """
    lower = {key.lower(): value for key, value in headers.items()}
    try:
        msg_id = lower[HEADER_ID]
        timestamp = int(lower[HEADER_TIMESTAMP])
        offered = lower[HEADER_SIGNATURE].split(" ")
    except (KeyError, ValueError) as exc:
        raise SignatureError("missing or malformed webhook-* headers") from exc
    if abs(now - timestamp) > tolerance_s:
        raise SignatureError("webhook-timestamp outside the tolerance window")
    expected = sign(secret, msg_id, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in offered):
        raise SignatureError("no matching v1 signature")
