"""Dedupe benchmark: story-grouping recall, false merges, Redis memory, cost per article.

Seeded. Reads the corpus from ``../shared/corpus`` (or ``NEWSALERT_CORPUS_DIR``; exits 0
with a note when absent); prints markdown tables for ``docs/benchmarks.md``.

* Syndicated variants of every distinct article: headline rewritten, 10-30 % of the
  sentences dropped or moved, a byline and 1-3 boilerplate lines added; recall = share of
  variants that land in their original's story (target >= 0.95).
* False merges over all pairs of distinct articles (exact duplicates removed): pairs the
  LSH calls near-duplicates (order-free) and pairs that share a story id after the
  grouping run (target <= 0.1 %). The merged pairs are listed so they can be judged.
* The same two figures for 64-bit SimHash at Hamming distance <= 3, for comparison.
* Redis memory per 100k articles and cost per article (MemoryDedupe, RedisDedupe).
* CPU cost of each fingerprint stage per article (``--stages``; functions every scheme
  provides, so ``PYTHONPATH=<other tree>/services`` compares two trees in one session);
  ``--hash-seed N`` shows how far the quality figures move between MinHash seeds
  (helpers: ``bench/dedupe_stages.py``).

Usage: ``.venv/bin/python bench/dedupe.py --help``
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import itertools
import json
import random
import re
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from math import comb
from pathlib import Path

from newsalert.dedupe import DedupeConfig, FingerprintParams, MemoryDedupe
from newsalert.dedupe import fingerprint as fingerprint_module
from newsalert.dedupe.canonical import body_hash
from newsalert.dedupe.fingerprint import fingerprint, shingles
from newsalert.models import Article

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import corpus_dir
from dedupe_redis import measure_redis
from dedupe_stages import stage_costs, use_hash_seed

T0 = datetime(2026, 3, 1, tzinfo=UTC)
DAY = timedelta(hours=24)
SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")
BYLINES = ["By Staff Reporter, with agencies.", "From our correspondent and wire reports."]
FOOTERS = [
    "This article was originally published by a news agency. All rights reserved.",
    "Sign up for our free morning newsletter to get the day's top stories in your inbox.",
    "Follow us on social media for the latest updates throughout the day.",
    "Reporting by the newsroom; editing by the news desk.",
    "Copyright 2026. This material may not be published, broadcast or redistributed.",
    "Have a story tip? Contact our newsroom by email or phone at any time.",
]
HEADLINES = ["Report: {}", "{} - sources", "UPDATE 1-{}", "{}, officials say", "Analysis: {}"]


def load(path: Path) -> list[Article]:
    """The corpus file's articles with the corpus's own exact duplicates removed."""
    seen: set[str | None] = set()
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            art = Article.model_validate(json.loads(line))
            digest = body_hash(art.body)
            if digest is None or digest in seen:
                continue
            seen.add(digest)
            out.append(art)
    return out


def variant(art: Article, number: int, rnd: random.Random) -> Article:
    """A syndicated copy of ``art`` as another outlet would run it."""
    sentences = [s for s in SPLIT.split(art.body) if s.strip()]
    affected = rnd.sample(
        range(len(sentences)), max(1, round(rnd.uniform(0.1, 0.3) * len(sentences)))
    )
    dropped = {i for i in affected if rnd.random() < 0.5}
    moved = [sentences[i] for i in affected if i not in dropped]
    body = [s for i, s in enumerate(sentences) if i not in affected]
    for sentence in moved:
        body.insert(rnd.randrange(len(body) + 1), sentence)
    body = [rnd.choice(BYLINES), *body, *rnd.sample(FOOTERS, rnd.randint(1, 3))]
    return Article(
        id=f"{art.id}-v{number}",
        source=f"outlet-{number}",
        title=rnd.choice(HEADLINES).format(art.title),
        body="\n".join(body),
        url=f"https://outlet{number}.example/{art.id}",
    )


def timeline(
    originals: list[Article], copies: int, rnd: random.Random
) -> list[tuple[datetime, Article, str]]:
    """(article time, article, original id), originals a minute apart, copies within 48 h."""
    events = []
    for i, art in enumerate(originals):
        at = T0 + timedelta(minutes=i)
        events.append((at, art, art.id))
        for n in range(copies):
            events.append(
                (at + timedelta(minutes=rnd.randint(1, 48 * 60)), variant(art, n, rnd), art.id)
            )
    events.sort(key=lambda event: (event[0], event[1].id))
    return events


LENGTHS = ((0, 100), (100, 300), (300, 10**9))


def length_bucket(art: Article) -> str:
    """The word-count bucket of an article, e.g. ``100-300``."""
    words = len(art.body.split())
    low, high = next((lo, hi) for lo, hi in LENGTHS if lo <= words < hi)
    return f"{low}-{high}" if high < 10**9 else f">={low}"


async def grouping(
    params: FingerprintParams, events: list[tuple[datetime, Article, str]]
) -> dict[str, float]:
    """Run the timeline through MemoryDedupe: recall, cross-story merges, false-merge pairs."""
    store = MemoryDedupe(DedupeConfig(fingerprint=params))
    story_of: dict[str, str] = {}
    length_of: dict[str, str] = {}
    grouped = total = cross = 0
    by_length: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0])
    originals_by_story: defaultdict[str, list[str]] = defaultdict(list)
    started = time.perf_counter()
    for at, art, origin in events:
        verdict = await store.check_article(art, at)
        claims = await store.claim_alerts(verdict.story_id, ["rule"], at, DAY)
        await store.commit(verdict, claims)
        if art.id == origin:
            story_of[origin] = verdict.story_id
            length_of[origin] = length_bucket(art)
            originals_by_story[verdict.story_id].append(origin)
            continue
        total += 1
        hit = verdict.story_id == story_of[origin]
        grouped += hit
        by_length[length_of[origin]][0] += hit
        by_length[length_of[origin]][1] += 1
        cross += (
            verdict.story_id in originals_by_story
            and origin not in originals_by_story[verdict.story_id]
        )
    elapsed = time.perf_counter() - started
    merged_pairs = sum(comb(len(ids), 2) for ids in originals_by_story.values())
    n = len(story_of)
    figures = {
        "recall": grouped / total,
        "cross": cross / total,
        "story_pairs": merged_pairs,
        "story_rate": merged_pairs / comb(n, 2),
        "us_per_article": elapsed / len(events) * 1e6,
    }
    for bucket, (hits, count) in sorted(by_length.items()):
        figures[f"recall {bucket} words ({count} copies)"] = hits / count
    return figures


def lsh_pairs(params: FingerprintParams, originals: list[Article]) -> Counter[tuple[int, int]]:
    """Pairs of originals sharing at least ``min_band_hits`` band buckets (order-free)."""
    index: defaultdict[tuple[int, str], list[int]] = defaultdict(list)
    for i, art in enumerate(originals):
        for band, bucket in enumerate(fingerprint(art.body, params).buckets):
            index[(band, bucket)].append(i)
    hits: Counter[tuple[int, int]] = Counter()
    for members in index.values():
        hits.update(itertools.combinations(members, 2))
    return Counter({pair: n for pair, n in hits.items() if n >= params.min_band_hits})


def jaccard(first: set[str], second: set[str]) -> float:
    """Exact Jaccard similarity of two shingle sets."""
    return len(first & second) / len(first | second) if first | second else 0.0


def simhash(items: set[str]) -> int:
    """64-bit SimHash (Charikar) of the shingle hashes, each with weight 1."""
    bits = [hashlib.blake2b(item.encode(), digest_size=8).hexdigest() for item in items]
    bits = [format(int(digest, 16), "064b") for digest in bits]
    half = len(bits) / 2
    return sum(
        1 << (63 - i)
        for i, column in enumerate(zip(*bits, strict=True))
        if column.count("1") > half
    )


def simhash_figures(
    originals: list[Article], events: list[tuple[datetime, Article, str]], words: int
) -> dict[str, float]:
    """Recall of copy vs its original and false-merge pairs at Hamming distance <= 3."""
    sig = {art.id: simhash(shingles(art.body, words)) for art in originals}
    copies = [(art, origin) for _, art, origin in events if art.id != origin]
    near = sum(
        (simhash(shingles(art.body, words)) ^ sig[origin]).bit_count() <= 3
        for art, origin in copies
    )
    values = list(sig.values())
    false_pairs = sum((a ^ b).bit_count() <= 3 for a, b in itertools.combinations(values, 2))
    return {
        "recall": near / len(copies),
        "pairs": false_pairs,
        "rate": false_pairs / comb(len(values), 2),
    }


def candidate_probability(similarity: float, params: FingerprintParams) -> float:
    """P(at least ``min_band_hits`` of ``bands`` bands agree) at a given Jaccard similarity."""
    per_band = similarity**params.rows
    return sum(
        comb(params.bands, k) * per_band**k * (1 - per_band) ** (params.bands - k)
        for k in range(params.min_band_hits, params.bands + 1)
    )


REDIS_COLUMNS = (
    ("articles", 0),
    ("keys_per_article", 1),
    ("mb_per_100k", 0),
    ("memory_us", 0),
    ("redis_us", 0),
    ("redis_8_us", 0),
)


def table(headers: list[str], rows: list[list[str]]) -> None:
    """Print a markdown table and a blank line."""
    print("| " + " | ".join(headers) + " |")
    print("|" + "---|" * len(headers))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()


def show_pairs(
    originals: list[Article], pairs: Counter[tuple[int, int]], params: FingerprintParams, limit: int
) -> None:
    """How similar the LSH-merged pairs of distinct articles really are; list the top ones."""
    if not pairs:
        return
    words = params.shingle_words
    similarity = {
        pair: jaccard(
            shingles(originals[pair[0]].body, words), shingles(originals[pair[1]].body, words)
        )
        for pair in pairs
    }
    genuine = sum(value >= 0.5 for value in similarity.values())
    print(f"LSH-merged pairs of distinct articles: {len(pairs)}; {genuine} of them have exact")
    print(f"shingle Jaccard >= 0.5 (lowest {min(similarity.values()):.2f}). Top {limit}:")
    for (a, b), hits in sorted(pairs.items(), key=lambda item: -item[1])[:limit]:
        first, second = originals[a], originals[b]
        print(f"- {hits} bands, J={similarity[(a, b)]:.2f}: {first.id} {first.title!r}")
        print(f"  / {second.id} {second.title!r}")
    print()


def redis_run(
    args: argparse.Namespace, folder: Path, originals: list[Article], params: FingerprintParams
) -> dict[str, float]:
    """Redis figures over distinct articles of both corpora (a throw-away valkey by default)."""
    others = [name for name in ("bbc", "reuters21578") if name != args.corpus]
    pool = originals + [art for name in others for art in load(folder / f"{name}.jsonl.gz")]
    chosen = itertools.islice(itertools.cycle(pool), args.redis_articles)
    sample = [art.model_copy(update={"id": f"{art.id}#{i}"}) for i, art in enumerate(chosen)]
    return measure_redis(sample, params, args.redis_url)


def params_from(args: argparse.Namespace) -> FingerprintParams:
    """Fingerprint parameters from the command line (defaults: the store's defaults)."""
    return FingerprintParams(
        shingle_words=args.shingle_words,
        bands=args.bands,
        rows=args.rows,
        min_band_hits=args.min_band_hits,
    )


def main() -> int:
    """Parse arguments, run the benchmark, print markdown."""
    defaults = FingerprintParams()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=5, help="random seed (default 5)")
    parser.add_argument(
        "--corpus",
        choices=["bbc", "reuters21578"],
        default="bbc",
        help="corpus for recall and false merges",
    )
    parser.add_argument(
        "--copies", type=int, default=3, help="syndicated variants per article (default 3)"
    )
    parser.add_argument("--shingle-words", type=int, default=defaults.shingle_words)
    parser.add_argument("--bands", type=int, default=defaults.bands)
    parser.add_argument("--rows", type=int, default=defaults.rows)
    parser.add_argument("--min-band-hits", type=int, default=defaults.min_band_hits)
    parser.add_argument("--no-simhash", action="store_true", help="skip the SimHash comparison")
    parser.add_argument(
        "--redis-articles",
        type=int,
        default=20_000,
        help="articles for the Redis figures (0: skip)",
    )
    parser.add_argument(
        "--redis-url", help="use this Redis (it is FLUSHALLed!) instead of a throw-away valkey"
    )
    parser.add_argument("--show-pairs", type=int, default=8, help="merged pairs to list")
    parser.add_argument(
        "--stages",
        type=int,
        default=2000,
        help="articles for the per-stage fingerprint cost table (0: skip)",
    )
    parser.add_argument(
        "--hash-seed",
        type=int,
        default=0,
        help="seed of the per-shingle hash (0: the store's; others show MinHash's spread)",
    )
    parser.add_argument(
        "--stages-only", action="store_true", help="print only the stage cost table"
    )
    args = parser.parse_args()
    folder = corpus_dir()
    if not folder.is_dir():
        print(f"corpus not found at {folder}; nothing to measure (set NEWSALERT_CORPUS_DIR)")
        return 0
    params = params_from(args)
    use_hash_seed(args.hash_seed)
    rnd = random.Random(args.seed)
    originals = load(folder / f"{args.corpus}.jsonl.gz")
    scheme = getattr(fingerprint_module, "FINGERPRINT_SCHEME", 1)
    if args.stages:
        costs = stage_costs(originals[: args.stages], params)
        print(f"fingerprint scheme {scheme}, {min(args.stages, len(originals))} {args.corpus}")
        print("articles, CPU us per article (best of 3):\n")
        table(["stage", "us / article"], [[name, f"{us:.1f}"] for name, us in costs.items()])
    if args.stages_only:
        return 0
    events = timeline(originals, args.copies, rnd)
    print(f"# dedupe benchmark: {args.corpus}, {len(originals)} distinct articles,")
    print(f"{args.copies} syndicated copies each, seed {args.seed}, hash seed {args.hash_seed},")
    print(f"fingerprint scheme {scheme}; {params}\n")
    curve = [f"{candidate_probability(j / 10, params):.3f}" for j in range(2, 9)]
    table(["Jaccard", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8"], [["P(same story)", *curve]])
    group = asyncio.run(grouping(params, events))
    pairs = lsh_pairs(params, originals)
    total = comb(len(originals), 2)
    rows = [
        [
            f"MinHash LSH {params.bands}x{params.rows}, >= {params.min_band_hits} bands",
            f"{group['recall']:.4f}",
            f"{group['cross']:.3%}",
            f"{len(pairs)} / {total} = {len(pairs) / total:.5%}",
            f"{group['story_pairs']:.0f} = {group['story_rate']:.5%}",
        ]
    ]
    if not args.no_simhash:
        sim = simhash_figures(originals, events, params.shingle_words)
        pairs_sim = f"{sim['pairs']:.0f} / {total} = {sim['rate']:.5%}"
        rows.append(["SimHash 64-bit, Hamming <= 3", f"{sim['recall']:.4f}", "-", pairs_sim, "-"])
    headers = ["method", "recall", "copies in a wrong story", "false-merge pairs (LSH)"]
    table([*headers, "false-merge pairs (grouping run)"], rows)
    lengths = [
        f"{name.removeprefix('recall ')}: {value:.4f}"
        for name, value in group.items()
        if name.startswith("recall ")
    ]
    print("recall by length of the original: " + ", ".join(lengths))
    print(f"grouping run through MemoryDedupe: {group['us_per_article']:.0f} us/article\n")
    show_pairs(originals, pairs, params, args.show_pairs)
    if args.redis_articles:
        figures = redis_run(args, folder, originals, params)
        headers = ["articles", "keys / article", "Redis MB / 100k articles", "MemoryDedupe us"]
        table(
            [*headers, "RedisDedupe us (1 worker)", "RedisDedupe us (8 workers)"],
            [[f"{figures[name]:.{digits}f}" for name, digits in REDIS_COLUMNS]],
        )
        print("(per article: check + claim one rule + commit, fingerprint included; loopback)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
