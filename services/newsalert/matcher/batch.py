"""How FastStream hands the matcher a batch: raw records, parsed as little as possible.

FastStream's default decoder runs ``json.loads`` on every record when no content type is
set and only suppresses ``JSONDecodeError``: JSON nested thousands deep (``RecursionError``)
or an integer of thousands of digits (``ValueError``) raised before the handler ran, so
the batch was nacked and retried forever. Its parser decodes every header value as UTF-8,
so one record with a non-UTF-8 header did the same. The matcher decodes records itself
(:mod:`newsalert.pipeline.decode`), so the decoder here hands over the bytes untouched, and
the parser retries with undecodable header values blanked (headers are not used).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import ConsumerRecord

Batch = tuple[ConsumerRecord[bytes, bytes], ...]


async def keep_bytes(message: Any) -> Any:
    """Decoder: the record values as they came (the handler reads ``raw_message``)."""
    return message.body


def _utf8(value: bytes | None) -> bool:
    try:
        (value or b"").decode()
    except UnicodeDecodeError:
        return False
    return True


async def tolerate_headers(records: Batch, original: Callable[[Batch], Awaitable[Any]]) -> Any:
    """Parser: FastStream's own, with header values that are not UTF-8 blanked first."""
    if all(_utf8(value) for record in records for _key, value in record.headers):
        return await original(records)
    cleaned = tuple(
        dataclasses.replace(
            record,
            headers=[(key, value if _utf8(value) else b"") for key, value in record.headers],
        )
        for record in records
    )
    return await original(cleaned)
