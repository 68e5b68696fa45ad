"""Fingerprint side of ``bench/dedupe.py``: CPU cost per stage and MinHash seed spread.

Uses only functions every fingerprint scheme provides, so the same table runs against
another tree (``PYTHONPATH=<tree>/services``) to compare two versions of the code.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from newsalert.dedupe import fingerprint as fingerprint_module
from newsalert.dedupe.canonical import exact_digests
from newsalert.dedupe.fingerprint import (
    FingerprintParams,
    band_buckets,
    fingerprint,
    sentence_shingles,
    sentences,
    sketch,
)
from newsalert.models import Article


def stage_costs(articles: list[Article], params: FingerprintParams) -> dict[str, float]:
    """CPU microseconds per article of each fingerprint stage (best of 3 passes)."""
    parts = [sentences(art.body or art.title) for art in articles]
    items = [sentence_shingles(p, params.shingle_words) for p in parts]
    signatures = [sig for i in items if (sig := sketch(i, params.bins)) is not None]
    stages: dict[str, Callable[[], object]] = {
        "sentences": lambda: [sentences(art.body or art.title) for art in articles],
        "exact digests": lambda: [exact_digests(art) for art in articles],
        "shingles": lambda: [sentence_shingles(p, params.shingle_words) for p in parts],
        "sketch": lambda: [sketch(i, params.bins) for i in items],
        "band buckets": lambda: [band_buckets(sig, params) for sig in signatures],
        "fingerprint (sentences to buckets)": lambda: [
            fingerprint(art.body or art.title, params) for art in articles
        ],
    }
    costs = {}
    for name, run in stages.items():
        best = float("inf")
        for _ in range(3):
            started = time.process_time()
            run()
            best = min(best, time.process_time() - started)
        costs[name] = best / len(articles) * 1e6
    return costs


def use_hash_seed(seed: int) -> None:
    """Re-seed the per-shingle hash (a different MinHash permutation) to measure the spread.

    ``FINGERPRINT_SCHEME`` 2 or later: XXH3-64 with ``seed``; a tree without that
    constant hashes with blake2b, keyed with it.
    Only for this benchmark; stores always use seed 0.
    """
    if not seed:
        return
    if getattr(fingerprint_module, "FINGERPRINT_SCHEME", 1) >= 2:
        import xxhash

        def seeded(data: bytes) -> int:
            return xxhash.xxh3_64_intdigest(data, seed)
    else:
        key = seed.to_bytes(8, "little")

        def seeded(data: bytes) -> int:
            digest = hashlib.blake2b(data, digest_size=8, key=key).digest()
            return int.from_bytes(digest, "little")

    fingerprint_module._hash64 = seeded  # type: ignore[assignment]
