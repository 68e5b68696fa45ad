"""Concurrent calls share one batched call; each caller gets its own result or error."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from newsalert.dispatcher.coalesce import Coalescer


async def test_calls_of_one_loop_turn_share_a_batch_and_get_their_own_results() -> None:
    batches: list[list[int]] = []

    async def double(items: Sequence[int]) -> list[int]:
        batches.append(list(items))
        return [item * 2 for item in items]

    coalescer: Coalescer[int, int] = Coalescer(double)
    results = await asyncio.gather(*(coalescer.submit(n) for n in range(5)))
    assert results == [0, 2, 4, 6, 8]
    assert batches == [[0, 1, 2, 3, 4]]


async def test_calls_made_while_a_batch_runs_form_the_next_batch() -> None:
    batches: list[list[int]] = []
    gate = asyncio.Event()

    async def held(items: Sequence[int]) -> list[int]:
        batches.append(list(items))
        await gate.wait()
        return list(items)

    coalescer: Coalescer[int, int] = Coalescer(held, limit=2)
    first = asyncio.gather(*(coalescer.submit(n) for n in range(3)))
    await asyncio.sleep(0)
    later = asyncio.ensure_future(coalescer.submit(9))
    await asyncio.sleep(0)
    gate.set()
    assert await first == [0, 1, 2]
    assert await later == 9
    assert batches == [[0, 1], [2, 9]]


async def test_a_failed_batch_fails_its_calls_only() -> None:
    calls = 0

    async def flaky(items: Sequence[str]) -> list[str]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("redis away")
        return [item.upper() for item in items]

    coalescer: Coalescer[str, str] = Coalescer(flaky)
    failed = await asyncio.gather(
        coalescer.submit("a"), coalescer.submit("b"), return_exceptions=True
    )
    assert all(isinstance(result, ConnectionError) for result in failed)
    assert await coalescer.submit("c") == "C"


async def test_a_wrong_result_count_is_an_error_not_a_hang() -> None:
    async def short(items: Sequence[int]) -> list[int]:
        return []

    coalescer: Coalescer[int, int] = Coalescer(short)
    with pytest.raises(ValueError, match="0 results for 1 items"):
        await coalescer.submit(1)
