"""Canonical URLs, normalised body hashes and the exact-duplicate digests."""

from __future__ import annotations

import random
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsalert.dedupe.canonical import body_hash, canonical_url, exact_digests
from newsalert.models import Article


@pytest.mark.parametrize(
    "variant",
    [
        "https://news.example/world/pier",
        "https://news.example/world/pier/",
        "http://NEWS.Example/world/pier",
        "https://www.news.example/world/pier#comments",
        "https://news.example:443/world/pier?utm_source=tw&utm_campaign=x",
        "https://news.example/world/pier?fbclid=abc&gclid=def&UTM_MEDIUM=m",
        "https://news.example/world/%70ier",
    ],
)
def test_url_variants_share_one_canonical_form(variant: str) -> None:
    assert canonical_url(variant) == "news.example/world/pier"


def test_content_parameters_are_kept_and_sorted() -> None:
    assert canonical_url("https://n.example/a?page=2&id=7&utm_x=1") == "n.example/a?id=7&page=2"
    assert canonical_url("https://n.example/a?id=7") != canonical_url("https://n.example/a?id=8")


def test_other_ports_paths_and_hosts_differ() -> None:
    base = canonical_url("https://n.example/a")
    assert canonical_url("https://n.example:8443/a") != base
    assert canonical_url("https://m.example/a") != base
    assert canonical_url("https://n.example/a/b") != base
    assert (
        canonical_url("https://n.example/") == canonical_url("https://n.example") == ("n.example/")
    )


@pytest.mark.parametrize("url", ["", "not a url", "/relative/path", "mailto:"])
def test_urls_without_host_have_no_canonical_form(url: str) -> None:
    assert canonical_url(url) is None


def test_body_hash_ignores_case_punctuation_and_spacing() -> None:
    text = "Seoul summoned the ambassador, officials said.\n\nTalks follow."
    same = [
        "SEOUL summoned  the ambassador officials said — talks follow",
        "Seoul summoned the ambassador, officials said. Talks follow!",
    ]
    assert {body_hash(variant) for variant in same} == {body_hash(text)}
    assert body_hash(text) != body_hash("Seoul summoned the ambassador, officials said.")
    assert body_hash(" ... ") is None


def test_exact_digests_scope_the_id_by_source() -> None:
    afp = Article(id="123", source="AFP", body="one two", url="https://a.example/x")
    reuters = Article(id="123", source="Reuters", body="three four")
    assert exact_digests(afp)["id"] != exact_digests(reuters)["id"]
    assert set(exact_digests(afp)) == {"id", "url", "body"}
    assert set(exact_digests(Article(id="1", url="nope"))) == {"id"}


_segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=8)
_param = st.tuples(_segment, _segment)


@given(
    host=st.lists(_segment, min_size=1, max_size=3),
    path=st.lists(_segment, max_size=4),
    params=st.lists(_param, max_size=3, unique_by=lambda kv: kv[0]),
    tracking=st.lists(
        st.tuples(
            st.sampled_from(["utm_source", "utm_x", "fbclid", "gclid", "UTM_Medium"]), _segment
        ),
        max_size=3,
    ),
    fragment=st.one_of(st.just(""), _segment),
    upper=st.booleans(),
    slash=st.booleans(),
    www=st.booleans(),
    seed=st.randoms(use_true_random=False),
)
def test_noise_never_changes_the_canonical_url(
    host: list[str],
    path: list[str],
    params: list[tuple[str, str]],
    tracking: list[tuple[str, str]],
    fragment: str,
    upper: bool,
    slash: bool,
    www: bool,
    seed: random.Random,
) -> None:
    params = [
        (k, v) for k, v in params if not k.startswith("utm_") and k not in {"fbclid", "gclid"}
    ]
    domain = ".".join([*host, "example"])
    base = f"https://{domain}/{'/'.join(path)}"
    clean = canonical_url(f"{base}?{urlencode(params)}" if params else base)
    noisy_params = params + tracking
    seed.shuffle(noisy_params)
    noisy_host = ("www." if www else "") + (domain.upper() if upper else domain)
    noisy = f"http://{noisy_host}/{'/'.join(path)}{'/' if slash and path else ''}"
    if noisy_params:
        noisy += "?" + urlencode(noisy_params)
    if fragment:
        noisy += "#" + fragment
    assert canonical_url(noisy) == clean
