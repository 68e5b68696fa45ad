"""Fuzz the running service with generated hostile articles; print what happened to them.

A longer profile of ``tests/integration/test_hostile_input.py``: the embedded stack
(tansu + Redis), a real webhook inbox and ``newsalert run`` as a separate process, as a
user runs it. Batches of hostile records (``tests/hostile_input.py``: random bytes, lone
surrogates, format characters, deep nesting, huge numbers, odd URLs and dates, huge
tokens, wrong types) go to one partition each, followed there by a sentinel article that
must alert exactly once within ``--stall-s`` seconds (else: a stall).

Prints records tried, their outcomes (processed, DLQ by kind), disagreements between the
DLQ and the edge's own verdict, sentinels missing or repeated, service restarts (the
process exited; it is restarted and counted), stalls, poison records and batch retries.
Restarts, stalls, disagreements and poison records must all be 0.

    .venv/bin/python bench/fuzz.py [--records 2000] [--seed 1] [--stall-s 30]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.hostile_input import batches, generate
from tests.integration.guarantee_support import (
    ServiceProcess,
    counted,
    eventually,
    service_env,
)
from tests.integration.hostile_support import (
    RULES_YAML,
    PartitionPublisher,
    delivered_articles,
    edge_kind,
    read_dead_letters,
    sentinel,
)
from tests.integration.pipeline_harness import new_secret

from newsalert import constants
from newsalert.kafka import ensure_topics, group_caught_up
from newsalert.receiver import WebhookInbox
from newsalert.settings import Settings
from newsalert.stack import EmbeddedStack


async def _fuzz(args: argparse.Namespace, stack_dir: Path) -> int:
    stack = EmbeddedStack(stack_dir / "stack")
    info = stack.up()
    inbox = WebhookInbox()
    await inbox.start()
    tag = uuid.uuid4().hex[:8]
    settings = Settings(
        kafka_bootstrap=info.kafka_bootstrap,
        redis_url=info.redis_url,
        topic_prefix=f"fuzz{tag}.",
        redis_prefix=f"na:fuzz:{tag}:",
    )
    config = stack_dir / "rules.yaml"
    config.write_text(RULES_YAML.format(url=inbox.url, secret=new_secret()))
    await ensure_topics(settings)
    service = ServiceProcess("run", config, service_env(settings), stack_dir / "service.log")
    restarts = stalls = 0
    hostile: dict[str, bytes] = {}
    sentinels: list[str] = []
    rng = random.Random(args.seed)
    try:
        service.start()
        await service.wait_ready()
        started = time.monotonic()
        plan: list[tuple[list[bytes], int]] = []
        while sum(len(values) for values, _p in plan) < args.records:
            plan += generate(batches(), 100, random_seed=args.seed + len(plan))
        generated_s = time.monotonic() - started
        started = time.monotonic()
        async with PartitionPublisher(settings) as publisher:
            for values, partition in plan:
                for value in values:
                    hostile[await publisher.put(value, partition)] = value
                article_id, raw = sentinel(len(sentinels), rng)
                sentinels.append(article_id)
                await publisher.put(raw, partition)

                async def arrived(article_id: str = article_id) -> bool:
                    return article_id in delivered_articles(inbox.received, "/sentinel")

                if not await eventually(arrived, args.stall_s, every_s=0.02):
                    stalls += 1
                    print(f"STALL: sentinel {article_id} missing after {args.stall_s}s")
                    break
                if service.process is not None and service.process.poll() is not None:
                    restarts += 1
                    print(f"RESTART: the service exited:\n{service.log_tail()}")
                    service.start()
                    await service.wait_ready()
        elapsed = time.monotonic() - started
        group = settings.group(constants.MATCHER_GROUP)
        topic = settings.topic(constants.TOPIC_ARTICLES)

        async def caught_up() -> bool:
            return await group_caught_up(settings, group, topic)

        lag_zero = await eventually(caught_up, 30)
        ready = await service.ready_status()
        metrics = await service.metrics()
    finally:
        await service.close()
        await inbox.stop()

    letters = {letter.source: letter for letter in await read_dead_letters(settings)}
    stack.down()
    outcomes: Counter[str] = Counter()
    disagreements = 0
    for position, value in hostile.items():
        letter = letters.get(position)
        edge = edge_kind(value, settings.max_article_bytes)
        outcomes[f"dlq:{letter.kind}" if letter else "processed"] += 1
        if (letter.kind if letter else None) != edge or (letter and not letter.reason):
            disagreements += 1
            print(f"DISAGREE {position}: dlq={letter} edge={edge} value={value[:120]!r}")
    seen = delivered_articles(inbox.received, "/sentinel")
    missing = sum(1 for s in sentinels if seen[s] == 0)
    repeated = sum(1 for s in sentinels if seen[s] > 1)
    poison = counted(metrics, "newsalert_poison_records_total", service="matcher")
    retries = counted(metrics, "newsalert_matcher_batch_retries_total")

    print(
        f"records tried        {len(hostile)} in {len(sentinels)} batches "
        f"(seed {args.seed}; generated in {generated_s:.1f}s, "
        f"ran in {elapsed:.1f}s = {len(hostile) / elapsed:.0f} records/s incl. sentinel waits)"
    )
    for outcome, count in sorted(outcomes.items(), key=lambda item: -item[1]):
        print(f"  {outcome:<28} {count}")
    print(f"alerts on /hostile   {sum(delivered_articles(inbox.received, '/hostile').values())}")
    print(f"sentinels            {len(sentinels)} (missing {missing}, repeated {repeated})")
    print(f"DLQ vs edge          {disagreements} disagreements")
    print(f"restarts             {restarts}")
    print(f"stalls               {stalls}")
    print(f"poison records       {poison:.0f}")
    print(f"batch retries        {retries:.0f}")
    print(f"matcher lag 0        {lag_zero}; /readyz {ready}")
    bad = restarts or stalls or disagreements or poison or missing or repeated or not lag_zero
    return 1 if bad or ready != 200 else 0  # fmt: skip


def main() -> None:
    """Parse arguments, run, exit 1 when anything must-be-zero was not."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2000, help="hostile records to publish")
    parser.add_argument("--seed", type=int, default=1, help="Hypothesis seed (reproducible)")
    parser.add_argument("--stall-s", type=float, default=30.0, help="sentinel deadline")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="newsalert-fuzz-") as tmp:
        sys.exit(asyncio.run(_fuzz(args, Path(tmp))))


if __name__ == "__main__":
    main()
