"""Resident memory of each service process with a big rule set (for the manifests' limits).

Generates ``--rules`` rules (default 100,000) from the BBC corpus exactly as
``bench/load_rules.py`` does, plus two subscriptions, starts the embedded stack, then
runs each of ``newsalert matcher``, ``newsalert dispatcher`` and ``newsalert run`` alone
(``--api-port``), as compose and Kubernetes run them. For each it reports the seconds
until ``/readyz`` answered 200, the RSS then, the RSS ``--settle`` seconds later, and
the peak (``VmHWM``); then it renames one rule in the file and reports the time until
the service logged its reload and the RSS and peak after it (the old and new rule sets
briefly coexist). Prints the figures; asserts nothing.

    .venv/bin/python bench/service_rss.py                    # 100k rules, 30 s settle
    .venv/bin/python bench/service_rss.py --rules 10000 --settle 10 --only dispatcher
"""

from __future__ import annotations

import argparse
import base64
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml
from corpus import read_bbc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.rule_generator

from tests.rule_generator import RuleGenerator, Vocabulary

from newsalert.stack import EmbeddedStack
from newsalert.stack.process import free_port

NEWSALERT = str(Path(sys.executable).with_name("newsalert"))
SERVICES = ("matcher", "dispatcher", "run")


def write_config(path: Path, count: int, seed: int) -> None:
    """``count`` generated rules and two subscriptions (one selects by id, one all)."""
    articles = read_bbc()
    if articles is None:
        raise SystemExit(2)
    rules: list[dict[str, Any]] = RuleGenerator(Vocabulary.of(articles), seed=seed).rules(count)
    subscriptions = [
        {"id": "desk", "url": "${HOOK}/desk", "secret": "${SECRET}", "rules": [rules[0]["id"]]},
        {"id": "all", "url": "${HOOK}/all", "secret": "${SECRET}", "rules": ["*"]},
    ]
    document = {"version": 1, "rules": rules, "subscriptions": subscriptions}
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


def _status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of ``pid`` in KiB."""
    found: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as reply:
            return bool(reply.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def measure(service: str, config: Path, env: dict[str, str], settle_s: float) -> dict[str, float]:
    """Start one service, wait until ready, sample its memory, stop it."""
    port = free_port()
    started = time.perf_counter()
    log = config.with_name(f"{service}.log")
    with log.open("wb") as err:  # a file, not a pipe: a full pipe would block the service
        process = subprocess.Popen(
            [NEWSALERT, service, "--config", str(config), "--api-port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip
    try:
        while not _ready(port):
            if process.poll() is not None:
                raise SystemExit(f"{service} exited: {log.read_text()[-2000:]}")
            time.sleep(0.5)
        ready_s = time.perf_counter() - started
        at_ready = _status(process.pid)["VmRSS"]
        time.sleep(settle_s)
        later = _status(process.pid)
        reload_s = _edit_and_wait(config, log)
        reloaded = _status(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
    return {
        "ready_s": ready_s,
        "rss_ready_mib": at_ready / 1024,
        "rss_mib": later["VmRSS"] / 1024,
        "peak_mib": later["VmHWM"] / 1024,
        "reload_s": reload_s,
        "rss_reloaded_mib": reloaded["VmRSS"] / 1024,
        "peak_reloaded_mib": reloaded["VmHWM"] / 1024,
    }


def _edit_and_wait(config: Path, log: Path, timeout_s: float = 600) -> float:
    """Rename the last rule (a one-rule edit), wait for the service's reload log line."""
    text = config.read_text(encoding="utf-8")
    at = text.rindex("- id: ")
    end = text.index("\n", at)
    old_id = text[at + len("- id: ") : end]
    renamed = f"{old_id}-x" if not old_id.endswith("-x") else old_id[:-2]
    config.write_text(f"{text[:at]}- id: {renamed}{text[end:]}", encoding="utf-8")
    started = time.perf_counter()
    seen = log.read_text(errors="replace").count("reloaded")
    while log.read_text(errors="replace").count("reloaded") == seen:
        if time.perf_counter() - started > timeout_s:
            raise SystemExit(f"no reload within {timeout_s:.0f}s: {log.read_text()[-2000:]}")
        time.sleep(0.5)
    return time.perf_counter() - started


def main() -> int:
    """Parse arguments, generate the config, measure each service."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rules", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--settle", type=float, default=30.0, help="seconds after ready")
    parser.add_argument("--only", choices=SERVICES, action="append", help="repeatable")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="newsalert-rss-") as scratch:
        folder = Path(scratch)
        config = folder / "rules.yaml"
        write_config(config, args.rules, args.seed)
        size = config.stat().st_size / 2**20
        print(f"{args.rules} rules, {size:.1f} MiB of YAML; settle {args.settle:.0f} s")
        stack = EmbeddedStack(folder / "stack")
        info = stack.up()
        try:
            env = {
                **os.environ,
                "NEWSALERT_KAFKA_BOOTSTRAP": info.kafka_bootstrap,
                "NEWSALERT_REDIS_URL": info.redis_url,
                "NEWSALERT_TOPIC_PREFIX": f"rss{os.getpid()}.",
                "HOOK": "https://hooks.example.com",
                "SECRET": "whsec_" + base64.b64encode(os.urandom(24)).decode(),
            }
            print(
                f"{'service':<11} {'ready s':>8} {'RSS ready':>10} {'RSS later':>10} {'peak':>8}"
                f" | one-rule edit: {'reload s':>8} {'RSS':>8} {'peak':>8}"
            )
            for service in args.only or SERVICES:
                got = measure(service, config, env, args.settle)
                print(
                    f"{service:<11} {got['ready_s']:>8.1f} {got['rss_ready_mib']:>6.0f} MiB "
                    f"{got['rss_mib']:>6.0f} MiB {got['peak_mib']:>4.0f} MiB"
                    f" | {'':>14} {got['reload_s']:>8.1f} {got['rss_reloaded_mib']:>4.0f} MiB"
                    f" {got['peak_reloaded_mib']:>4.0f} MiB",
                    flush=True,
                )
        finally:
            stack.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
