"""The shingle hashes of an article in one numba call: XXH3-64 of each word window.

The near-duplicate fingerprint hashes every word ``k``-shingle of every sentence: the
XXH3-64 digest (seed 0, default secret) of the window's words joined by single spaces,
UTF-8 encoded (``fingerprint._shingle_list`` and ``_hashes``, the reference). Building
each window's string and hashing it in Python is most of the fingerprint's cost. Here
the article's words are joined once, into one UTF-8 buffer with every word's byte
offsets, and this module computes XXH3-64 over each window's bytes of that buffer: the
same bytes, so the same hashes, without a string per shingle.

Only inputs of at most 240 bytes are implemented (XXH3's short and mid-size paths);
:func:`shingle_hashes` returns ``None`` for an article with a window longer than that,
and the caller uses the reference path. Compiled on first call, or loaded from numba's
disk cache. Tested against ``xxhash.xxh3_64_intdigest`` for every length up to 240.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from pathlib import Path

import numba
import numpy as np
from numpy.typing import NDArray

from newsalert.jitcache import cache_where_writable
from newsalert.text import Sentence

cache_where_writable(numba.config, Path(__file__).parent)  # before the first compile
_JIT = numba.njit(cache=True, nogil=True)

#: The longest input the compiled XXH3 handles (its mid-size path's limit).
MAX_INPUT = 240

_SECRET = np.frombuffer(
    bytes.fromhex(
        "b8fe6c3923a44bbe7c01812cf721ad1cded46de9839097db7240a4a4b7b3671f"
        "cb79e64eccc0e578825ad07dccff7221b8084674f743248ee03590e6813a264c"
        "3c2852bb91c300cb88d0658b1b532ea371644897a20df94e3819ef46a9deacd8"
        "a8fa763fe39c343ff9dcbbc7c70b4f1d8a51e04bcdb45931c89f7ec9d9787364"
        "eac5ac8334d3ebc3c581a0fffa1363eb170ddd51b7f0da49d316552629d4689e"
        "2b16be587d47a1fc8ff8b8d17ad031ce45cb3a8f95160428afd7fbcabb4b407e"
    ),
    dtype=np.uint8,
)

_P64_1 = np.uint64(0x9E3779B185EBCA87)
_P64_2 = np.uint64(0xC2B2AE3D27D4EB4F)
_P64_3 = np.uint64(0x165667B19E3779F9)
_MX1 = np.uint64(0x165667919E3779F9)
_MX2 = np.uint64(0x9FB21C651E98DF25)
_LOW32 = np.uint64(0xFFFFFFFF)


@_JIT
def _read(data: NDArray[np.uint8], at: int, width: int) -> np.uint64:  # pragma: no cover
    """The ``width`` bytes at ``at`` as a little-endian unsigned integer (compiled)."""
    value = np.uint64(0)
    for offset in range(width - 1, -1, -1):
        value = (value << np.uint64(8)) | np.uint64(data[at + offset])
    return value


@_JIT
def _fold_mul(left: np.uint64, right: np.uint64) -> np.uint64:  # pragma: no cover - compiled
    """The 128-bit product of ``left`` and ``right``, its high and low halves xored."""
    left_lo, left_hi = left & _LOW32, left >> np.uint64(32)
    right_lo, right_hi = right & _LOW32, right >> np.uint64(32)
    lo_lo = left_lo * right_lo
    hi_lo = left_hi * right_lo
    lo_hi = left_lo * right_hi
    hi_hi = left_hi * right_hi
    cross = (lo_lo >> np.uint64(32)) + (hi_lo & _LOW32) + lo_hi
    upper = (hi_lo >> np.uint64(32)) + (cross >> np.uint64(32)) + hi_hi
    lower = (cross << np.uint64(32)) | (lo_lo & _LOW32)
    return lower ^ upper


@_JIT
def _rotl(value: np.uint64, bits: int) -> np.uint64:  # pragma: no cover - compiled
    return (value << np.uint64(bits)) | (value >> np.uint64(64 - bits))


@_JIT
def _xxh64_avalanche(value: np.uint64) -> np.uint64:  # pragma: no cover - compiled
    value ^= value >> np.uint64(33)
    value *= _P64_2
    value ^= value >> np.uint64(29)
    value *= _P64_3
    return value ^ (value >> np.uint64(32))


@_JIT
def _avalanche(value: np.uint64) -> np.uint64:  # pragma: no cover - compiled
    value ^= value >> np.uint64(37)
    value *= _MX1
    return value ^ (value >> np.uint64(32))


@_JIT
def _rrmxmx(value: np.uint64, length: int) -> np.uint64:  # pragma: no cover - compiled
    value ^= _rotl(value, 49) ^ _rotl(value, 24)
    value *= _MX2
    value ^= (value >> np.uint64(35)) + np.uint64(length)
    value *= _MX2
    return value ^ (value >> np.uint64(28))


@_JIT
def _mix16(
    data: NDArray[np.uint8], at: int, secret: NDArray[np.uint8], key: int
) -> np.uint64:  # pragma: no cover - compiled
    return _fold_mul(
        _read(data, at, 8) ^ _read(secret, key, 8),
        _read(data, at + 8, 8) ^ _read(secret, key + 8, 8),
    )


@_JIT
def _xxh3(
    data: NDArray[np.uint8], at: int, length: int, secret: NDArray[np.uint8]
) -> np.uint64:  # pragma: no cover - compiled
    """XXH3-64 (seed 0) of ``data[at:at + length]``, ``length`` at most 240."""
    if length == 0:
        return _xxh64_avalanche(_read(secret, 56, 8) ^ _read(secret, 64, 8))
    if length <= 3:
        first = np.uint64(data[at])
        middle = np.uint64(data[at + (length >> 1)])
        last = np.uint64(data[at + length - 1])
        combined = (
            (first << np.uint64(16))
            | (middle << np.uint64(24))
            | last
            | (np.uint64(length) << np.uint64(8))
        )
        return _xxh64_avalanche(combined ^ (_read(secret, 0, 4) ^ _read(secret, 4, 4)))
    if length <= 8:
        head = _read(data, at, 4)
        tail = _read(data, at + length - 4, 4)
        keyed = (tail + (head << np.uint64(32))) ^ (_read(secret, 8, 8) ^ _read(secret, 16, 8))
        return _rrmxmx(keyed, length)
    if length <= 16:
        low = _read(data, at, 8) ^ (_read(secret, 24, 8) ^ _read(secret, 32, 8))
        high = _read(data, at + length - 8, 8) ^ (_read(secret, 40, 8) ^ _read(secret, 48, 8))
        swapped = np.uint64(0)
        for shift in range(8):
            byte = (low >> np.uint64(8 * shift)) & np.uint64(0xFF)
            swapped |= byte << np.uint64(56 - 8 * shift)
        return _avalanche(np.uint64(length) + swapped + high + _fold_mul(low, high))
    acc = np.uint64(length) * _P64_1
    if length <= 128:
        if length > 32:
            if length > 64:
                if length > 96:
                    acc += _mix16(data, at + 48, secret, 96)
                    acc += _mix16(data, at + length - 64, secret, 112)
                acc += _mix16(data, at + 32, secret, 64)
                acc += _mix16(data, at + length - 48, secret, 80)
            acc += _mix16(data, at + 16, secret, 32)
            acc += _mix16(data, at + length - 32, secret, 48)
        acc += _mix16(data, at, secret, 0)
        acc += _mix16(data, at + length - 16, secret, 16)
        return _avalanche(acc)
    for index in range(8):
        acc += _mix16(data, at + 16 * index, secret, 16 * index)
    acc = _avalanche(acc)
    for index in range(8, length // 16):
        acc += _mix16(data, at + 16 * index, secret, 16 * (index - 8) + 3)
    acc += _mix16(data, at + length - 16, secret, 136 - 17)
    return _avalanche(acc)


@_JIT
def _window_hashes(
    data: NDArray[np.uint8],
    lengths: NDArray[np.int64],
    sizes: NDArray[np.int64],
    words: int,
    secret: NDArray[np.uint8],
    out: NDArray[np.uint64],
) -> int:  # pragma: no cover - compiled
    """Fill ``out`` with the hash of every window; their number, or -1 when a window is
    longer than ``MAX_INPUT`` bytes. ``data``: the words joined by single spaces,
    ``lengths``: each word's bytes, ``sizes``: the words of each sentence in turn."""
    starts = np.empty(lengths.size, dtype=np.int64)
    position = 0
    for word in range(lengths.size):
        starts[word] = position
        position += lengths[word] + 1
    count = 0
    first = 0
    for size in sizes:
        stop = first + size
        if size <= words:
            if size > 1:
                length = starts[stop - 1] + lengths[stop - 1] - starts[first]
                if length > MAX_INPUT:
                    return -1
                out[count] = _xxh3(data, starts[first], length, secret)
                count += 1
        else:
            for word in range(first, stop - words + 1):
                last = word + words - 1
                length = starts[last] + lengths[last] - starts[word]
                if length > MAX_INPUT:
                    return -1
                out[count] = _xxh3(data, starts[word], length, secret)
                count += 1
        first = stop
    return count


