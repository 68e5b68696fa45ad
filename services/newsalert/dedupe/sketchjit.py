"""The MinHash sketch's machine code: bin minima, densification and the distinct count
of one article's shingle hashes in one numba call.

:func:`newsalert.dedupe.fingerprint.fingerprint` calls it for every fingerprinted
article; it does what :func:`newsalert.dedupe.fingerprint._sketch` does with numpy calls
and a Python loop over the empty bins (the reference, kept for :func:`~newsalert.dedupe.
fingerprint.sketch` and the tests), without the per-call overhead of a dozen numpy
operations on a few hundred values. Compiled on first call, or loaded from numba's disk
cache.
"""

from __future__ import annotations

from pathlib import Path

import numba
import numpy as np
from numpy.typing import NDArray

from newsalert.jitcache import cache_where_writable

_EMPTY = np.uint64(0xFFFFFFFFFFFFFFFF)


cache_where_writable(numba.config, Path(__file__).parent)  # before the first compile
_JIT = numba.njit(cache=True, nogil=True)


@_JIT
def _mix(value: np.uint64) -> np.uint64:  # pragma: no cover - compiled
    """``fingerprint._mix`` (splitmix64) in uint64 arithmetic, which wraps like the mask."""
    value = value + np.uint64(0x9E3779B97F4A7C15)
    value = (value ^ (value >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    value = (value ^ (value >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return value ^ (value >> np.uint64(31))


@_JIT
def _sketch_into(
    hashes: NDArray[np.uint64], probes: NDArray[np.int64], out: NDArray[np.uint64]
) -> int:  # pragma: no cover - compiled
    bins = out.size
    width = np.uint64(bins)
    for slot in range(bins):
        out[slot] = _EMPTY
    for value in hashes:
        slot = value % width
        value = value // width
        if value < out[slot]:
            out[slot] = value
    if bins > 1:
        minima = out.copy()
        for slot in range(bins):
            if minima[slot] != _EMPTY:
                continue
            found = _EMPTY
            for attempt in range(probes.shape[1]):
                found = minima[probes[slot, attempt]]
                if found != _EMPTY:
                    break
            attempt = probes.shape[1]
            while found == _EMPTY:  # only for sets far smaller than ``bins``
                attempt += 1
                found = minima[
                    _mix((np.uint64(slot) << np.uint64(32)) | np.uint64(attempt)) % width
                ]
            out[slot] = found
    hashes.sort()
    distinct = 1
    for index in range(1, hashes.size):
        if hashes[index] != hashes[index - 1]:
            distinct += 1
    return distinct


def sketch_into(
    hashes: NDArray[np.uint64], probes: NDArray[np.int64], out: NDArray[np.uint64]
) -> int:
    """Fill ``out`` (one slot per bin) with the densified one-permutation MinHash of
    ``hashes`` (not empty), exactly as ``fingerprint._sketch``; ``probes[slot]`` is the
    slot's borrowing order (``fingerprint.ProbeOrder.array``). Sorts ``hashes`` in place and
    returns how many distinct values it holds."""
    return int(_sketch_into(hashes, probes, out))
