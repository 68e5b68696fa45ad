"""Strict JSON for records from outside: what later stages cannot handle is refused here.

``json.loads`` accepts input that only fails later, far from the record that caused it:
escaped lone surrogates (``"\\ud800"``) become ``str`` values that cannot be encoded as
UTF-8 when a key, an alert or a log line is written; nesting a few thousand levels deep
raises ``RecursionError``; an integer of 5,000 digits raises ``ValueError``; ``NaN``,
``Infinity`` and ``1e999`` are not JSON numbers other consumers can read; a duplicated key
silently keeps the last value. :func:`loads_strict` refuses all of these with a
:class:`~newsalert.errors.RecordError` whose ``kind`` names the rule broken, so the record
goes to a DLQ with a reason instead of surprising the code after it.

Pure: no I/O. The checks cost one object hook per JSON object and one walk over the
parsed containers; strings are scanned for surrogates only when the raw text holds a
``\\u`` escape, the only way a strictly decoded UTF-8 text can contain one.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from newsalert.errors import RecordError

#: Deepest nesting accepted (the top-level object or array is level 1).
MAX_DEPTH = 32
#: An integer literal longer than this cannot fit a float and is not converted at all.
_MAX_INT_CHARS = 310
_FLOAT_MAX = sys.float_info.max
#: Longest piece of input quoted in a reason (the reason travels in a Kafka header).
_QUOTE_CHARS = 40


def shown(text: str, limit: int = _QUOTE_CHARS) -> str:
    """``text`` cut to ``limit`` characters, unprintable ones escaped: safe in a header or log."""
    short = text if len(text) <= limit else text[:limit] + "…"
    if short.isprintable():
        return short
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in short)


def _has_surrogate(text: str) -> bool:
    # Encoding is C-speed; only text with a lone surrogate fails it.
    if text.isascii():
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return True
    return False


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                raise RecordError(f"duplicate key '{shown(key)}'", "duplicate-key")
            seen.add(key)
    return result


def _int(literal: str) -> int:
    if len(literal) > _MAX_INT_CHARS or abs(value := int(literal)) > _FLOAT_MAX:
        raise RecordError(
            f"integer of {len(literal.lstrip('-'))} digits is outside the float range",
            "number-out-of-range",
        )
    return value


def _float(literal: str) -> float:
    value = float(literal)
    if value in (float("inf"), float("-inf")):
        reason = f"number '{shown(literal)}' is outside the float range"
        raise RecordError(reason, "number-out-of-range")
    return value


def _constant(name: str) -> float:
    raise RecordError(f"{name} is not a JSON number", "not-a-number")


def loads_strict(raw: bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse UTF-8 JSON ``raw``; raises :class:`RecordError` for anything refused above."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecordError(f"not UTF-8: {exc.reason} at byte {exc.start}", "not-utf8") from exc
    try:
        data = json.loads(
            text,
            object_pairs_hook=_object,
            parse_int=_int,
            parse_float=_float,
            parse_constant=_constant,
        )
    except RecursionError:
        raise RecordError(f"nested deeper than {max_depth} levels", "too-deep") from None
    except json.JSONDecodeError as exc:
        raise RecordError(
            f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", "invalid-json"
        ) from exc
    _walk(data, max_depth, strings="\\u" in text)
    return data


def _walk(data: Any, max_depth: int, *, strings: bool) -> None:
    """Check nesting depth and (when ``strings``) lone surrogates, without recursion."""
    stack: list[tuple[Any, int, str]] = [(data, 1, "$")]
    while stack:
        value, depth, where = stack.pop()
        if isinstance(value, str):
            if strings and _has_surrogate(value):
                raise RecordError(f"lone surrogate in {shown(where, 80)}", "lone-surrogate")
            continue
        if isinstance(value, dict):
            if strings:
                for key in value:
                    if _has_surrogate(key):
                        reason = f"lone surrogate in the key '{shown(key)}' at {shown(where, 80)}"
                        raise RecordError(reason, "lone-surrogate")
            items: Any = value.items()
            template = "{}.{}"
        elif isinstance(value, list):
            items = enumerate(value)
            template = "{}[{}]"
        else:
            continue
        if depth > max_depth:
            reason = f"nested deeper than {max_depth} levels at {shown(where, 80)}"
            raise RecordError(reason, "too-deep")
        for key, child in items:
            if isinstance(child, (dict, list)) or (strings and isinstance(child, str)):
                # Paths only name where a problem is; a key's first characters are enough.
                stack.append((child, depth + 1, template.format(where, str(key)[:_QUOTE_CHARS])))
