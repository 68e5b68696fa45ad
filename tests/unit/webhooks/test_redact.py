"""Webhook URLs are shown as scheme + host + hash; secret parts never survive in text."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsalert.webhooks.redact import display_url, quiet_http_client_logs, scrub
from newsalert.webhooks.sender import AttemptResult


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.slack.com/services/T0/B0/XyZsecret123", "https://hooks.slack.com/…"),
        ("http://user:pa55word@127.0.0.1:8080/in?token=abc123xyz", "http://127.0.0.1:8080/…"),
        ("https://hooks.example.com", "https://hooks.example.com/"),
        ("https://hooks.example.com/", "https://hooks.example.com/"),
        ("http://[2001:db8::1]:9000/x", "http://[2001:db8::1]:9000/…"),
    ],
)
def test_display_url_keeps_scheme_host_and_port_only(url: str, shown: str) -> None:
    text = display_url(url)
    assert text.startswith(shown + " #")
    assert len(text.rsplit("#", 1)[1]) == 8


def test_two_urls_on_one_host_are_told_apart() -> None:
    one = display_url("https://hooks.slack.com/services/T0/B0/first-secret")
    two = display_url("https://hooks.slack.com/services/T0/B0/other-secret")
    assert one != two
    assert one == display_url("https://hooks.slack.com/services/T0/B0/first-secret")


def test_a_broken_url_shows_no_part_of_itself() -> None:
    shown = display_url("http://[bad-host-secret/x")
    assert "secret" not in shown


def test_scrub_removes_the_url_and_its_parts_from_an_error() -> None:
    url = "http://alice:s3cr3tpw@127.0.0.1:9/hook/p4thsecret?token=qu3rysecret"
    error = (
        f"ConnectError: cannot reach {url}; retried /hook/p4thsecret with "
        "token=qu3rysecret as alice:s3cr3tpw (s3cr3tpw)"
    )
    cleaned = scrub(error, url)
    for secret in ("s3cr3tpw", "p4thsecret", "qu3rysecret", "alice:"):
        assert secret not in cleaned
    assert "127.0.0.1:9" in cleaned
    assert scrub("connection refused", url) == "connection refused"


def test_an_attempt_result_is_scrubbed_of_its_url() -> None:
    url = "https://hooks.example.com/t/abcdefsecret"
    result = AttemptResult(None, 1.0, error=f"boom at {url}", response="echo abcdefsecret")
    clean = result.scrubbed(url)
    assert "abcdefsecret" not in (clean.error or "")
    assert "abcdefsecret" not in clean.response
    assert clean.latency_ms == 1.0


_token = st.text(
    alphabet="ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789", min_size=8, max_size=24
)


@given(secret=_token, where=st.sampled_from(["user", "password", "path", "query", "fragment"]))
def test_no_secret_survives_display_or_scrub(secret: str, where: str) -> None:
    url = {
        "user": f"https://{secret}@hooks.example.com/in",
        "password": f"https://bot:{secret}@hooks.example.com/in",
        "path": f"https://hooks.example.com/services/T1/{secret}",
        "query": f"https://hooks.example.com/in?key={secret}&x=1",
        "fragment": f"https://hooks.example.com/in#{secret}",
    }[where]
    assert secret not in display_url(url)
    assert secret not in scrub(f"failed: {url} ({secret})", url)


def test_http_client_loggers_are_raised_to_warning() -> None:
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    quiet_http_client_logs()
    assert logging.getLogger("httpx").getEffectiveLevel() == logging.WARNING
    assert logging.getLogger("httpcore.http11").getEffectiveLevel() == logging.WARNING
