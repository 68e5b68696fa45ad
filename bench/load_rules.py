"""Benchmark loading (and reloading) a big rule file: YAML parse + validation into rules.

Rules are generated reproducibly from the BBC corpus exactly as ``bench/match.py`` does
(``RuleGenerator(Vocabulary.of(articles), seed=42).rules(n)``), dumped to a temporary
YAML file with ``yaml.safe_dump``, then for each count:

* ``cold``: ``load_config(path)`` (YAML parse, validation, ``Rule`` objects) in a fresh
  interpreter, i.e. with empty keyword/query/stem caches (a service's first load);
* ``warm``: the same in this process, median of ``--runs`` (caches filled by the earlier
  loads: what a reload of a mostly unchanged file costs);
* ``compile``: ``config.rules.compile()`` once, for reference (the index build);
* ``reload`` (largest count only, unless ``--no-reload``): a :class:`RuleReloader` on the
  file; the file is rewritten with one rule renamed and the time until ``check()`` has
  the new rule set live is measured (fingerprint + load + compile + swap), split into
  its load and compile parts (``RuleReloader.last_timing``). Then, on the same reloader,
  two more edits: a line added to the first rule (every later rule moves down one line)
  and an edit that breaks a rule (time until ``check()`` has rejected it, old set kept).

One process, one thread for the timed work. Prints every figure; asserts nothing.

    .venv/bin/python bench/load_rules.py                     # 1k, 10k, 100k rules
    .venv/bin/python bench/load_rules.py --counts 1000,10000 --runs 1 --no-reload
    git archive <commit> services | tar -x -C /tmp/base   # a baseline, then:
    .venv/bin/python bench/load_rules.py --compare-src /tmp/base/services

``--compare-src`` also times the baseline's ``reload`` (one rule renamed) in a fresh
interpreter, just before this tree's.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
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
from corpus import read_bbc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.rule_generator

from tests.rule_generator import RuleGenerator, Vocabulary

from newsalert.config import load_config
from newsalert.rulesvc.reload import RuleReloader


def write_rules(path: Path, rules: list[dict[str, Any]]) -> None:
    """Write ``rules`` as a version-1 config file."""
    path.write_text(
        yaml.safe_dump({"version": 1, "rules": rules}, sort_keys=False), encoding="utf-8"
    )


def cold_load(path: Path, source: Path | None = None) -> float:
    """Seconds of ``load_config(path)`` in a fresh interpreter (empty parse caches).

    ``source``: import ``newsalert`` from that directory instead (e.g. an older commit's
    ``services/`` from ``git archive``), to compare before/after within one run.
    """
    code = (
        "import sys, time\n"
        "from newsalert.config import load_config\n"
        "start = time.perf_counter()\n"
        "load_config(sys.argv[1])\n"
        "print(time.perf_counter() - start)\n"
    )
    return float(_run_fresh(code, path, source))


def _run_fresh(code: str, path: Path, source: Path | None) -> str:
    """The last line ``code`` prints, run with ``path`` as argument in a fresh
    interpreter (importing ``newsalert`` from ``source`` when given)."""
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = str(source)
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return out.stdout.strip().splitlines()[-1]


_BASELINE_RELOAD = """
import asyncio, sys, time
from pathlib import Path
try:
    from newsalert.rulesvc.reload import RuleReloader
except ImportError:  # a baseline tree whose reloader lives in newsalert.rules
    from newsalert.rules.reload import RuleReloader
