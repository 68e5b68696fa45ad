"""MemoryDedupe: a batch decides exactly what one-by-one processing decides."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings

from newsalert.dedupe import MemoryDedupe
from tests.unit.dedupe.batch_parity import Item, batched, one_by_one, streams


@settings(max_examples=60, deadline=None)
@given(streams)
def test_batches_decide_like_one_by_one(stream: list[list[Item]]) -> None:
    sequential = asyncio.run(one_by_one(MemoryDedupe(), stream))
    assert asyncio.run(batched(MemoryDedupe(), stream)) == sequential
