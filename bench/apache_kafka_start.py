"""How long the Apache Kafka reference broker takes to start, cold and warm.

cold: an empty Maven repository and no jars directory, so Maven fetches the broker
      jars from Maven Central (plus its own plugins) before the JVM starts;
warm: jars already in place: format storage, start the JVM, wait for metadata.

Run: ``.venv/bin/python bench/apache_kafka_start.py [--warm-runs 3]``. Prints the
figures; needs java, mvn and network access to Maven Central for the cold run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from newsalert.stack.apache_kafka import ApacheKafka

POM = Path(__file__).resolve().parents[1] / "tests" / "kafka-reference" / "pom.xml"


def _timed_start(kafka: ApacheKafka) -> float:
    began = time.perf_counter()
    kafka.start()
    elapsed = time.perf_counter() - began
    kafka.stop()
    return elapsed


def main() -> None:
    """Measure one cold start and several warm starts; print seconds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm-runs", type=int, default=3)
    args = parser.parse_args()
    reason = ApacheKafka.unavailable_reason()
    if reason is not None:
        raise SystemExit(f"cannot run: {reason}")
    with tempfile.TemporaryDirectory(prefix="kafka-bench-") as scratch:
        root = Path(scratch)
        # A private Maven repository makes the first fetch really cold without
        # touching the shared ~/.m2 cache.
        os.environ["MAVEN_OPTS"] = (
            os.environ.get("MAVEN_OPTS", "") + f" -Dmaven.repo.local={root / 'm2'}"
        ).strip()
        jars = root / "jars"
        cold = _timed_start(ApacheKafka(root / "state", POM, jars_dir=jars))
        warm = [
            _timed_start(ApacheKafka(root / "state", POM, jars_dir=jars))
            for _ in range(args.warm_runs)
        ]
        m2_mb = sum(f.stat().st_size for f in (root / "m2").rglob("*") if f.is_file()) / 1e6
    print(f"cold start (empty Maven repo, {m2_mb:.0f} MB fetched): {cold:.1f} s")
    print(
        f"warm start (jars cached), {len(warm)} runs: median {statistics.median(warm):.1f} s, "
        f"min {min(warm):.1f} s, max {max(warm):.1f} s"
    )
    print(f"cold / warm ratio: {cold / statistics.median(warm):.1f}x")


if __name__ == "__main__":
    main()
