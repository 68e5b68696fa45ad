"""How fast hostile rule files are refused, and how a wide OR compiles.

For each rule file past a limit (the cases of ``tests/unit/rules/hostile_rules.py``,
the "billion laughs" alias bomb first) prints the time ``load_config`` takes to refuse
it and the growth of the process's peak RSS. Then loads and compiles one rule whose
query is an OR of N terms, for growing N (linear: time per term stays flat). One
process; prints every figure; asserts nothing.

    .venv/bin/python bench/rule_limits.py
    .venv/bin/python bench/rule_limits.py --or-terms 10000,20000,50000
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.unit.rules.hostile_rules import CASES

from newsalert.config import load_config
from newsalert.errors import ConfigError


def peak_mib() -> float:
    """Peak resident set size of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def refuse_times(folder: Path) -> None:
    print(f"{'file past a limit':<24} {'bytes':>10} {'refused in s':>13} {'peak +MiB':>10}")
    for case in CASES:
        path = folder / f"{case.name}.yaml"
        path.write_text(case.text, encoding="utf-8")
        before = peak_mib()
        start = time.perf_counter()
        try:
            load_config(path)
            outcome = "ACCEPTED"
        except ConfigError:
            outcome = ""
        took = time.perf_counter() - start
        size = path.stat().st_size
        print(f"{case.name:<24} {size:>10,} {took:>13.3f} {peak_mib() - before:>10.1f} {outcome}")


def wide_or(folder: Path, counts: list[int]) -> None:
    print(f"\n{'OR terms':>9} {'load s':>8} {'compile s':>10} {'µs/term':>8}")
    load_config_text(folder, 10)  # the kernels compile once, outside the figures
    for count in counts:
        load_s, compile_s = load_config_text(folder, count)
        per_term = (load_s + compile_s) / count * 1e6
        print(f"{count:>9,} {load_s:>8.2f} {compile_s:>10.2f} {per_term:>8.1f}")


def load_config_text(folder: Path, count: int) -> tuple[float, float]:
    terms = " OR ".join(f"w{i}x" for i in range(count))
    path = folder / f"or-{count}.yaml"
    path.write_text(f"version: 1\nrules:\n  - id: wide\n    query: '{terms}'\n", encoding="utf-8")
    start = time.perf_counter()
    config = load_config(path)
    loaded = time.perf_counter()
    config.rules.compile()
    return loaded - start, time.perf_counter() - loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--or-terms", default="5000,10000,20000,50000", help="OR sizes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        refuse_times(Path(folder))
        wide_or(Path(folder), [int(n) for n in args.or_terms.split(",")])


if __name__ == "__main__":
    main()
