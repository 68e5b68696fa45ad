"""``newsalert backtest`` at dense match rates against the rule index on the same input.

For each rule count (``--counts``), rules come from ``tests.rule_generator.
dense_generator`` (about 2 matches per article at 1,000 rules, growing with the count).
Every run is ``newsalert backtest --rules R --input A --format F -o OUT`` as a fresh
process, and the figures are compared with the index alone (normalise +
``CompiledRules.match``, warm, in this process) on the same rules and articles, measured
just before that run. The process times its own phases (the command's ``run_backtest``
and report writer, wrapped), so the columns come from one process each:

* *start-up*: wall minus in-run minus report (interpreter, rule load, compile);
* *in-run*: ``run_backtest`` (reading, matching, dedupe, per-rule bookkeeping);
* *report*: the report writer (samples explained, report built, encoded and written);
* *end-to-end*: articles / (in-run + report), i.e. start-up excluded, report included;
* the *CPU* columns: the same from process CPU time (``time.process_time``) for the
  backtest and the index, steadier than wall time when other processes share the cores.

``--compare-src`` runs a baseline tree (``PYTHONPATH``) alternately with this one;
``--runs N`` repeats each row and adds a median row (the machine is shared and noisy).
``--stages`` then runs this tree once more in this process, with the dedupe store's
stages and the matcher wrapped, and prints where the CPU time goes (run and report).

    .venv/bin/python bench/backtest_dense.py --counts 1000 --articles 10000
    .venv/bin/python bench/backtest_dense.py --corpus bbc --counts 100000 --articles 300
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.rule_generator

from tests.rule_generator import dense_generator

from newsalert.config import load_config
from newsalert.models import Article
from newsalert.rules import Document
from newsalert.text import Stemmer

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("NEWSALERT_CORPUS_DIR", REPO.parent / "shared" / "corpus"))
# The command with its run and its report writer timed, in the backtest process itself
# (a baseline tree may still name the module backtest.command).
CLI = """
import json, sys, time
try:
    from newsalert.backtest import cli
except ImportError:
    from newsalert.backtest import command as cli
spent = {}
run_backtest, write = cli.run_backtest, cli._write
async def timed_run(*args, **kwargs):
    started, cpu = time.perf_counter(), time.process_time()
    try:
        return await run_backtest(*args, **kwargs)
    finally:
        spent["in_run_s"] = time.perf_counter() - started
        spent["in_run_cpu_s"] = time.process_time() - cpu
def timed_write(*args, **kwargs):
    started, cpu = time.perf_counter(), time.process_time()
    try:
        return write(*args, **kwargs)
    finally:
        spent["report_s"] = time.perf_counter() - started
        spent["report_cpu_s"] = time.process_time() - cpu
        print("BENCH " + json.dumps(spent), file=sys.stderr, flush=True)
