"""Strict JSON refuses what later stages cannot handle, with a kind and a bounded reason."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsalert.errors import RecordError
from newsalert.strict_json import MAX_DEPTH, loads_strict, shown


def _nested(depth: int) -> bytes:
    return ("[" * depth + "]" * depth).encode()


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (b'{"url": "\\ud800"}', "lone-surrogate"),
        (b'{"a": ["x", {"b": "\\udfff"}]}', "lone-surrogate"),
        (b'"\\ud800"', "lone-surrogate"),
        (b'{"\\ud800": 1}', "lone-surrogate"),
        (b'{"id": "a", "id": "b"}', "duplicate-key"),
        (b'{"x": {"k": 1, "k": 1}}', "duplicate-key"),
        (_nested(MAX_DEPTH + 1), "too-deep"),
        (_nested(5000), "too-deep"),  # deeper than the interpreter's recursion limit
        (b'{"n": ' + b"9" * 5000 + b"}", "number-out-of-range"),  # > int str digits limit
        (b'{"n": -' + b"1" * 400 + b"}", "number-out-of-range"),
        (b'{"n": 1e999}', "number-out-of-range"),
        (b'{"n": -1e400}', "number-out-of-range"),
        (b'{"n": NaN}', "not-a-number"),
        (b'{"n": Infinity}', "not-a-number"),
        (b'{"n": -Infinity}', "not-a-number"),
        (b"{not json", "invalid-json"),
        (b"\xff\xfe", "not-utf8"),
        (b'{"t": "\xed\xa0\x80"}', "not-utf8"),  # a surrogate encoded as UTF-8 bytes
    ],
)
def test_refused_with_a_kind(raw: bytes, kind: str) -> None:
    with pytest.raises(RecordError) as caught:
        loads_strict(raw)
    assert caught.value.kind == kind
    assert caught.value.reason
    caught.value.reason.encode()  # always valid UTF-8 (it travels in a Kafka header)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"t": "\\ud83d\\ude00"}', {"t": "\U0001f600"}),  # an escaped pair is one character
        (_nested(MAX_DEPTH), json.loads(_nested(MAX_DEPTH))),
        (b'{"n": ' + b"9" * 308 + b"}", {"n": int("9" * 308)}),
        (b'{"n": 1e308, "m": 1e-400}', {"n": 1e308, "m": 0.0}),
        (b'{"a": {"k": 1}, "b": {"k": 2}}', {"a": {"k": 1}, "b": {"k": 2}}),
    ],
)
def test_accepted(raw: bytes, expected: object) -> None:
    assert loads_strict(raw) == expected


def test_reason_quotes_input_bounded_and_escaped() -> None:
    with pytest.raises(RecordError) as caught:
        loads_strict(('{"' + "\u202e" * 10_000 + '": 1, "' + "\u202e" * 10_000 + '": 2}').encode())
    assert caught.value.kind == "duplicate-key"
    assert len(caught.value.reason) < 500
    assert "\u202e" not in caught.value.reason
    assert shown("a\ud800b\nc") == "a\\ud800b\\nc"


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec=None, exclude_categories=()) | st.characters(categories=["Cs"])),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)


def _parse(raw: bytes) -> object:
    """The parsed value, or the RecordError raised (any other exception fails the test)."""
    try:
        return loads_strict(raw)
    except RecordError as exc:
        return exc


@given(_json_values, st.booleans())
def test_whatever_is_accepted_can_be_written_back_as_utf8_json(value: object, ascii_: bool) -> None:
    parsed = _parse(json.dumps(value, ensure_ascii=ascii_).encode("utf-8", "surrogatepass"))
    if isinstance(parsed, RecordError):
        assert parsed.kind in {"lone-surrogate", "not-utf8"}
        return
    json.dumps(parsed, ensure_ascii=False, allow_nan=False).encode()
    assert parsed == value


@given(st.binary(max_size=300))
def test_any_bytes_parse_or_raise_a_record_error(raw: bytes) -> None:
    parsed = _parse(raw)
    if isinstance(parsed, RecordError):
        assert parsed.kind
        assert parsed.reason
