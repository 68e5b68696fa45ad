"""CPU cost per article of the dedupe store and of the whole pipeline step that feeds it.

Two figures per corpus (BBC, Reuters-21578), CPU microseconds per article, best of
``--repeat`` passes, each pass on a fresh store:

* **dedupe store**: ``MemoryDedupe.check_articles`` + ``commit_batch`` in batches of 64
  (sentences, exact digests, edge sentences, fingerprint, bands);
* **pipeline step**: ``ArticlePipeline.process_batch`` + ``commit_batch`` (dedupe check,
  match against ``--rules`` generated rules, claim, commit): what the matcher and the
  backtest run per article, where an article's text is cut for matching and for dedupe.

Only APIs every recent tree has, so ``PYTHONPATH=<other tree>/services`` prints the same
figures for another version of the code; run both in one session to compare.

    .venv/bin/python bench/dedupe_article.py [--rules 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.rule_generator
sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import corpus_dir
from tests.rule_generator import RuleGenerator, Vocabulary

from newsalert.config import load_config
from newsalert.dedupe import MemoryDedupe
from newsalert.models import Article
from newsalert.pipeline.decode import decode_article
from newsalert.pipeline.step import ArticlePipeline
from newsalert.rules import CompiledRules

T0 = datetime(2026, 3, 1, tzinfo=UTC)
CORPORA = {"bbc": 2225, "reuters21578": 5000}


def read(name: str, limit: int) -> list[Article] | None:
    """The first ``limit`` articles of one corpus file, decoded as the matcher does."""
    path = corpus_dir() / f"{name}.jsonl.gz"
    if not path.exists():
        return None
    with gzip.open(path, "rb") as stream:
        return [decode_article(line.strip(), 1_000_000) for line in stream][:limit]


def best_cpu(run: Callable[[], Awaitable[None]], repeat: int) -> float:
    """The lowest CPU seconds of ``repeat`` runs."""
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        asyncio.run(run())
        best = min(best, time.process_time() - started)
    return best


Batch = list[tuple[Article, datetime]]


async def store_only(batches: list[Batch]) -> None:
    """Check and commit every batch on a fresh store."""
    store = MemoryDedupe()
    for batch in batches:
        verdicts = await store.check_articles(batch)
        await store.commit_batch([(v, []) for v in verdicts if not v.duplicate])


async def step(batches: list[Batch], compiled: CompiledRules) -> None:
    """Run every batch through the pipeline step (fresh store) and commit it."""
    pipeline = ArticlePipeline(
        rules=lambda: compiled, dedupe=MemoryDedupe(), repeat_interval=timedelta(hours=24)
    )
    for batch in batches:
        await pipeline.commit_batch(await pipeline.process_batch(batch))


def main() -> int:
    """Print one markdown table row per corpus."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=1000, help="generated rules (seed 6)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    corpora = {name: read(name, limit) for name, limit in CORPORA.items()}
    reuters = corpora["reuters21578"]
    if reuters is None:
        print(f"corpus not found in {corpus_dir()}; nothing to measure")
        return 0
    rules = RuleGenerator(Vocabulary.of(reuters), seed=6).rules(args.rules)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "rules.yaml"
        path.write_text(yaml.safe_dump({"version": 1, "rules": rules}), encoding="utf-8")
        compiled = load_config(path).rules.compile()
    print(f"CPU us per article, best of {args.repeat}; {args.rules} generated rules\n")
    print("| corpus | articles | dedupe store | pipeline step |")
    print("|---|---|---|---|")
    for name, articles in corpora.items():
        if articles is None:
            continue
        items = [
            (article, article.published_at or T0 + timedelta(minutes=number))
            for number, article in enumerate(articles)
        ]
        batches = [items[start : start + 64] for start in range(0, len(items), 64)]

        store_us = best_cpu(partial(store_only, batches), args.repeat) / len(items) * 1e6
        step_us = best_cpu(partial(step, batches, compiled), args.repeat) / len(items) * 1e6
        print(f"| {name} | {len(items)} | {store_us:.0f} | {step_us:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
