"""Input records become Articles or a one-line reason for the DLQ."""

from __future__ import annotations

import json

import pytest

from newsalert.errors import ArticleError
from newsalert.pipeline.decode import decode_article


def test_valid_article_keeps_extra_fields() -> None:
    raw = json.dumps({"id": "a1", "title": "T", "body": "B", "topics": ["x"]}).encode()
    article = decode_article(raw, 10_000)
    assert article.id == "a1"
    assert article.model_extra == {"topics": ["x"]}


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "invalid JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[1, 2]", "expected a JSON object, got list"),
        (json.dumps({"title": "no id"}).encode(), "id: Field required"),
        (json.dumps({"id": "   "}).encode(), "id: Value error, id must not be blank"),
        (json.dumps({"id": "a", "published_at": "yesterday"}).encode(), "published_at:"),
        (b"x" * 101, "101 bytes, over the 100-byte limit"),
        (None, "empty record"),
    ],
)
def test_bad_records_get_a_reason(raw: bytes | None, reason: str) -> None:
    with pytest.raises(ArticleError) as caught:
        decode_article(raw, 100)
    assert reason in caught.value.reason


def test_naive_published_at_is_utc() -> None:
    article = decode_article(
        json.dumps({"id": "a", "published_at": "2026-01-01T10:00:00"}).encode(), 1000
    )
    assert article.published_at is not None
    assert article.published_at.utcoffset() is not None


@pytest.mark.parametrize(
    ("raw", "kind", "reason"),
    [
        # Records whose decoding raises something other than ArticleError unless the
        # edge checks catch them, which would stall their partition.
        (json.dumps({"id": "a", "url": "\ud800"}).encode(), "lone-surrogate", "$.url"),
        (json.dumps({"id": "a", "source": "\ud800"}).encode(), "lone-surrogate", "$.source"),
        (json.dumps({"id": "a", "title": "\ud800"}).encode(), "lone-surrogate", "$.title"),
        (b'{"id": "a", "x": ' + b"[" * 3000 + b"]" * 3000 + b"}", "too-deep", "nested deeper"),
        (b'{"id": "a", "x": ' + b"9" * 5000 + b"}", "number-out-of-range", "5000 digits"),
        (b'{"id": "a", "id": "b"}', "duplicate-key", "duplicate key 'id'"),
        (b'{"id": "a", "x": NaN}', "not-a-number", "NaN"),
        (
            json.dumps({"id": "a", "published_at": 10**300}).encode(),
            "invalid-article",
            "published_at",
        ),
        (b"[1, 2]", "not-an-object", "got list"),
    ],
)
def test_hostile_records_get_a_kind(raw: bytes, kind: str, reason: str) -> None:
    with pytest.raises(ArticleError) as caught:
        decode_article(raw, 1_000_000)
    assert caught.value.kind == kind
    assert reason in caught.value.reason


def test_url_that_urlsplit_refuses_is_kept_and_has_no_canonical_form() -> None:
    from newsalert.dedupe.canonical import canonical_url, exact_digests

    article = decode_article(json.dumps({"id": "a", "url": "http://[::1/"}).encode(), 1000)
    assert article.url == "http://[::1/"
    assert canonical_url("http://[::1/") is None
    assert set(exact_digests(article)) == {"id"}
