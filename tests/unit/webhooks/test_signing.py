"""Signatures checked against the reference implementation (standardwebhooks)."""

from __future__ import annotations

import base64
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from newsalert.webhooks.signing import SignatureError, secret_key, sign, sign_request, verify

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
OTHER = "whsec_" + base64.b64encode(b"fedcba9876543210fedcba9876543210").decode()


def test_known_vector_from_the_spec() -> None:
    # Example from the Standard Webhooks spec / reference test-suite.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    assert (
        sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


@given(msg_id=st.text(min_size=1, max_size=40).filter(lambda s: "\n" not in s), body=st.binary())
def test_reference_library_accepts_our_signatures(msg_id: str, body: bytes) -> None:
    body_text = body.hex().encode()  # the reference decodes bodies as UTF-8
    now = int(time.time())
    request = sign_request([SECRET], msg_id.strip() or "x", now, body_text)
    Webhook(SECRET).verify(body_text, dict(request.headers), json_parse=False)


def test_rotation_carries_every_signature_and_each_secret_verifies() -> None:
    now = int(time.time())
    request = sign_request([SECRET, OTHER], "msg_1", now, b"{}")
    signatures = request.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2
    assert all(sig.startswith("v1,") for sig in signatures)
    for secret in (SECRET, OTHER):
        Webhook(secret).verify(b"{}", dict(request.headers))
    stranger = "whsec_" + base64.b64encode(b"x" * 32).decode()
    with pytest.raises(WebhookVerificationError):
        Webhook(stranger).verify(b"{}", dict(request.headers))


def test_a_changed_body_fails_verification() -> None:
    now = int(time.time())
    request = sign_request([SECRET], "msg_1", now, b'{"a":1}')
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(b'{"a":2}', dict(request.headers))
    with pytest.raises(SignatureError):
        verify(SECRET, request.headers, b'{"a":2}', now=now)
    verify(SECRET, request.headers, b'{"a":1}', now=now)


def test_own_verifier_enforces_the_timestamp_tolerance() -> None:
    request = sign_request([SECRET], "msg_1", 1_000, b"{}")
    with pytest.raises(SignatureError, match="tolerance"):
        verify(SECRET, request.headers, b"{}", now=1_000 + 301)


def test_malformed_secrets_are_refused() -> None:
    with pytest.raises(SignatureError):
        secret_key("nope_abc")
    with pytest.raises(SignatureError):
        secret_key("whsec_!!!not-base64!!!")
    with pytest.raises(SignatureError):
        sign_request([], "msg", 1, b"")


def test_unpadded_secret_matches_the_reference() -> None:
    unpadded = SECRET.rstrip("=")
    assert secret_key(unpadded) == secret_key(SECRET)
