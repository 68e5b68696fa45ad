"""The service on a real three-node Apache Kafka cluster while a partition leader dies.

Starts three KRaft nodes (broker + controller each) from the Maven jars the tests use
(``tests/kafka-reference/pom.xml``), topics with replication factor 3 and
``min.insync.replicas=2``, a Redis and a webhook inbox, then ``newsalert run`` with all
three bootstrap addresses. It publishes ``--articles`` distinct matching articles at
``--rate`` per second; a third of the way in it SIGKILLs the node leading partition 0 of
``articles`` and restarts it ``--down`` seconds later. Meanwhile it samples ``/readyz``,
``/healthz`` and the gauge ``newsalert_alert_produce_oldest_pending_seconds`` every
0.25 s. At the end: alerts delivered vs expected (each article alerts once), duplicates
(a webhook-id delivered twice), whether the service stayed up, the longest gap between
deliveries, how long ``/readyz`` said 503 and the largest stall the gauge showed.
Prints the figures; asserts nothing.

    .venv/bin/python bench/cluster.py                       # 3000 articles at 100/s
    .venv/bin/python bench/cluster.py --articles 600 --rate 30 --down 15
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from newsalert import constants
from newsalert.kafka import make_producer
from newsalert.receiver import ReceivedRequest, WebhookInbox
from newsalert.settings import Settings
from newsalert.stack.apache_kafka import _LOG4J2, ApacheKafka, random_cluster_id
from newsalert.stack.embedded import spawn_redis
from newsalert.stack.process import free_port, port_open

REPO = Path(__file__).resolve().parents[1]
NEWSALERT = str(Path(sys.executable).with_name("newsalert"))
NODES = 3
SECRET = "whsec_" + "c2VjcmV0LWZvci10aGUtY2x1c3Rlci1iZW5jaA=="
CONFIG = """\
version: 1
rules:
  - id: port
    all: [port]
subscriptions:
  - id: desk
    url: {url}/desk
    secret: {secret}
"""


@dataclass
class Node:
    """One KRaft node (broker + controller) of the cluster."""

    node_id: int
    port: int
    controller_port: int
    folder: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        """Its bootstrap address."""
        return f"127.0.0.1:{self.port}"


def properties(node: Node, voters: str) -> str:
    """``server.properties`` of one node of the three."""
    settings = {
        "process.roles": "broker,controller",
        "node.id": str(node.node_id),
        "controller.quorum.voters": voters,
        "listeners": f"PLAINTEXT://127.0.0.1:{node.port},"
        f"CONTROLLER://127.0.0.1:{node.controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{node.port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(node.folder / "data"),
        "num.partitions": "3",
        "default.replication.factor": "3",
        "min.insync.replicas": "2",
        "offsets.topic.replication.factor": "3",
        "offsets.topic.num.partitions": "3",
        "transaction.state.log.replication.factor": "3",
        "transaction.state.log.min.isr": "2",
        "share.coordinator.state.topic.replication.factor": "3",
        "share.coordinator.state.topic.min.isr": "2",
        "group.initial.rebalance.delay.ms": "0",
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


class Cluster:
    """Three nodes run from the reference jars; each can be killed and restarted."""

    def __init__(self, folder: Path, heap: str) -> None:
        jars = ApacheKafka(folder / "jars-probe", REPO / "tests/kafka-reference/pom.xml")
        self.jars = jars.ensure_jars(600)
        self.heap = heap
        self.nodes = [
            Node(n, free_port(), free_port(), folder / f"node{n}") for n in range(1, NODES + 1)
        ]
        voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in self.nodes)
        cluster_id = random_cluster_id()
        for node in self.nodes:
            node.folder.mkdir(parents=True)
            (node.folder / "server.properties").write_text(properties(node, voters))
            (node.folder / "log4j2.properties").write_text(_LOG4J2)
            subprocess.run(
                [*self._jvm(node), "kafka.tools.StorageTool", "format", "--ignore-formatted",
                 "--cluster-id", cluster_id, "--config", str(node.folder / "server.properties")],
                check=True, capture_output=True, timeout=300,
            )  # fmt: skip

    def _jvm(self, node: Node) -> list[str]:
        java = shutil.which("java") or "java"
        log4j = node.folder / "log4j2.properties"
        return [
            java,
            f"-Xmx{self.heap}",
            f"-Dlog4j2.configurationFile={log4j}",
            "-cp",
            f"{self.jars}/*",
        ]

    @property
    def bootstrap(self) -> str:
        """Every node's address, comma separated (NEWSALERT_KAFKA_BOOTSTRAP)."""
        return ",".join(node.address for node in self.nodes)

    def start(self, node: Node) -> None:
        """Start (or restart, on the same data) one node."""
        with (node.folder / "broker.log").open("ab") as log:
            node.process = subprocess.Popen(
                [*self._jvm(node), "kafka.Kafka", str(node.folder / "server.properties")],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )  # fmt: skip

    def kill(self, node: Node) -> None:
        """SIGKILL one node."""
        if node.process is not None:
            node.process.send_signal(signal.SIGKILL)
            node.process.wait()
            node.process = None

    def stop(self) -> None:
        """Stop every node."""
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.terminate()
        for node in self.nodes:
            if node.process is not None:
                try:
                    node.process.wait(60)
                except subprocess.TimeoutExpired:
                    node.process.kill()


