"""The rule index cold and warm: what learning new articles' tokens costs.

The matcher and the backtest match a stream of articles whose words the index has
mostly not seen yet: each new token gets a row in the index's token table
(``rules/indexing/dockeys.py``) before the compiled kernel can use it. This bench
compiles the rules afresh for every run, matches every article once (cold: the index
learns as it goes) and then once more (warm: every token known), and prints CPU µs per
article of each pass, the difference (the learning) and the matches found. Documents
are normalised before the clock starts; the collector is frozen during the passes, so
the figures are the index's own. Distinct Reuters-21578 articles and dense generated
rules, as in ``bench/e2e.py``.

    .venv/bin/python bench/index_cold.py                           # 10,000 articles, 1,000 rules
    .venv/bin/python bench/index_cold.py --rules 10000 --runs 3
    PYTHONPATH=<tree>/services .venv/bin/python bench/index_cold.py  # another tree, same figures

Skips (exit 0) without the corpus. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.rule_generator
sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import corpus_dir
from tests.rule_generator import dense_generator

from e2e import distinct_reuters
from newsalert.config import load_config
from newsalert.models import Article
from newsalert.rules import CompiledRules, Document
from newsalert.text import Stemmer


def one_run(path: Path, articles: list[Article]) -> tuple[float, float, int]:
    """CPU µs per article of a cold and a warm pass on freshly compiled rules, and the
    matches of the cold pass."""
    compiled: CompiledRules = load_config(path).rules.compile()
    stemmer = Stemmer()
    documents = [Document.from_article(article, stemmer) for article in articles]
    gc.collect()
    gc.freeze()
    try:
        started = time.process_time()
        matches = sum(len(compiled.match(document)) for document in documents)
        cold = time.process_time() - started
        started = time.process_time()
        for document in documents:
            compiled.match(document)
        warm = time.process_time() - started
    finally:
        gc.unfreeze()
    scale = 1e6 / len(articles)
    return cold * scale, warm * scale, matches


def main() -> int:
    """Print one line per run and the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000, help="distinct Reuters articles")
    parser.add_argument("--rules", type=int, default=1_000, help="dense generated rules")
    parser.add_argument("--seed", type=int, default=42, help="rule generator seed")
    parser.add_argument("--runs", type=int, default=5, help="fresh compiles, each cold + warm")
    parser.add_argument("--corpus-dir", type=Path, default=corpus_dir(), help="corpus folder")
    args = parser.parse_args()
    if not (args.corpus_dir / "reuters21578.jsonl.gz").exists():
        print(f"corpus not found in {args.corpus_dir}: nothing to measure (skipped)")
        return 0
    articles = [
        Article.model_validate_json(r) for r in distinct_reuters(args.corpus_dir, args.articles)
    ]
    rules = dense_generator(articles, seed=args.seed).rules(args.rules)
    colds: list[float] = []
    warms: list[float] = []
    with tempfile.TemporaryDirectory(prefix="newsalert-index-cold-") as tmp:
        path = Path(tmp) / "rules.yaml"
        path.write_text(yaml.safe_dump({"version": 1, "rules": rules}, sort_keys=False))
        print(f"{len(articles):,} articles, {args.rules:,} rules; CPU µs per article")
        for run in range(1, args.runs + 1):
            cold, warm, matches = one_run(path, articles)
            colds.append(cold)
            warms.append(warm)
            print(
                f"run {run}: cold {cold:.1f}, warm {warm:.1f}, learning {cold - warm:.1f};"
                f" {matches:,} matches ({matches / len(articles):.2f} per article)"
            )
    cold, warm = statistics.median(colds), statistics.median(warms)
    print(f"median: cold {cold:.1f}, warm {warm:.1f}, learning {cold - warm:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