def xxh3_64(data: bytes) -> int:
    """XXH3-64 (seed 0) of ``data`` (at most :data:`MAX_INPUT` bytes), compiled."""
    if len(data) > MAX_INPUT:
        raise ValueError(f"at most {MAX_INPUT} bytes")
    buffer = np.frombuffer(data, dtype=np.uint8) if data else np.zeros(1, dtype=np.uint8)
    return int(_xxh3(buffer, 0, len(data), _SECRET))


def shingle_hashes(parts: Sequence[Sentence], words: int) -> NDArray[np.uint64] | None:
    """The hash of every word ``words``-shingle of ``parts``, as the reference computes
    them (same values; order and repeats do not matter to the sketch); ``None`` when a
    window would be longer than :data:`MAX_INPUT` bytes."""
    flat = list(chain.from_iterable(parts))
    if not flat:
        return np.empty(0, dtype=np.uint64)
    text = " ".join(flat)
    if text.isascii():
        data = text.encode("ascii")
        lengths = np.fromiter(map(len, flat), dtype=np.int64, count=len(flat))
    else:
        data = text.encode()
        lengths = np.fromiter(map(len, map(str.encode, flat)), dtype=np.int64, count=len(flat))
    sizes = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
    out = np.empty(len(flat), dtype=np.uint64)
    count = _window_hashes(np.frombuffer(data, dtype=np.uint8), lengths, sizes, words, _SECRET, out)
    return None if count < 0 else out[:count]
