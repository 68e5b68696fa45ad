"""The header names the HTTP/1.1 client takes as checked are valid tokens."""

from __future__ import annotations

from newsalert.webhooks import http1
from newsalert.webhooks.signing import sign_request


def test_the_names_taken_as_checked_are_tokens() -> None:
    for name in http1._SENT_NAMES:
        assert http1._TOKEN.fullmatch(name.encode("latin-1")), name


def test_a_delivery_sends_only_names_taken_as_checked() -> None:
    request = sign_request(["whsec_" + "QUJD" * 8], "msg_1", 1, b"{}")
    assert set(request.headers) <= http1._SENT_NAMES
