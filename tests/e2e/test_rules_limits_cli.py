"""``newsalert rules check`` as a process on rule files past every limit.

Each file of a directory breaks one limit; one run must list the problem of each, with
file, line and column, in short lines, exit 1, and stay small in memory. The 446-byte
alias bomb alone is refused quickly, in bounded memory.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from newsalert.rules.language.limits import MAX_FILE_BYTES
from tests.unit.rules.hostile_rules import CASES, alias_bomb

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

NEWSALERT = str(Path(sys.executable).with_name("newsalert"))
#: Peak resident memory of a ``rules check`` run, MiB: the interpreter, numba and the
#: compiled kernels take most; a file that expanded or recursed would take gigabytes.
MAX_RSS_MIB = 400
# Runs a command and prints its peak resident set size (KiB on Linux) last.
_MEASURED = (
    "import resource, subprocess, sys;"
    "done = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
    "print(done.stdout + done.stderr);"
    "print(done.returncode);"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def check(path: Path) -> tuple[str, int, float]:
    """(output, exit code, peak RSS in MiB) of ``newsalert rules check path``."""
    done = subprocess.run(
        [sys.executable, "-c", _MEASURED, NEWSALERT, "rules", "check", str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=200,
    )
    *output, code, rss = done.stdout.rstrip("\n").rsplit("\n", 2)
    return "\n".join(output), int(code), int(rss) / 1024


def test_rules_check_reports_every_limit_with_its_position(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    for number, case in enumerate(CASES):
        # Rule ids must differ between the files of a directory.
        text = case.text.replace("id: ok", f"id: ok{number}").replace("id: bad", f"id: b{number}")
        (folder / f"{number:02d}-{case.name}.yaml").write_text(text, encoding="utf-8")
    huge = folder / "99-huge.yaml"
    with huge.open("wb") as handle:  # sparse: refused by its size, never read
        handle.truncate(MAX_FILE_BYTES + 1)
    output, code, rss = check(folder)
    assert code == 1, output
    lines = output.splitlines()
    for number, case in enumerate(CASES):
        where = f"{folder / f'{number:02d}-{case.name}.yaml'}:{case.line}:{case.column}:"
        assert any(where in line and case.reason in line for line in lines), (case.name, output)
    assert f"{huge}: {MAX_FILE_BYTES + 1:,} bytes, more than the limit" in output
    assert all(len(line) < 400 for line in lines), max(lines, key=len)[:400]
    assert rss < MAX_RSS_MIB, f"rules check peaked at {rss:.0f} MiB"


def test_rules_check_refuses_the_alias_bomb_in_bounded_memory(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(alias_bomb() + "rules:\n  - id: bomb\n    all: *i\n", encoding="utf-8")
    assert bomb.stat().st_size < 500
    output, code, rss = check(bomb)
    assert code == 1
    assert f"{bomb}:7:4: invalid YAML: aliases expand this value" in output
    assert "1 error(s)" in output
    assert rss < MAX_RSS_MIB, f"rules check peaked at {rss:.0f} MiB"
