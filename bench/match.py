"""Benchmark the rule index on the BBC corpus: throughput vs rule count, brute force, compile.

Rules are generated reproducibly (``--seed``) from the corpus vocabulary by
``tests.rule_generator`` in media-monitoring shapes (2-5 keyword groups, phrases,
window keywords, NOT/none, wildcards, query strings with OR groups and NEAR/n). For each
rule count the rules are written to a YAML file and loaded with ``load_config`` (timed:
"load"), compiled (timed: "compile"), then every BBC article is normalised and matched
(``Document.from_article`` + ``CompiledRules.match``), ``--runs`` times; the median is
reported. Brute force = the same compiled checks run on every rule without the index
pre-filter (``match_without_index``), and the naive oracle (``brute_force_match``), both
on a sample of articles. One process, one thread. Prints every figure; asserts nothing.

    .venv/bin/python bench/match.py                      # 1k, 10k, 100k rules
    .venv/bin/python bench/match.py --counts 1000,10000 --runs 1
    .venv/bin/python bench/match.py --stages             # + CPU µs per step per article
    .venv/bin/python bench/match.py --dense              # rules matching ~6 per article per 1k
    .venv/bin/python bench/match.py --dense --pool 1300  # ~2.4 per article per 1k (issue 14)
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from corpus import read_bbc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.rule_generator

from tests.rule_generator import DENSE_COMMON, RuleGenerator, Vocabulary, dense_generator

from newsalert.config import load_config
from newsalert.models import Article
from newsalert.rules import CompiledRules, Document
from newsalert.rules.evaluation.oracle import brute_force_match
from newsalert.rules.indexing.anchors import frequency_cost
from newsalert.text import Stemmer

#: ``--pool`` for rules about as dense as issue 14's (≈ 2.4 matches per BBC article at
#: 1,000 rules, ≈ 230 at 100,000).
ISSUE_POOL = 1300

#: The run's one stemmer, as the matcher's article pipeline keeps one for its life.
STEMMER = Stemmer()


def rss_mib() -> float:
    """Current resident set size of this process, MiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of ``fn()``."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def throughput(compiled: CompiledRules, articles: list[Article], runs: int) -> dict[str, float]:
    """Median articles/s end to end (normalise + match) and match-only, over ``runs``.

    Articles are processed one at a time and each document is dropped after matching,
    as in the streaming matcher (keeping thousands of documents alive would measure the
    garbage collector instead).
    """
    clock = time.perf_counter
    full, only, cpu, only_cpu = [], [], [], []
    matches = candidates = 0
    for _ in range(runs):
        matching = matching_cpu = 0.0
        matches = 0
        start, start_cpu = clock(), time.process_time()
        for article in articles:
            doc = Document.from_article(article, STEMMER)
            before, before_cpu = clock(), time.process_time()
            matches += len(compiled.match(doc))
            matching_cpu += time.process_time() - before_cpu
            matching += clock() - before
        total = clock() - start
        cpu.append(len(articles) / (time.process_time() - start_cpu))
        full.append(len(articles) / total)
        only.append(len(articles) / matching)
        only_cpu.append(len(articles) / matching_cpu)
    for article in articles:
        candidates += len(compiled.candidates(Document.from_article(article, STEMMER)))
    return {
        "articles_per_s": statistics.median(full),
        "articles_per_cpu_s": statistics.median(cpu),
        "match_only_per_s": statistics.median(only),
        "matches_per_article": matches / len(articles),
        "candidates_per_article": candidates / len(articles),
        "match_only_per_cpu_s": statistics.median(only_cpu),
        # Match-only CPU time per match found (a whole article's matching, shared out):
        # on a shared machine CPU time is steadier than wall time.
        "us_per_match": 1e6 / statistics.median(only_cpu) / max(matches / len(articles), 1e-9),
    }


