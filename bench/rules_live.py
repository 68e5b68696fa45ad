"""A big rule file on the real service path: time to ready, and edits until they fire.

Generates ``--rules`` rules from the BBC corpus (``RuleGenerator(Vocabulary.of(bbc),
seed)`` as ``bench/load_rules.py`` does, or ``dense_generator`` with ``--dense``) plus one
subscription, starts the embedded stack (Kafka, Redis), then starts ``newsalert run``
(or ``--service matcher``) with ``--api-port`` and an admin token, as a user would:

* ``ready``: seconds from the process start until ``/readyz`` answers 200;
* for each of ``--edits`` (``top``, ``middle``, ``end``): a new rule, keyword-only and
  firing on one made-up word, is inserted at that place of the rules list (the file is
  rewritten and renamed into place, as editors save); ``live`` is the time from the
  rename until ``POST /rules/test`` with that word returns the new rule (polled every
  ``--poll`` seconds). The service's own "rules reloaded" log line gives the load and
  compile parts.

Prints the figures; asserts nothing.

    .venv/bin/python bench/rules_live.py                        # 100k rules, newsalert run
    .venv/bin/python bench/rules_live.py --dense --rules 100000
    .venv/bin/python bench/rules_live.py --rules 10000 --service matcher
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import secrets
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

from tests.rule_generator import RuleGenerator, Vocabulary, dense_generator

from newsalert.stack import EmbeddedStack
from newsalert.stack.process import free_port

NEWSALERT = str(Path(sys.executable).with_name("newsalert"))
EDITS = ("top", "middle", "end")
_RELOADED = re.compile(r"rules reloaded: .*?load ([0-9.]+)s.*?compile ([0-9.]+)s")


def write_config(path: Path, count: int, seed: int, *, dense: bool) -> None:
    """``count`` generated rules and one subscription to all of them."""
    articles = read_bbc()
    if articles is None:
        raise SystemExit(2)
    generator = (
        dense_generator(articles, seed=seed)
        if dense
        else RuleGenerator(Vocabulary.of(articles), seed=seed)
    )
    rules: list[dict[str, Any]] = generator.rules(count)
    subscriptions = [{"id": "all", "url": "${HOOK}/all", "secret": "${SECRET}", "rules": ["*"]}]
    document = {"version": 1, "rules": rules, "subscriptions": subscriptions}
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


def _request(port: int, path: str, token: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310 (http: only)
        return json.loads(reply.read())


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as reply:
            return bool(reply.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def insert_rule(config: Path, where: str, rule_id: str, word: str) -> None:
    """Insert a keyword rule at ``where`` of the rules list and rename the file into place."""
    text = config.read_text(encoding="utf-8")
    starts = [m.start() + 1 for m in re.finditer(r"\n- id: ", text)]
    end = text.index("\nsubscriptions:") + 1
    at = {"top": starts[0], "middle": starts[len(starts) // 2], "end": end}[where]
    item = f"- id: {rule_id}\n  any:\n  - {word}\n"
    scratch = config.with_suffix(".new")
    scratch.write_text(text[:at] + item + text[at:], encoding="utf-8")
    scratch.replace(config)


def wait_fires(port: int, token: str, rule_id: str, word: str, poll_s: float) -> float:
    """Seconds until ``POST /rules/test`` on ``word`` returns ``rule_id``."""
    started = time.perf_counter()
    while True:
        found = _request(port, "/rules/test", token, {"title": word, "body": word})
        if any(m["rule_id"] == rule_id for m in found["matches"]):
            return time.perf_counter() - started
        if time.perf_counter() - started > 600:
            raise SystemExit(f"{rule_id} not live within 600 s")
        time.sleep(poll_s)


def run(args: argparse.Namespace, config: Path, env: dict[str, str]) -> None:
    """Start the service, time ready and every edit, stop it."""
    port = free_port()
    token = secrets.token_urlsafe(32)
    log = config.with_name(f"{args.service}.log")
    started = time.perf_counter()
    with log.open("wb") as err:  # a file, not a pipe: a full pipe would block the service
        command = [NEWSALERT, args.service, "--config", str(config), "--api-port", str(port)]
        if args.profile:
            spy = str(Path(sys.executable).with_name("py-spy"))
            command = [spy, "record", "--format", "raw", "-o", args.profile, "--", *command]
        process = subprocess.Popen(
            command,
            env={**env, "NEWSALERT_API_ADMIN_TOKENS": token},
            stdout=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip
    try:
        while not _ready(port):
            if process.poll() is not None:
                raise SystemExit(f"{args.service} exited: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        print(f"ready: {time.perf_counter() - started:.1f} s", flush=True)
        for number, where in enumerate(args.edits.split(",")):
            rule_id, word = f"live-{where}-{number}", f"zqlive{where}{number}"
            seen = log.read_text(errors="replace").count("rules reloaded")
            time.sleep(args.pause)
            insert_rule(config, where, rule_id, word)
            live = wait_fires(port, token, rule_id, word, args.poll)
            reloads = _RELOADED.findall(log.read_text(errors="replace"))[seen:]
            parts = " ".join(f"(load {load} s, compile {comp} s)" for load, comp in reloads)
            print(f"edit at {where:<6}: live in {live:.2f} s {parts}", flush=True)
    finally:
        # py-spy writes its profile on SIGINT and passes it on to the service.
        process.send_signal(signal.SIGINT if args.profile else signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
        if args.log:
            Path(args.log).write_bytes(log.read_bytes())


def main() -> int:
    """Parse arguments, generate the config, start the stack, measure."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rules", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--dense", action="store_true", help="rules from dense_generator")
    parser.add_argument("--service", choices=("run", "matcher"), default="run")
    parser.add_argument("--edits", default=",".join(EDITS), help="top,middle,end in any order")
    parser.add_argument("--poll", type=float, default=0.05, help="seconds between tests")
    parser.add_argument("--pause", type=float, default=2.0, help="seconds before each edit")
    parser.add_argument("--log", help="copy the service's log to this file")
    parser.add_argument(
        "--profile", help="run the service under py-spy record, raw (collapsed) stacks to this file"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="newsalert-live-") as scratch:
        folder = Path(scratch)
        config = folder / "rules.yaml"
        write_config(config, args.rules, args.seed, dense=args.dense)
        size = config.stat().st_size / 2**20
        kind = "dense " if args.dense else ""
        print(f"{args.rules} {kind}rules, {size:.1f} MiB of YAML; newsalert {args.service}")
        stack = EmbeddedStack(folder / "stack")
        info = stack.up()
        try:
            env = {
                **os.environ,
                "NEWSALERT_KAFKA_BOOTSTRAP": info.kafka_bootstrap,
                "NEWSALERT_REDIS_URL": info.redis_url,
                "NEWSALERT_TOPIC_PREFIX": f"live{os.getpid()}.",
                "HOOK": "https://hooks.example.com",
                "SECRET": "whsec_" + base64.b64encode(os.urandom(24)).decode(),
            }
            run(args, config, env)
        finally:
            stack.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
