"""The compiled sketch is the numpy one: same bins, same densification, distinct count."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from newsalert.dedupe.fingerprint import ProbeOrder, _hashes, _sketch
from newsalert.dedupe.sketchjit import sketch_into


def _both(items: set[str], bins: int) -> tuple[list[int], int, list[int] | None, int]:
    hashes = _hashes(items, len(items))
    expected = _sketch(hashes.copy(), ProbeOrder(bins))
    out = np.empty(bins, dtype=np.uint64)
    distinct = sketch_into(hashes.copy(), ProbeOrder(bins).array(), out)
    return out.tolist(), distinct, expected, len(set(hashes.tolist()))


# No deadline: the first call compiles the kernel (or loads it from numba's cache).
@settings(max_examples=300, deadline=None)
@given(
    items=st.sets(st.text(max_size=12), min_size=1, max_size=300),
    bins=st.integers(1, 130),
)
def test_compiled_sketch_equals_the_numpy_one(items: set[str], bins: int) -> None:
    got, distinct, expected, count = _both(items, bins)
    assert got == expected
    assert distinct == count


def test_compiled_densification_beyond_the_precomputed_probes() -> None:
    # Two filled bins of 256: now and then an empty bin misses both in all 1,024
    # precomputed probes and continues its sequence one probe at a time.
    for number in range(60):
        got, distinct, expected, _ = _both({f"a{number}", f"b{number}"}, 256)
        assert got == expected
        assert distinct == 2


def test_repeated_hashes_count_once() -> None:
    hashes = np.array([5, 7, 5, 5, 9, 7], dtype=np.uint64)
    out = np.empty(4, dtype=np.uint64)
    assert sketch_into(hashes, ProbeOrder(4).array(), out) == 3