cli.run_backtest, cli._write = timed_run, timed_write
cli.app(prog_name="newsalert backtest")
"""


def run(rules: Path, data: Path, fmt: str, src: str | None) -> tuple[float, dict[str, float]]:
    """Wall seconds of one backtest process, and its in-run and report seconds."""
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"report.{fmt}"
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", CLI, "--rules", str(rules), "--input", str(data),
             "--format", fmt, "-o", str(out), "--no-progress"],
            check=True, env=env, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        wall = time.perf_counter() - started
    marks = [line for line in done.stderr.splitlines() if line.startswith("BENCH ")]
    return wall, json.loads(marks[-1].removeprefix("BENCH "))


def index_rate(rules: Path, articles: list[Article]) -> tuple[float, float]:
    """Articles/s of normalise + match after a warm-up pass: by wall time, by CPU time."""
    compiled = load_config(rules).rules.compile()
    stemmer = Stemmer()  # one for the run, as the matcher's pipeline keeps one
    for article in articles[:300]:
        compiled.match(Document.from_article(article, stemmer))
    started, cpu = time.perf_counter(), time.process_time()
    for article in articles:
        compiled.match(Document.from_article(article, stemmer))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return len(articles) / wall, len(articles) / cpu


def _row(rules: str, label: str, fmt: str, row: tuple[float, ...], articles: int) -> None:
    startup, in_run, report, index, in_run_cpu, report_cpu, index_cpu = row
    rate = articles / (in_run + report)
    rate_cpu = articles / (in_run_cpu + report_cpu)
    print(
        f"| {rules} | {label} | {fmt} | {startup:.1f} | {in_run:.2f} | {report:.2f} "
        f"| {rate:,.0f} | {index:,.0f} | {rate / index:.2f} "
        f"| {in_run_cpu:.2f} + {report_cpu:.2f} | {rate_cpu:,.0f} / {index_cpu:,.0f} "
        f"| {rate_cpu / index_cpu:.2f} |",
        flush=True,
    )


def main() -> int:
    """Parse arguments, run, print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", default="reuters21578", help="reuters21578 or bbc")
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--counts", default="1000", help="comma-separated rule counts")
    parser.add_argument("--formats", default="json,html")
    parser.add_argument("--compare-src", help="PYTHONPATH of a baseline tree")
    parser.add_argument("--corpus-dir", type=Path, default=CORPUS)
    parser.add_argument("--runs", type=int, default=1, help="runs per row (medians added)")
    parser.add_argument("--stages", action="store_true", help="CPU time per stage, this tree")
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
          "| index art/s (same run) | ratio | CPU s: in-run + report | CPU art/s: backtest "
          "/ index | CPU ratio |")  # fmt: skip
    print("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="newsalert-btd-") as tmp:
        folder = Path(tmp)
        data = folder / "in.jsonl"
        data.write_bytes(b"\n".join(lines) + b"\n")
        for count in (int(c) for c in args.counts.split(",")):
            rules = folder / f"rules-{count}.yaml"
            generated = dense_generator(everything, seed=42).rules(count)
            rules.write_text(yaml.safe_dump({"version": 1, "rules": generated}, sort_keys=False))
            rows: dict[tuple[str, str], list[tuple[float, ...]]] = {}
            for _ in range(args.runs):
                for fmt in args.formats.split(","):
                    for src in trees:
                        label = "before" if src else "this tree"
                        index, index_cpu = index_rate(rules, articles)
                        wall, spent = run(rules, data, fmt, src)
                        in_run, report = spent["in_run_s"], spent["report_s"]
                        row = (
                            wall - in_run - report,
                            in_run,
                            report,
                            index,
                            spent["in_run_cpu_s"],
                            spent["report_cpu_s"],
                            index_cpu,
                        )
                        rows.setdefault((fmt, label), []).append(row)
                        _row(f"{count:,}", label, fmt, row, len(lines))
            if args.runs > 1:
                for (fmt, label), runs in rows.items():
                    median = tuple(statistics.median(column) for column in zip(*runs, strict=True))
                    _row(f"{count:,} (median of {args.runs})", label, fmt, median, len(lines))
            if args.stages:
                stages(rules, data, folder / "report.json")
    return 0


def stages(rules: Path, data: Path, out: Path) -> None:
    """CPU seconds of each stage of one JSON backtest of this tree, in this process."""
    from newsalert.backtest.engine import Arm, BacktestOptions, run_backtest
    from newsalert.backtest.records import FileSource
    from newsalert.backtest.render_json import dumps, to_json

    options = BacktestOptions()
    arm = Arm("bench", load_config(rules), options)
    spent: dict[str, float] = {}

    def timed(name: str, call: Any) -> Any:
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return await call(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.process_time() - started

        return wrapper

    def timed_sync(name: str, call: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return call(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.process_time() - started

        return wrapper

    store: Any = arm.dedupe
    store.check_articles = timed("dedupe check", store.check_articles)
    store.claim_batch = timed("claims", store.claim_batch)
    store.commit_batch = timed("commits", store.commit_batch)
    compiled: Any = arm.compiled
    compiled.match = timed_sync("match (normalising not included)", compiled.match)
    started = time.process_time()
    result = asyncio.run(run_backtest(FileSource([data]), [arm], options))
    run_s = time.process_time() - started
    main = result.arms[0]
    started = time.process_time()
    shown = main.sampled_rules()
    main.samples_of(report.rule_id for report in shown)
    explain_s = time.process_time() - started
    started = time.process_time()
    data_ = to_json(result)
    built_s = time.process_time() - started
    started = time.process_time()
    out.write_bytes(dumps(data_) + b"\n")
    written_s = time.process_time() - started
    print(f"\nCPU seconds, this tree, JSON ({result.articles:,} articles, "
          f"{len(main.matches):,} raw matches, {len(main.alerts):,} alerts):\n")  # fmt: skip
    print("| stage | CPU s |\n|---|---:|")
    for name, seconds in spent.items():
        print(f"| run: {name} | {seconds:.2f} |")
    print(f"| run: the rest (decode, normalise, event times, tallies) "
          f"| {run_s - sum(spent.values()):.2f} |")  # fmt: skip
    print(f"| report: samples of {len(shown):,} rules explained | {explain_s:.2f} |")
    print(f"| report: JSON data built | {built_s:.2f} |")
    print(f"| report: encoded and written ({out.stat().st_size / 1e6:.0f} MB) | {written_s:.2f} |")


if __name__ == "__main__":
    raise SystemExit(main())
