"""Benchmark ``newsalert backtest``: the Reuters corpus against generated rules.

Prints articles/s end to end (process start to report written) and the in-run rate,
for the JSONL file path and for the Kafka path (embedded tansu broker, the corpus
published with its ``published_at`` as record timestamps). Target: >= 2,000 articles/s
for the file path with 1,000 rules. Rules are generated reproducibly (``--seed``) from
the Reuters vocabulary by the project's generator (``tests.rule_generator``, the one
``bench/match.py`` uses); ``--generator broad`` uses a stress generator here whose rules
pick common words and fire on most articles (about 4 matches per article).

    .venv/bin/python bench/backtest.py                 # file + Kafka, 1,000 rules
    .venv/bin/python bench/backtest.py --no-kafka --rules 10000
"""

from __future__ import annotations

import argparse
import collections
import gzip
import itertools
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.rule_generator

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("NEWSALERT_CORPUS_DIR", REPO.parent / "shared" / "corpus"))
WORD = re.compile(r"[a-z]{4,}")
CLI = "from newsalert.backtest.cli import app; app(prog_name='newsalert backtest')"


def vocabulary(path: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """Mid-frequency words and frequent bigrams of the corpus (deterministic order)."""
    words: collections.Counter[str] = collections.Counter()
    bigrams: collections.Counter[tuple[str, str]] = collections.Counter()
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            article = json.loads(line)
            tokens = WORD.findall(f"{article.get('title', '')} {article.get('body', '')}".lower())
            words.update(tokens)
            bigrams.update(itertools.pairwise(tokens))
    ranked = [w for w, _ in words.most_common()]
    mid = ranked[80:6000]  # skip the function words, keep words that actually occur
    pairs = [b for b, n in bigrams.most_common(5000) if n >= 5 and b[0] != b[1]]
    return mid, pairs


def generate_rules(
    count: int, seed: int, words: list[str], pairs: list[tuple[str, str]]
) -> dict[str, Any]:
    """``count`` rules in realistic shapes (the same for the same seed)."""
    rng = random.Random(seed)
    # Zipf-like choice: common-ish words are picked more often than rare ones.
    weights = [1.0 / (rank + 10) for rank in range(len(words))]

    def word() -> str:
        return rng.choices(words, weights)[0]

    def phrase() -> str:
        first, second = rng.choice(pairs)
        return f'"{first} {second}"'

    rules = []
    for number in range(count):
        shape = rng.random()
        rule: dict[str, object] = {"id": f"r{number:05d}", "title": f"generated rule {number}"}
        if shape < 0.35:
            rule["all"] = [word(), rng.choice([word(), phrase(), f"{word()} {word()}"])]
        elif shape < 0.6:
            rule["all"] = [rng.choice([word(), phrase()])]
            rule["any"] = [word() for _ in range(rng.randint(2, 4))]
        elif shape < 0.75:
            rule["all"] = [phrase()]
            rule["none"] = [word()]
        elif shape < 0.9:
            a, b, c, d = word(), word(), word(), word()
            rule["query"] = f"({a} OR {b}) NEAR/5 {c} NOT {d}"
        else:
            rule["all"] = [word()]
            rule["any"] = [word()[:5] + "*", phrase()]
        if rng.random() < 0.2:
            rule["tags"] = [rng.choice(["markets", "energy", "politics", "trade"])]
        rules.append(rule)
    return {"version": 1, "rules": rules}


def make_rules(options: argparse.Namespace) -> dict[str, Any]:
    """The rule file content for ``options`` (project or broad generator)."""
    if options.generator == "broad":
        words, pairs = vocabulary(options.corpus)
        return generate_rules(options.rules, options.seed, words, pairs)
    from tests.rule_generator import RuleGenerator, Vocabulary

    from newsalert.models import Article

    with gzip.open(options.corpus, "rt", encoding="utf-8") as lines:
        articles = [Article.model_validate_json(line) for line in lines]
    rules = RuleGenerator(Vocabulary.of(articles), seed=options.seed).rules(options.rules)
    return {"version": 1, "rules": rules}


def run_cli(args: list[str], env: dict[str, str]) -> tuple[float, dict]:
    """Run the backtest command as a user would; wall seconds and the JSON report."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-c",
                CLI,
                *args,
                "--format",
                "json",
                "--output",
                out.name,
                "--no-progress",
            ],
            check=True,
            env=env,
            stderr=subprocess.DEVNULL,
        )
        wall = time.perf_counter() - started
        report = json.loads(Path(out.name).read_text())
    return wall, report


def describe(label: str, wall: float, report: dict) -> None:
    """Print one line of figures."""
    articles = report["articles"]
    print(
        f"{label:<28} articles={articles:>6}  matches={len(report['matches']):>7}  "
        f"alerts={len(report['alerts']):>6}  wall={wall:6.2f}s  "
        f"end-to-end={articles / wall:8,.0f}/s  in-run={report['records_per_s']:8,.0f}/s  "
        f"compile={report['compile_s']:.2f}s"
    )


def breakdown(corpus: Path, rules_path: Path, limit: int) -> None:
    """CPU time per article of each stage, measured in this process on the same articles.

    CPU time (``process_time``) rather than wall time, because the benchmark machine is
    shared; the last line is what the backtest adds on top of the live pipeline's stages.
    """
    import asyncio
    from datetime import timedelta

    from newsalert.backtest.engine import Arm, BacktestOptions, run_backtest
    from newsalert.backtest.records import FileSource
    from newsalert.config import load_config
    from newsalert.dedupe.memory import MemoryDedupe
    from newsalert.pipeline.decode import decode_article
    from newsalert.rules import Document
    from newsalert.text import Stemmer

    with gzip.open(corpus, "rb") as stream:
        lines = [line.strip() for line in stream][:limit]
    config = load_config(rules_path)
    compiled = config.rules.compile()
    clock = time.process_time
    t0 = clock()
    articles = [decode_article(line, 1_000_000) for line in lines]
    t1 = clock()
    stemmer = Stemmer()
    docs = [Document.from_article(article, stemmer) for article in articles]
    t2 = clock()
    for doc in docs:
        compiled.match(doc)
    t3 = clock()

    async def dedupe() -> None:
        store = MemoryDedupe()
        for article in articles:
            assert article.published_at is not None
            verdict = await store.check_article(article, article.published_at)
            claims = await store.claim_alerts(
                verdict.story_id, ["r"], article.published_at, timedelta(hours=24)
            )
            await store.commit(verdict, claims)

    asyncio.run(dedupe())
    t4 = clock()
    with tempfile.NamedTemporaryFile("wb", suffix=".jsonl") as scratch:
        scratch.write(b"\n".join(lines) + b"\n")
        scratch.flush()
        options = BacktestOptions()
        arm = Arm("bench", config, options)
        t5 = clock()
        result = asyncio.run(run_backtest(FileSource([Path(scratch.name)]), [arm], options))
        t6 = clock()
    n = len(lines)
    stages = {
        "decode + validate": t1 - t0,
        "normalise (Document)": t2 - t1,
        "match (compiled rules)": t3 - t2,
        "dedupe (MemoryDedupe)": t4 - t3,
    }
    total = t6 - t5
    print(f"CPU time per article over {n} articles ({result.articles} valid):")
    for name, seconds in stages.items():
        print(f"  {name:<28} {seconds / n * 1e6:8.0f} us")
    rest = total - sum(stages.values())
    label_all, label_rest = "backtest run, all stages", "run minus the stages"
    print(f"  {label_all:<28} {total / n * 1e6:8.0f} us  -> {n / total:,.0f} articles/s (CPU)")
    print(f"  {label_rest:<28} {rest / n * 1e6:8.0f} us  (noisy: stages timed apart)")


def publish_to_kafka(corpus: Path, state: Path, env: dict[str, str]) -> tuple[object, float]:
    """Start the embedded stack and publish the corpus; returns the stack and publish time."""
    from newsalert.stack import EmbeddedStack

    stack = EmbeddedStack(state)
    info = stack.up()
    env["NEWSALERT_KAFKA_BOOTSTRAP"] = info.kafka_bootstrap
    env["NEWSALERT_REDIS_URL"] = info.redis_url
    env["NEWSALERT_TOPIC_PREFIX"] = f"bench{os.getpid()}."
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "newsalert", "publish", str(corpus)],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    return stack, time.perf_counter() - started


def main() -> None:
    """Generate rules, run the backtest from the file and from Kafka, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=1000, help="Generated rules (default 1000).")
    parser.add_argument("--seed", type=int, default=6, help="Rule generator seed.")
    parser.add_argument(
        "--generator", choices=["project", "broad"], default="project", help="Rule generator."
    )
    parser.add_argument("--runs", type=int, default=3, help="File-path runs (median is kept).")
    parser.add_argument("--kafka", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--corpus", type=Path, default=CORPUS / "reuters21578.jsonl.gz")
    parser.add_argument(
        "--breakdown",
        type=int,
        default=5000,
        help="Articles for the per-stage CPU breakdown (0: skip).",
    )
    options = parser.parse_args()
    if not options.corpus.is_file():
        print(f"corpus not found at {options.corpus}; nothing to measure")
        return
    with tempfile.TemporaryDirectory(prefix="bench-backtest-") as scratch:
        folder = Path(scratch)
        rules_path = folder / "rules.yaml"
        rules_path.write_text(yaml.safe_dump(make_rules(options)))
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        print(
            f"corpus {options.corpus.name}, {options.rules} generated rules (seed {options.seed})"
        )
        results = []
        for run in range(options.runs):
            wall, report = run_cli(
                ["--rules", str(rules_path), "--input", str(options.corpus)], env
            )
            describe(f"file run {run + 1}", wall, report)
            results.append((wall, report))
        results.sort(key=lambda item: item[0])
        wall, report = results[len(results) // 2]
        describe("file (median)", wall, report)
        if options.breakdown:
            breakdown(options.corpus, rules_path, options.breakdown)
        if options.kafka:
            stack, publish_s = publish_to_kafka(options.corpus, folder / "stack", env)
            try:
                records = report["records"]
                print(f"published {records} records to the embedded broker in {publish_s:.1f}s")
                args = [
                    "--rules",
                    str(rules_path),
                    "--topic",
                    "articles",
                    "--from",
                    "1987-01-01",
                    "--to",
                    "1988-01-01",
                ]
                kwall, kreport = run_cli(args, env)
                describe("kafka (tansu)", kwall, kreport)
                same = kreport["matches"] == report["matches"]
                alerts = {a["alert_id"] for a in kreport["alerts"]}
                same_alerts = alerts == {a["alert_id"] for a in report["alerts"]}
                print(f"kafka == file: matches {same}, alert ids {same_alerts}")
            finally:
                stack.down()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