path = Path(sys.argv[1])
text = path.read_text(encoding="utf-8")
first = text.index("- id: ") + len("- id: ")
old_id = text[first : text.index("\\n", first)]
reloader = RuleReloader(path, interval_s=0.05)
path.write_text(text.replace(f"- id: {old_id}\\n", "- id: bench-reload-marker\\n", 1))
start = time.perf_counter()
live = asyncio.run(reloader.check())
print(time.perf_counter() - start if live else "nan")
"""


def baseline_reload(path: Path, source: Path) -> float:
    """The ``reload`` figure (one rule renamed) with ``newsalert`` imported from ``source``.

    Run in a fresh interpreter on a copy of ``path``, the same edit as :func:`time_reload`.
    """
    copy = path.with_name("baseline-" + path.name)
    copy.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    seconds = float(_run_fresh(_BASELINE_RELOAD, copy, source))
    copy.unlink()
    return seconds


def time_load(path: Path, runs: int) -> tuple[float, Any]:
    """(median seconds, last config) of ``load_config(path)`` over ``runs``."""
    times = []
    config = None
    for _ in range(runs):
        config = None
        gc.collect()
        start = time.perf_counter()
        config = load_config(path)
        times.append(time.perf_counter() - start)
    return statistics.median(times), config


def time_reload(path: Path) -> dict[str, float]:
    """Seconds from rewriting the file (one rule renamed) to the new rule set being live.

    A :class:`RuleReloader` is started on ``path`` (its first load and compile are not
    timed), the file is rewritten with its first rule's id changed, and ``check()`` (what
    the polling loop calls) is timed: fingerprint, load, compile, swap. The same is done
    for a line added to the first rule, and for a broken rule (until rejected).
    """
    text = path.read_text(encoding="utf-8")
    first = text.index("- id: ") + len("- id: ")
    old_id = text[first : text.index("\n", first)]
    reloader = RuleReloader(path, interval_s=0.05)
    figures: dict[str, float] = {}

    def edit(name: str, new_text: str, *, good: bool = True) -> None:
        path.write_text(new_text, encoding="utf-8")
        start = time.perf_counter()
        live = asyncio.run(reloader.check())
        figures[f"{name}_s"] = time.perf_counter() - start
        assert live is good, (name, reloader.last_error)
        timing = reloader.last_timing
        figures[f"{name}_load_s"] = timing.load_s
        figures[f"{name}_compile_s"] = timing.compile_s
        figures[f"{name}_items_parsed"] = timing.report.items_parsed
        figures[f"{name}_whole_files"] = timing.report.whole_files

    renamed = text.replace(f"- id: {old_id}\n", "- id: bench-reload-marker\n", 1)
    edit("reload", renamed)
    assert "bench-reload-marker" in reloader.current.rules
    assert old_id not in reloader.current.rules
    moved = renamed.replace("- id: bench-reload-marker\n", "- id: moved\n  title: t\n", 1)
    edit("moved", moved)
    last = moved.index("\n", moved.rindex("- id: ")) + 1  # after the last rule's id line
    edit("invalid", f"{moved[:last]}  window: 0\n{moved[last:]}", good=False)
    assert reloader.last_error is not None
    return figures


def main() -> int:
    """Run the benchmark; print a table (and ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", default="1000,10000,100000")
    parser.add_argument("--runs", type=int, default=3, help="load runs per count (median)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--no-reload", action="store_true", help="skip the reload measurement")
    parser.add_argument("--no-compile", action="store_true", help="skip compile timing")
    parser.add_argument(
        "--compare-src",
        type=Path,
        default=None,
        help="also time a cold load importing newsalert from this directory (a baseline)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end")
    args = parser.parse_args()

    articles = read_bbc(args.corpus)
    if articles is None:
        return 2
    counts = sorted(int(c) for c in args.counts.split(","))
    all_rules = RuleGenerator(Vocabulary.of(articles), seed=args.seed).rules(max(counts))
    del articles
    gc.collect()
    gc.freeze()
    libyaml = yaml.__with_libyaml__
    print(f"python {sys.version.split()[0]}; yaml {yaml.__version__} libyaml {libyaml}")
    print(f"seed {args.seed}; load runs {args.runs} (median)")
    print(f"{'rules':>8} {'MiB':>6} {'cold s':>8} {'warm s':>8} {'compile s':>10}")
    results: dict[str, Any] = {"counts": {}}
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "rules.yaml"
        for count in counts:
            write_rules(file, all_rules[:count])
            size = file.stat().st_size / 2**20
            cold_s = cold_load(file)
            if args.compare_src is not None:
                base_s = cold_load(file, args.compare_src)
                again_s = cold_load(file)
                print(
                    f"{count:>8} baseline cold {base_s:.3f}s vs this tree "
                    f"{cold_s:.3f}s / {again_s:.3f}s: {base_s / min(cold_s, again_s):.2f}x"
                )
                results["counts"].setdefault(count, {})["baseline_cold_s"] = base_s
            load_s, config = time_load(file, args.runs)
            assert len(config.rules) == count
            compile_s = float("nan")
            if not args.no_compile:
                start = time.perf_counter()
                config.rules.compile()
                compile_s = time.perf_counter() - start
            del config
            print(f"{count:>8} {size:>6.1f} {cold_s:>8.3f} {load_s:>8.3f} {compile_s:>10.2f}")
            results["counts"].setdefault(count, {}).update(
                {
                    "mib": size,
                    "cold_s": cold_s,
                    "warm_s": load_s,
                    "compile_s": compile_s,
                }
            )
        if not args.no_reload:
            count = counts[-1]
            write_rules(file, all_rules[:count])
            if args.compare_src is not None:
                figures_base = baseline_reload(file, args.compare_src)
                print(
                    f"reload of {count} rules, one rule renamed, baseline: "
                    f"new set live in {figures_base:.2f}s"
                )
                results["baseline_reload_s"] = figures_base
            figures = time_reload(file)
            for name, what in (
                ("reload", "one rule renamed: file rewritten -> new set live"),
                ("moved", "a line added to the first rule (all others move): -> live"),
                ("invalid", "an error added to the last rule: -> rejected, old set kept"),
            ):
                print(
                    f"reload of {count} rules, {what} in {figures[name + '_s']:.2f}s "
                    f"(load {figures[name + '_load_s']:.2f}s, "
                    f"{figures[name + '_items_parsed']:.0f} items parsed, "
                    f"{figures[name + '_whole_files']:.0f} files parsed whole; "
                    f"compile {figures[name + '_compile_s']:.2f}s)"
                )
            results["reload"] = {"rules": count, **figures}
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
