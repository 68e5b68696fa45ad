"""API tokens: parsing, digests, scopes, and errors that never carry a token."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsalert.apiauth import MIN_TOKEN_CHARS, ApiTokens, Scope
from newsalert.errors import ConfigError
from newsalert.settings import Settings

READ = "read-token-0123456789abcdef"
ADMIN = "admin-token-0123456789abcdef"


def _digest(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


def test_scopes_of_plain_and_digest_tokens() -> None:
    tokens = ApiTokens.parse(read=f" {READ} , {_digest('second-read-token-xyz')}", admin=ADMIN)
    assert tokens.scope_of(READ) is Scope.READ
    assert tokens.scope_of("second-read-token-xyz") is Scope.READ
    assert tokens.scope_of(ADMIN) is Scope.ADMIN
    assert tokens.scope_of("") is None
    assert tokens.scope_of(READ + "x") is None
    assert tokens.scope_of(_digest(READ)) is None  # the digest itself is not a token


def test_a_token_in_both_lists_is_admin() -> None:
    assert ApiTokens.parse(read=ADMIN, admin=ADMIN).scope_of(ADMIN) is Scope.ADMIN


def test_empty_lists_configure_nothing() -> None:
    tokens = ApiTokens.parse(read="", admin=" , ")
    assert tokens.read == ()
    assert tokens.admin == ()


@pytest.mark.parametrize(
    ("read", "message"),
    [
        ("short-token", f"at least {MIN_TOKEN_CHARS} characters"),
        ("sha256:abc", "64 hex digits"),
        ("sha256:" + "g" * 64, "64 hex digits"),
    ],
)
def test_malformed_entries_are_refused_without_echoing_them(read: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        ApiTokens.parse(read=f"{READ},{read}", admin="")
    text = str(caught.value)
    assert "NEWSALERT_API_READ_TOKENS entry 2" in text
    assert read not in text
    assert READ not in text


def test_tokens_never_show_in_reprs() -> None:
    tokens = ApiTokens.parse(read=READ, admin=ADMIN)
    settings = Settings(api_read_tokens=READ, api_admin_tokens=ADMIN)
    for text in (repr(tokens), repr(settings), str(settings)):
        assert READ not in text
        assert ADMIN not in text
    assert settings.api_host == "127.0.0.1"


@given(
    configured=st.lists(
        st.text(min_size=MIN_TOKEN_CHARS, max_size=40).filter(
            lambda t: "," not in t and t.strip() == t and not t.lower().startswith("sha256:")
        ),
        min_size=1,
        max_size=4,
    ),
    presented=st.text(max_size=40),
)
def test_only_configured_tokens_are_admitted(configured: list[str], presented: str) -> None:
    tokens = ApiTokens.parse(read=",".join(configured), admin="")
    expected = Scope.READ if presented in configured else None
    assert tokens.scope_of(presented) is expected
    digests = ApiTokens.parse(read=",".join(map(_digest, configured)), admin="")
    assert digests.scope_of(presented) is expected
