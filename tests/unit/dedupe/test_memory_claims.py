"""MemoryDedupe's one-pass claims decide what the general, item-by-item path decides."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from newsalert.dedupe import MemoryDedupe
from newsalert.dedupe.contract import (
    AlertClaim,
    AlertKey,
    ArticleVerdict,
    ClaimRequest,
    claim_in_order,
)
from newsalert.dedupe.memory import _new_claim

T0 = datetime(2026, 3, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)

keys = st.builds(
    AlertKey, st.sampled_from(["r1", "r2", "r3"]), st.sampled_from([None, HOUR, 2 * HOUR])
)
requests = st.builds(
    ClaimRequest,
    st.sampled_from(["s1", "s2"]),
    st.lists(st.one_of(keys, st.sampled_from(["r1", "r2"])), max_size=5),
    st.integers(0, 5).map(lambda hours: T0 + hours * HOUR),
    st.sampled_from([HOUR, 3 * HOUR]),
    st.sampled_from(["own-a", "own-b", "own-c"]),
)


def test_a_claim_built_by_slots_equals_the_dataclass() -> None:
    fields = ("r", "s", True, 2, 1, "alrt_x", T0, HOUR, "tok", HOUR)
    built, plain = _new_claim(*fields), AlertClaim(*fields)
    assert type(built) is AlertClaim
    assert built == plain
    assert hash(built) == hash(plain)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(requests, max_size=4), max_size=4))
def test_one_pass_claims_equal_the_general_path(batches: list[list[ClaimRequest]]) -> None:
    """Batches of claims, each committed: same claims, same groups afterwards."""

    async def run(store: MemoryDedupe, general: bool) -> list[list[list[AlertClaim]]]:
        out = []
        for batch in batches:
            if general:
                claims = await claim_in_order(batch, store._claim_items, store.config)
            else:
                claims = await store.claim_batch(batch)
            out.append(claims)
            await store.commit_batch(
                [
                    (ArticleVerdict("a", False, r.story_id, None, r.event_time, ""), made)
                    for r, made in zip(batch, claims, strict=True)
                ]
            )
        return out

    fast_store, general_store = MemoryDedupe(clock=lambda: 0.0), MemoryDedupe(clock=lambda: 0.0)
    fast = asyncio.run(run(fast_store, general=False))
    general = asyncio.run(run(general_store, general=True))
    assert fast == general
    assert fast_store._groups == general_store._groups


async def test_a_live_lease_of_another_owner_takes_the_general_path() -> None:
    """The one-pass path gives way to the polling one: the second owner waits for the
    first owner's lease and then folds into its committed alert."""
    store = MemoryDedupe()
    first = await store.claim_batch([ClaimRequest("s", ["r"], T0, HOUR, owner="a")])
    assert first[0][0].send

    async def commit_soon() -> None:
        await asyncio.sleep(0.05)
        await store.commit_batch([(ArticleVerdict("a", False, "s", None, T0, ""), first[0])])

    committing = asyncio.create_task(commit_soon())
    second = await store.claim_batch([ClaimRequest("s", ["r"], T0, HOUR, owner="b")])
    await committing
    assert not second[0][0].send
