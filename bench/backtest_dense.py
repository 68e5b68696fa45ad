"""``newsalert backtest`` at dense match rates against the rule index on the same input.

For each rule count (``--counts``), rules come from ``tests.rule_generator.
dense_generator`` (about 2 matches per article at 1,000 rules, growing with the count).
Every run is ``newsalert backtest --rules R --input A --format F -o OUT`` as a fresh
process, and the figures are compared with the index alone (normalise +
``CompiledRules.match``, warm, in this process) on the same rules and articles, measured
in the same run. Columns:

* *start-up*: the same command on a one-article file (interpreter, load, compile);
* *in-run*: the report's own ``elapsed_s`` (reading, matching, dedupe, bookkeeping);
* *report*: wall minus start-up minus in-run (samples explained, report written);
* *end-to-end*: articles / (in-run + report), i.e. start-up excluded, report included.

``--compare-src`` runs a baseline tree (``PYTHONPATH``) alternately with this one.

    .venv/bin/python bench/backtest_dense.py --counts 1000 --articles 10000
    .venv/bin/python bench/backtest_dense.py --corpus bbc --counts 100000 --articles 300
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.rule_generator

from tests.rule_generator import dense_generator

from newsalert.config import load_config
from newsalert.models import Article
from newsalert.rules import Document

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("NEWSALERT_CORPUS_DIR", REPO.parent / "shared" / "corpus"))
# A baseline tree may still name the module backtest.command.
CLI = (
    "try:\n    from newsalert.backtest.cli import app\n"
    "except ImportError:\n    from newsalert.backtest.command import app\n"
    "app(prog_name='newsalert backtest')"
)


def run(rules: Path, data: Path, fmt: str, src: str | None) -> tuple[float, dict[str, float]]:
    """Wall seconds of one backtest process, and its report's timing fields."""
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"report.{fmt}"
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", CLI, "--rules", str(rules), "--input", str(data),
             "--format", fmt, "-o", str(out), "--no-progress"],
            check=True, env=env, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wall = time.perf_counter() - started
        if fmt == "json":
            report = json.loads(out.read_text())
            return wall, {"elapsed_s": report["elapsed_s"], "articles": report["articles"]}
    return wall, {}


def index_rate(rules: Path, articles: list[Article]) -> float:
    """Articles/s of normalise + match, after a warm-up pass."""
    compiled = load_config(rules).rules.compile()
    for article in articles[:300]:
        compiled.match(Document.from_article(article))
    started = time.perf_counter()
    for article in articles:
        compiled.match(Document.from_article(article))
    return len(articles) / (time.perf_counter() - started)


def main() -> int:
    """Parse arguments, run, print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", default="reuters21578", help="reuters21578 or bbc")
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--counts", default="1000", help="comma-separated rule counts")
    parser.add_argument("--formats", default="json,html")
    parser.add_argument("--compare-src", help="PYTHONPATH of a baseline tree")
    parser.add_argument("--corpus-dir", type=Path, default=CORPUS)
    args = parser.parse_args()
    path = args.corpus_dir / f"{args.corpus}.jsonl.gz"
    if not path.exists():
        print(f"corpus not found: {path} (skipped)")
        return 0
    with gzip.open(path, "rb") as stream:
        lines = [line.strip() for line in stream if line.strip()]
    everything = [Article.model_validate_json(line) for line in lines]
    lines = lines[: args.articles]
    articles = everything[: args.articles]
    trees: list[str | None] = [args.compare_src, None] if args.compare_src else [None]
    print("| rules | tree | format | start-up s | in-run s | report s | end-to-end art/s "
          "| index art/s (same run) | ratio |")  # fmt: skip
    print("|---:|---|---|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="newsalert-btd-") as tmp:
        folder = Path(tmp)
        data, one = folder / "in.jsonl", folder / "one.jsonl"
        data.write_bytes(b"\n".join(lines) + b"\n")
        one.write_bytes(lines[0] + b"\n")
        for count in (int(c) for c in args.counts.split(",")):
            rules = folder / f"rules-{count}.yaml"
            generated = dense_generator(everything, seed=42).rules(count)
            rules.write_text(yaml.safe_dump({"version": 1, "rules": generated}, sort_keys=False))
            for src in trees:
                label = "before" if src else "this tree"
                startup, _ = run(rules, one, "json", src)
                elapsed = 0.0
                for fmt in args.formats.split(","):
                    index = index_rate(rules, articles)
                    wall, report = run(rules, data, fmt, src)
                    # The HTML page holds no timing: the JSON run's (listed first) is used.
                    elapsed = report.get("elapsed_s", elapsed)
                    rest = max(0.0, wall - startup - elapsed)
                    rate = len(lines) / (elapsed + rest)
                    print(
                        f"| {count:,} | {label} | {fmt} | {startup:.1f} | {elapsed:.1f} "
                        f"| {rest:.1f} | {rate:,.0f} | {index:,.0f} | {rate / index:.2f} |",
                        flush=True,
                    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
