"""Webhook URL validation agrees with the sender: what it accepts, httpx can send."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsalert.webhooks.endpoint import MAX_URL_CHARS, EndpointURLError, check_endpoint_url


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/newsalert",
        "http://127.0.0.1:8080/hook?token=abc",
        "http://[::1]:9/x",
        "https://user:pass@hooks.example.com/",
        "https://bücher.example/hook",
    ],
)
def test_sendable_urls_pass_unchanged(url: str) -> None:
    assert check_endpoint_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://0177.0.0.1/",
        "http://[::1/",
        "http://a:b:c/",
        "http:///x",
        "http://x:0/",
        "http://x:65536/",
        "http://x/a b",
        "http://x/\t",
        "http://x/\x00",
        "https://x.example/\ud800",
        "HTTP://x.example/",
        "javascript:alert(1)",
        "http://x.example/" + "a" * MAX_URL_CHARS,
    ],
)
def test_unsendable_urls_are_refused(url: str) -> None:
    with pytest.raises(EndpointURLError):
        check_endpoint_url(url)


_URLISH = st.builds(
    "{}{}{}".format,
    st.sampled_from(["http://", "https://", "http://[", "http://0", ""]),
    st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from("[]:@/%.?#0123456789"),
            max_size=30),
    st.sampled_from(["", "/", ":80/", ":99999", "]/", "/x?y=1"]),
)  # fmt: skip


@given(_URLISH)
def test_accepted_urls_build_a_request(url: str) -> None:
    try:
        check_endpoint_url(url)
    except EndpointURLError:
        return
    request = httpx.Request("POST", url)
    assert request.url.scheme in ("http", "https")
    assert request.url.host
