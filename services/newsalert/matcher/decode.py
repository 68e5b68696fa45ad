"""Turn one input record into an :class:`Article`, or say exactly why it can't be one."""

from __future__ import annotations

import json

from pydantic import ValidationError

from newsalert.errors import ArticleError
from newsalert.models import Article


def decode_article(value: bytes | None, max_bytes: int) -> Article:
    """Parse and validate a JSON article; raises :class:`ArticleError` with a one-line reason."""
    if value is None:
        raise ArticleError("empty record (no value)")
    if len(value) > max_bytes:
        raise ArticleError(f"record is {len(value)} bytes, over the {max_bytes}-byte limit")
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ArticleError(f"not UTF-8: {exc.reason} at byte {exc.start}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ArticleError(
            f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    if not isinstance(data, dict):
        raise ArticleError(f"expected a JSON object, got {type(data).__name__}")
    try:
        return Article.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "article"
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ArticleError(f"{where}: {first['msg']}{more}") from exc
