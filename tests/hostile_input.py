"""Hypothesis strategies for hostile ``articles`` records (bytes as a crawler might send).

Used by the unit property tests (pure decode + pipeline), the integration suite (the real
service between sentinel articles) and ``bench/fuzz.py`` (a longer run). Every strategy
yields the raw record value; what the service must do with it is decided by the tests.

The mix: random bytes; JSON articles whose fields hold lone surrogates, format and
bidi characters, combining marks, full-width letters, NUL and control characters, huge
tokens, odd URLs, odd dates and values of the wrong type; and raw JSON that
``json.dumps`` cannot produce (deep nesting, huge integers, NaN, duplicate keys).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, TypeVar

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

T = TypeVar("T")

#: Text that matches the hostile-article rule of the tests (``port`` + ``strike``).
MATCHING = "port strike"

ODD_URLS = [
    "http://[::1/",
    "http://[",
    "http://[::1]:99999/",
    "http://example.org:-1/",
    "http://example.org:99999999999999999999/",
    "http://0177.0.0.1/",
    "http://%zz%00/",
    "//",
    ":",
    "http://",
    "javascript:alert(1)",
    "http://a b/c d?e f#g",
    "http://user:pw@/x",
    "http://[v1.x]/",
    "http://xn--/",
    "http://example.org/" + "a/" * 2000,
    "http://example.org/?" + "&".join(f"k{i}=v" for i in range(500)),
    "http://ex\u200bample.org/\u202e",
    "http://EXAMPLE.org/%e2%82%ac%ff",
    "\x00",
]
ODD_DATES: list[Any] = [
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+23:59",
    "1970-01-01T00:00:00Z",
    "2026-13-45T99:99:99Z",
    "99999-01-01T00:00:00Z",
    "",
    "now",
    0,
    -1,
    2**63,
    -(2**63),
    1e20,
    253402300800,
    1.5,
    None,
]
FORMAT_CHARS = "\u200b\u200c\u200d\u00ad\u2060\ufeff\u202e\u202d\u2066\u2069\u061c"
ODD_CHARS = FORMAT_CHARS + "\u0301\u0308\uff50\uff4f\uff52\uff54\x00\x01\x1f\x7f\u2028\ufffd"

_any_char = st.one_of(
    st.characters(codec=None, exclude_categories=()),
    st.characters(categories=["Cs"]),  # lone surrogates, rare in the line above
    st.sampled_from(ODD_CHARS),
)
_lone_surrogate = st.characters(categories=["Cs"]).map(lambda c: f"{MATCHING} {c}")
_texts = st.one_of(
    _lone_surrogate,
    st.text(_any_char, max_size=40),
    st.text(st.sampled_from(ODD_CHARS + "port strike "), max_size=40),
    st.builds(
        lambda w, n: w * n,
        st.sampled_from(["x", "é", "\u200b", "port "]),
        st.integers(1000, 40_000),
    ),
    st.builds(
        lambda a, b: f"{a} {MATCHING} {b}",
        st.text(_any_char, max_size=10),
        st.text(_any_char, max_size=10),
    ),
)
_wrong_types = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)
_valid_dates = st.datetimes(
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=23, minutes=59))])
).map(datetime.isoformat)
_dates = st.one_of(st.sampled_from(ODD_DATES), _valid_dates, _valid_dates)
_FIELDS = {
    "title": _texts,
    "body": _texts,
    "url": st.one_of(st.sampled_from(ODD_URLS[:3]), st.sampled_from(ODD_URLS), _texts),
    "source": _texts,
    "language": _texts,
    "published_at": _dates,
    "extra": st.one_of(_texts, _wrong_types),
}


@st.composite
def _json_article(draw: st.DrawFn) -> bytes:
    """An article object with hostile field values, serialised one of several ways.

    Most have the right types (so they reach matching and dedupe); one in four gets a
    value of the wrong type in one field.
    """
    article: dict[str, Any] = {"id": draw(st.text(_any_char, min_size=1, max_size=20))}
    for name, values in _FIELDS.items():
        if draw(st.booleans()):
            article[name] = draw(values)
    if draw(st.integers(0, 3)) == 3:  # hypothesis favours small integers
        article[draw(st.sampled_from([*_FIELDS, "id"]))] = draw(_wrong_types)
    if draw(st.booleans()):
        return json.dumps(article, ensure_ascii=True).encode()
    # Raw UTF-8: a lone surrogate becomes bytes that are not UTF-8 at all.
    return json.dumps(article, ensure_ascii=False).encode("utf-8", "surrogatepass")


def _raw(fragment: str, title: str = MATCHING) -> bytes:
    return ('{"id": "raw", "title": "' + title + '", "extra": ' + fragment + "}").encode()


_raw_json = st.one_of(
    st.integers(30, 5000).map(lambda n: _raw("[" * n + "]" * n)),
    st.integers(30, 3000).map(lambda n: _raw('{"a":' * n + "1" + "}" * n)),
    st.integers(300, 6000).map(lambda n: _raw("9" * n)),
    st.integers(300, 6000).map(lambda n: _raw("-" + "1" * n)),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e400", "1e-400", "0.1e309"]).map(
        _raw
    ),
    st.just(b'{"id": "a", "id": "b", "title": "port strike"}'),
    st.just(b'{"id": "a", "extra": {"k": 1, "k": 2}}'),
    st.just(b'{"id": "a", "\\ud800": 1}'),
    st.just(b'{"id": "a", "title": "\\udfff port strike"}'),
    st.just(b'{"id": "a", "title": "\\ud83d\\ude00 port strike"}'),  # a valid pair: fine
    st.just(b"[]"),
    st.just(b'"just a string"'),
    st.just(b"null"),
    st.just(b""),
)


def hostile_records() -> st.SearchStrategy[bytes]:
    """One hostile ``articles`` record value."""
    # Mostly articles with hostile content (they reach dedupe and matching), some raw.
    # (A plain one_of would be flattened: every raw alternative would weigh as much as
    # the whole article strategy.)
    family = {"bytes": st.binary(max_size=200), "article": _json_article(), "raw": _raw_json}
    weights = ["bytes", "article", "article", "article", "article", "article", "raw", "raw"]
    return st.sampled_from(weights).flatmap(family.__getitem__)


def batches() -> st.SearchStrategy[tuple[list[bytes], int]]:
    """A few hostile records and the partition (0-2) they all go to."""
    return st.tuples(st.lists(hostile_records(), min_size=1, max_size=4), st.integers(0, 2))


def generate(strategy: st.SearchStrategy[T], count: int, random_seed: int | None = None) -> list[T]:
    """``count`` values drawn by Hypothesis up front (no shrinking: nothing fails here).

    Drawing before publishing keeps Hypothesis's engine away from the running services
    (their use of ``random`` would look like a strategy using global randomness).
    """
    found: list[T] = []

    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(value: T) -> None:
        found.append(value)

    if random_seed is not None:
        collect = seed(random_seed)(collect)
    collect()
    return found