async def wait_for_brokers(settings: Settings, count: int, timeout_s: float) -> None:
    """Until the cluster metadata lists ``count`` brokers."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(port_open(int(a.rsplit(":", 1)[1])) for a in settings.bootstrap_servers):
            admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
            try:
                await admin.start()
                cluster = await admin.describe_cluster()
                if len(cluster.get("brokers", [])) >= count:
                    return
            except Exception as exc:
                print(f"  waiting for the cluster: {type(exc).__name__}", flush=True)
            finally:
                await admin.close()
        await asyncio.sleep(1)
    raise SystemExit(f"the cluster did not list {count} brokers within {timeout_s:.0f}s")


async def create_topics(settings: Settings) -> None:
    """The service's topics with replication factor 3 and min.insync.replicas=2."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        names = (constants.TOPIC_ARTICLES, constants.TOPIC_ALERTS, constants.TOPIC_ARTICLES_DLQ)
        topics = [
            NewTopic(settings.topic(name), 3, 3, topic_configs={"min.insync.replicas": "2"})
            for name in (*names, constants.TOPIC_ALERTS_DLQ)
        ]
        await admin.create_topics(topics)
    finally:
        await admin.close()


async def leader_of(settings: Settings, topic: str, partition: int) -> int:
    """Node id leading ``topic``/``partition`` now."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
        return next(
            int(p["leader"]) for p in described["partitions"] if p["partition"] == partition
        )
    finally:
        await admin.close()


@dataclass
class Samples:
    """What the probes saw, 0.25 s apart."""

    readyz: list[tuple[float, int]] = field(default_factory=list)
    healthz_failures: int = 0
    max_stall_s: float = 0.0
    service_exited: bool = False


async def probe(
    api: str, process: subprocess.Popen[bytes], stop: asyncio.Event, out: Samples
) -> None:
    """Sample readiness, liveness and the produce-stall gauge until ``stop``."""
    async with httpx.AsyncClient(base_url=api, timeout=2) as client:
        while not stop.is_set():
            now = time.monotonic()
            if process.poll() is not None:
                out.service_exited = True
            try:
                out.readyz.append((now, (await client.get("/readyz")).status_code))
                if (await client.get("/healthz")).status_code != 200:
                    out.healthz_failures += 1
                for line in (await client.get("/metrics")).text.splitlines():
                    if line.startswith("newsalert_alert_produce_oldest_pending_seconds "):
                        out.max_stall_s = max(out.max_stall_s, float(line.split()[1]))
            except httpx.HTTPError:
                out.readyz.append((now, 0))
                out.healthz_failures += 1
            await asyncio.sleep(0.25)


def report(
    expected: int,
    received: list[ReceivedRequest],
    samples: Samples,
    elapsed_s: float,
    slowest_send_s: float,
) -> None:
    """Print what arrived and what the probes saw."""
    ids = Counter(r.headers["webhook-id"] for r in received)
    arrivals = sorted(r.received_at for r in received)
    gap = max((b - a for a, b in itertools.pairwise(arrivals)), default=float("nan"))
    longest, bad = longest_not_ready(samples.readyz)
    twice = sum(1 for count in ids.values() if count > 1)
    print(f"alerts delivered: {len(ids)}/{expected} distinct, {sum(ids.values())} requests,")
    print(f"  {twice} delivered twice; all in {elapsed_s:.1f}s from the first publish")
    print(
        f"longest gap between deliveries {gap:.1f}s; slowest publisher send {slowest_send_s:.2f}s"
    )
    print(f"/readyz: {bad} of {len(samples.readyz)} samples not 200, longest run {longest:.1f}s")
    print(f"largest produce-stall gauge {samples.max_stall_s:.1f}s")
    print(f"/healthz failures {samples.healthz_failures}")


def longest_not_ready(samples: list[tuple[float, int]]) -> tuple[float, int]:
    """The longest run of non-200 /readyz answers (seconds) and how many such samples."""
    longest, start, bad = 0.0, None, 0
    for when, status in samples:
        if status != 200:
            bad += 1
            start = when if start is None else start
            longest = max(longest, when - start)
        else:
            start = None
    return longest, bad


async def run(args: argparse.Namespace, folder: Path) -> None:
    """Cluster up, service up, publish with a leader kill, report."""
    cluster = Cluster(folder, args.heap)
    redis = spawn_redis(free_port(), folder)
    inbox = WebhookInbox()
    await inbox.start()
    service: subprocess.Popen[bytes] | None = None
    try:
        started = time.monotonic()
        for node in cluster.nodes:
            cluster.start(node)
        settings = Settings(
            kafka_bootstrap=cluster.bootstrap, redis_url=f"redis://127.0.0.1:{redis.port}/0"
        )
        await wait_for_brokers(settings, NODES, 300)
        print(f"cluster of {NODES} up in {time.monotonic() - started:.0f}s: {cluster.bootstrap}")
        await create_topics(settings)
        config = folder / "rules.yaml"
        config.write_text(CONFIG.format(url=inbox.url, secret=SECRET))
        api_port = free_port()
        env = {
            **os.environ,
            "NEWSALERT_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "NEWSALERT_REDIS_URL": settings.redis_url,
            "NEWSALERT_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8",
        }
        with (folder / "service.log").open("wb") as log:
            service = subprocess.Popen(  # noqa: ASYNC220  (started once; only signalled after)
                [NEWSALERT, "run", "--config", str(config), "--api-port", str(api_port)],
                env=env, stdout=subprocess.PIPE, stderr=log,
            )  # fmt: skip
        assert service.stdout is not None
        line = await asyncio.to_thread(service.stdout.readline)
        if line.strip() != b"matcher+dispatcher ready":
            raise SystemExit(f"service did not start: {line!r}; see {folder / 'service.log'}")
        samples, stop = Samples(), asyncio.Event()
        prober = asyncio.create_task(probe(f"http://127.0.0.1:{api_port}", service, stop, samples))
        topic = settings.topic(constants.TOPIC_ARTICLES)
        producer = make_producer(settings)
        await producer.start()
        kill_at = args.articles // 3
        victim: Node | None = None
        killed_at = restarted_at = 0.0
        publish_start = time.monotonic()
        slowest_send = 0.0
        pending: list[asyncio.Future[object]] = []
        for n in range(args.articles):
            due = publish_start + n / args.rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            if n == kill_at:
                leader = await leader_of(settings, topic, 0)
                victim = cluster.nodes[leader - 1]
                cluster.kill(victim)
                killed_at = time.monotonic()
                at = killed_at - publish_start
                print(f"t={at:.1f}s: SIGKILL node {leader} (leader of {topic}/0)")
            if (
                victim is not None
                and not restarted_at
                and time.monotonic() - killed_at >= args.down
            ):
                cluster.start(victim)
                restarted_at = time.monotonic()
                print(f"t={restarted_at - publish_start:.1f}s: node {victim.node_id} restarted")
            words = " ".join(secrets.token_hex(4) for _ in range(30))
            body = json.dumps({"id": f"c{n}", "title": f"Port {n}", "body": words}).encode()
            sent = time.monotonic()
            pending.append(await producer.send(topic, value=body, key=f"c{n}".encode()))
            slowest_send = max(slowest_send, time.monotonic() - sent)
        if victim is not None and not restarted_at:
            await asyncio.sleep(max(0.0, args.down - (time.monotonic() - killed_at)))
            cluster.start(victim)
            restarted_at = time.monotonic()
            print(f"t={restarted_at - publish_start:.1f}s: node {victim.node_id} restarted")
        await asyncio.gather(*pending)
        await producer.stop()
        published = time.monotonic() - publish_start
        rate = args.articles / published
        print(f"published {args.articles} articles in {published:.1f}s ({rate:.0f}/s)")
        with contextlib.suppress(TimeoutError):
            await inbox.wait_for(args.articles, timeout_s=args.articles / args.rate + 180)
        done = time.monotonic()
        await asyncio.sleep(3)  # a late duplicate gets a chance to show
        stop.set()
        await prober
        received = list(inbox.received)
        report(args.articles, received, samples, done - publish_start, slowest_send)
        print(f"service up throughout: {not samples.service_exited and service.poll() is None}")
    finally:
        if service is not None and service.poll() is None:
            service.send_signal(signal.SIGTERM)
            try:
                service.wait(60)
            except subprocess.TimeoutExpired:
                service.kill()
        await inbox.stop()
        cluster.stop()
        redis.stop()


def main() -> int:
    """Parse arguments and run once."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=100.0, help="articles per second")
    parser.add_argument("--down", type=float, default=10.0, help="seconds the node stays dead")
    parser.add_argument("--heap", default="384m", help="-Xmx of each node")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="newsalert-cluster-"))
    try:
        asyncio.run(run(args, folder))
    finally:
        if args.keep:
            print(f"logs in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
