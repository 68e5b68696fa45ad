"""Turn one input record into an :class:`Article`, or say exactly why it can't be one.

The edge of the matcher: everything a later stage could choke on is refused here with a
reason and a ``kind`` (see :mod:`newsalert.strict_json` for the JSON rules), so a record
that reaches the pipeline is one it can handle.
"""

from __future__ import annotations

from pydantic import ValidationError

from newsalert.errors import ArticleError, RecordError
from newsalert.models import Article
from newsalert.strict_json import loads_strict, shown


def decode_article(value: bytes | None, max_bytes: int) -> Article:
    """Parse and validate a JSON article; raises :class:`ArticleError` with a one-line reason."""
    if value is None:
        raise ArticleError("empty record (no value)", "empty")
    if len(value) > max_bytes:
        raise ArticleError(
            f"record is {len(value)} bytes, over the {max_bytes}-byte limit", "too-large"
        )
    try:
        data = loads_strict(value)
    except RecordError as exc:
        raise ArticleError(exc.reason, exc.kind) from exc
    if not isinstance(data, dict):
        raise ArticleError(f"expected a JSON object, got {type(data).__name__}", "not-an-object")
    try:
        return Article.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = shown(".".join(str(part) for part in first["loc"]) or "article")
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ArticleError(f"{where}: {shown(first['msg'], 200)}{more}") from exc