def stage_costs(compiled: CompiledRules, articles: list[Article]) -> dict[str, float]:
    """CPU µs per article of each matching step (calls the index's private steps).

    ``tokens``: the document as token indexes (Python); ``kernel``: keys, candidates
    and exact decisions (compiled); ``matches``: the exact matches as objects;
    ``verify``: the compiled checks of the other candidates.
    """
    clock = time.process_time
    names = ("normalise", "tokens", "kernel", "matches", "verify")
    totals = dict.fromkeys(names, 0.0)
    for article in articles:
        t0 = clock()
        doc = Document.from_article(article, STEMMER)
        t1 = clock()
        tokens = compiled._keys.tokens(doc)
        t2 = clock()
        decided = compiled._run_kernel(*tokens)
        t3 = clock()
        compiled._matches(doc, decided)
        t4 = clock()
        compiled._verify(doc, decided.others)
        t5 = clock()
        spent = (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)
        for name, seconds in zip(names, spent, strict=True):
            totals[name] += seconds
    return {name: spent / len(articles) * 1e6 for name, spent in totals.items()}


def brute_force(compiled: CompiledRules, articles: list[Article], oracle_n: int) -> dict[str, Any]:
    """Indexed vs no-pre-filter vs naive oracle on ``articles`` (same sample for all).

    The indexed and no-pre-filter passes are each run once untimed first, so both are
    measured in a running service's steady state (tokens learned, caches warm).
    """
    # Streamed like the matcher: each document is dropped after use (see throughput()).
    for article in articles:
        compiled.match(Document.from_article(article, STEMMER))
        compiled.match_without_index(Document.from_article(article, STEMMER))
    index_s, indexed = timed(
        lambda: [compiled.match(Document.from_article(a, STEMMER)) for a in articles]
    )
    scan_s, scanned = timed(
        lambda: [compiled.match_without_index(Document.from_article(a, STEMMER)) for a in articles]
    )
    sample = articles[:oracle_n]
    oracle_s, oracle = timed(
        lambda: [
            brute_force_match(compiled.rules, Document.from_article(a, STEMMER)) for a in sample
        ]
    )
    docs = articles
    return {
        "sample": len(docs),
        "indexed_per_s": len(docs) / index_s,
        "no_index_per_s": len(docs) / scan_s,
        "oracle_sample": len(sample),
        "oracle_per_s": len(sample) / oracle_s if sample else float("nan"),
        "speedup_vs_no_index": scan_s / index_s,
        "speedup_vs_oracle": (oracle_s / len(sample)) / (index_s / len(docs))
        if sample
        else float("nan"),
        "equal_no_index": indexed == scanned,
        "equal_oracle": indexed[: len(sample)] == oracle,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=None, help="corpus directory")
    parser.add_argument("--counts", default="1000,10000,100000", help="rule counts")
    parser.add_argument("--runs", type=int, default=3, help="throughput runs (median)")
    parser.add_argument("--seed", type=int, default=42, help="rule generator seed")
    parser.add_argument("--articles", type=int, default=0, help="limit articles (0 = all)")
    parser.add_argument(
        "--brute-rules", type=int, default=10_000, help="rule count for brute force"
    )
    parser.add_argument("--brute-articles", type=int, default=200, help="sample for no-index")
    parser.add_argument("--oracle-articles", type=int, default=10, help="sample for oracle")
    parser.add_argument(
        "--anchors",
        choices=["heuristic", "corpus-df"],
        default="heuristic",
        help="anchor cost model: built-in heuristic, or document frequencies of the corpus",
    )
    parser.add_argument(
        "--stages", action="store_true", help="also print CPU µs per article of each step"
    )
    parser.add_argument(
        "--dense",
        action="store_true",
        help="rules that match often (dense_generator: a busy watch list's alert volume)",
    )
    parser.add_argument(
        "--pool",
        type=int,
        default=DENSE_COMMON,
        help="with --dense: free words drawn from this many commonest non-stop words "
        f"(default {DENSE_COMMON}; {ISSUE_POOL}: about 2.4 matches per BBC article per "
        "1,000 rules, the density issue 14 measured)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end")
    args = parser.parse_args()

    articles = read_bbc(args.corpus)
    if articles is None:
        return 2
    if args.articles:
        articles = articles[: args.articles]
    gc.freeze()  # the input articles live for the whole run
    counts = sorted(int(c) for c in args.counts.split(","))
    print(f"corpus bbc.jsonl.gz: {len(articles)} articles; python {sys.version.split()[0]}")
    print(
        f"anchors: {args.anchors}; seed {args.seed}; runs {args.runs}; "
        f"rules: {f'dense (pool {args.pool})' if args.dense else 'sparse'}"
    )

    generator = (
        dense_generator(articles, seed=args.seed, common=args.pool)
        if args.dense
        else RuleGenerator(Vocabulary.of(articles), seed=args.seed)
    )
    generate_s, all_rules = timed(lambda: generator.rules(max([*counts, args.brute_rules])))
    print(f"generated {len(all_rules)} rules in {generate_s:.1f}s")
    cost = None
    if args.anchors == "corpus-df":
        frequency: Counter[str] = Counter()
        for article in articles:
            frequency.update(Document.from_article(article, STEMMER).all_stems())
        cost = frequency_cost({k: v / len(articles) for k, v in frequency.items()})

    results: dict[str, Any] = {"counts": {}, "anchors": args.anchors, "seed": args.seed}
    header = (
        f"{'rules':>7} {'load s':>7} {'compile s':>9} {'RSS MiB':>8} {'art/s':>7} {'art/cpu-s':>9} "
        f"{'match-only/s':>12} {'/cpu-s':>7} {'cand/art':>8} {'match/art':>9} "
        f"{'cpu-µs/match':>12} {'unindexed':>9}"
    )
    print(header)
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for count in sorted({*counts, args.brute_rules}):
            files[count] = Path(tmp) / f"rules-{count}.yaml"
            data = {"version": 1, "rules": all_rules[:count]}
            files[count].write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        del all_rules  # measure the engine's memory, not the generator's output
        for count in counts:
            gc.unfreeze()
            gc.collect()
            load_s, config = timed(lambda: load_config(files[count]))  # noqa: B023
            compile_s, compiled = timed(
                lambda: config.rules.compile(cost=cost) if cost else config.rules.compile()  # noqa: B023
            )
            gc.freeze()  # as RuleReloader does after each compile
            rss = rss_mib()
            figures = throughput(compiled, articles, args.runs)
            row = {
                "load_s": load_s,
                "compile_s": compile_s,
                "rss_mib": rss,
                "unindexed": compiled.unindexed,
                **figures,
            }
            if args.stages:
                row["stages_us"] = stage_costs(compiled, articles)
            results["counts"][count] = row
            print(
                f"{count:>7} {load_s:>7.2f} {compile_s:>9.2f} {rss:>8.0f} "
                f"{row['articles_per_s']:>7.0f} {row['articles_per_cpu_s']:>9.0f} "
                f"{row['match_only_per_s']:>12.0f} {row['match_only_per_cpu_s']:>7.0f} "
                f"{row['candidates_per_article']:>8.1f} {row['matches_per_article']:>9.2f} "
                f"{row['us_per_match']:>12.2f} {compiled.unindexed:>9}"
            )
            if args.stages:
                print(
                    "        µs/article: "
                    + ", ".join(f"{k} {v:.0f}" for k, v in row["stages_us"].items())
                )
            del config, compiled
        gc.unfreeze()
        gc.collect()
        config = load_config(files[args.brute_rules])
        compiled = config.rules.compile(cost=cost) if cost else config.rules.compile()
        results["brute_force"] = brute_force(
            compiled, articles[: args.brute_articles], args.oracle_articles
        )
    low, high = counts[0], counts[-1]
    ratio = results["counts"][low]["articles_per_s"] / results["counts"][high]["articles_per_s"]
    cpu_ratio = (
        results["counts"][low]["articles_per_cpu_s"] / results["counts"][high]["articles_per_cpu_s"]
    )
    results["ratio_low_high"] = ratio
    results["cpu_ratio_low_high"] = cpu_ratio
    bf = results["brute_force"]
    print(
        f"throughput {low} rules / {high} rules = {ratio:.2f} wall, {cpu_ratio:.2f} cpu"
        "  (target <= 2)\n"
        f"brute force at {args.brute_rules} rules on {bf['sample']} articles: indexed "
        f"{bf['indexed_per_s']:.0f}/s, no pre-filter {bf['no_index_per_s']:.1f}/s "
        f"-> {bf['speedup_vs_no_index']:.0f}x (equal: {bf['equal_no_index']}); "
        f"naive oracle on {bf['oracle_sample']}: {bf['oracle_per_s']:.2f}/s "
        f"-> {bf['speedup_vs_oracle']:.0f}x (equal: {bf['equal_oracle']})  (target >= 100x)"
    )
    if args.json:
        print(json.dumps(results, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
