"""The reference broker: a single-node Apache Kafka (KRaft) run from Maven Central jars.

The embedded stack's tansu broker speaks the Kafka protocol but is not Kafka. So that the
integration tests also prove the service against the real thing, :class:`ApacheKafka`
fetches the broker jars with ``mvn dependency:copy-dependencies`` (from a small pom under
``tests/kafka-reference/``, cached in ``~/.m2``), formats a KRaft log directory and runs
``java -cp 'jars/*' kafka.Kafka server.properties`` on free loopback ports. It needs
``java`` (17+) and ``mvn`` on PATH; :meth:`ApacheKafka.unavailable_reason` says when not.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import concurrent.futures
import contextlib
import fcntl
import hashlib
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Coroutine
from pathlib import Path
from types import TracebackType
from typing import Any

from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError

from newsalert.errors import StackError
from newsalert.stack.process import free_port, log_tail, port_open

#: Kafka 4 runs on Java 17 or later.
MIN_JAVA = 17

_JAVA_VERSION = re.compile(r'version "(\d+)(?:\.(\d+))?')
_STAMP = ".pom-sha256"
#: Another process may grab a "free" port before the broker binds it; retry that often.
_PORT_ATTEMPTS = 3
#: A single-node broker shuts down in about a second; SIGKILL after this.
_STOP_GRACE_S = 30.0

_LOG4J2 = """\
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.state.name = state.change.logger
logger.state.level = WARN
"""


class ApacheKafka:
    """Single-node KRaft Apache Kafka run from Maven jars with the machine's JDK.

    ``state_dir`` holds the configuration, the log directory and ``broker.log``; it is
    removed by :meth:`stop`. The jars go to ``jars_dir`` (default
    ``<pom dir>/target/jars``) and are reused while the pom is unchanged.
    """

    def __init__(
        self,
        state_dir: Path,
        pom: Path,
        *,
        jars_dir: Path | None = None,
        heap: str = "512m",
    ) -> None:
        self.state_dir = state_dir
        # Absolute paths: Maven resolves a relative ``-DoutputDirectory`` against the pom's
        # folder, not against our working directory.
        self.pom = pom.absolute()
        jars = jars_dir if jars_dir is not None else self.pom.parent / "target" / "jars"
        self.jars_dir = jars.absolute()
        self.heap = heap
        self._process: subprocess.Popen[bytes] | None = None
        self._bootstrap: str | None = None

    @property
    def log_path(self) -> Path:
        """The broker's log file (stdout and stderr of the JVM)."""
        return self.state_dir / "broker.log"

    @property
    def pid(self) -> int:
        """Process id of the running broker's JVM."""
        if self._process is None:
            raise StackError("Apache Kafka is not running")
        return self._process.pid

    @property
    def bootstrap(self) -> str:
        """``127.0.0.1:PORT`` of the running broker."""
        if self._bootstrap is None:
            raise StackError("Apache Kafka is not running")
        return self._bootstrap

    @staticmethod
    def unavailable_reason() -> str | None:
        """Why the reference broker cannot run here (no java, old java, no mvn), or None."""
        java = shutil.which("java")
        if java is None:
            return "java not found on PATH (Apache Kafka needs a JDK 17+)"
        if shutil.which("mvn") is None:
            return "mvn not found on PATH (needed to fetch the Apache Kafka jars)"
        try:
            probe = subprocess.run(
                [java, "-version"], capture_output=True, text=True, timeout=30, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"java -version failed: {exc}"
        found = _JAVA_VERSION.search(probe.stderr + probe.stdout)
        if found is None:
            return f"cannot read the Java version from: {probe.stderr.strip()[:200]}"
        major = int(found.group(1))
        if major == 1 and found.group(2):  # "1.8.0_x" style
            major = int(found.group(2))
        if major < MIN_JAVA:
            return f"java {major} found; Apache Kafka needs Java {MIN_JAVA}+"
        return None

    def start(self, timeout_s: float = 180) -> str:
        """Fetch the jars if needed, format storage, start the broker; return its bootstrap.

        Returns once a Kafka client can fetch cluster metadata. Raises
        :class:`~newsalert.errors.StackError` (with the tail of the broker log) otherwise.
        """
        if self._bootstrap is not None:
            return self._bootstrap
        reason = self.unavailable_reason()
        if reason is not None:
            raise StackError(f"cannot run Apache Kafka: {reason}")
        deadline = time.monotonic() + timeout_s
        jars = self.ensure_jars(timeout_s)
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            try:
                bootstrap = self._start_once(jars, deadline)
            except _PortTakenError:
                if attempt == _PORT_ATTEMPTS:
                    raise
                continue
            self._bootstrap = bootstrap
            atexit.register(self.stop)
            return bootstrap
        raise AssertionError("unreachable")  # pragma: no cover

    def stop(self, *, remove_state: bool = True) -> None:
        """SIGTERM the broker, wait, SIGKILL if it lingers; then remove ``state_dir``."""
        process, self._process = self._process, None
        self._bootstrap = None
        atexit.unregister(self.stop)
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=_STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=_STOP_GRACE_S)
        if remove_state:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self) -> ApacheKafka:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def ensure_jars(self, timeout_s: float = 180) -> Path:
        """The directory of broker jars, fetched with Maven unless already there for this pom.

        A file lock serialises concurrent test sessions; the jars are copied to a temporary
        sibling and renamed, so a half-copied directory is never used.
        """
        if not self.pom.is_file():
            raise StackError(f"Kafka reference pom not found: {self.pom}")
        digest = hashlib.sha256(self.pom.read_bytes()).hexdigest()
        if _jars_ready(self.jars_dir, digest):
            return self.jars_dir
        parent = self.jars_dir.parent
        parent.mkdir(parents=True, exist_ok=True)
        with (parent / f".{self.jars_dir.name}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if _jars_ready(self.jars_dir, digest):
                return self.jars_dir
            staging = Path(tempfile.mkdtemp(prefix=f".{self.jars_dir.name}-", dir=parent))
            try:
                self._copy_dependencies(staging, timeout_s)
                staging.chmod(0o755)
                (staging / _STAMP).write_text(digest)
                shutil.rmtree(self.jars_dir, ignore_errors=True)
                staging.rename(self.jars_dir)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        return self.jars_dir

    def _copy_dependencies(self, target: Path, timeout_s: float) -> None:
        mvn = shutil.which("mvn") or "mvn"
        argv = [
            mvn, "-q", "-B", "-f", str(self.pom),
            "dependency:copy-dependencies", f"-DoutputDirectory={target}",
        ]  # fmt: skip
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=timeout_s, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise StackError(
                f"mvn did not fetch the Apache Kafka jars within {timeout_s:.0f}s "
                "(is Maven Central reachable?)"
            ) from exc
        if done.returncode != 0 or not any(target.glob("kafka_*.jar")):
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
            raise StackError(
                f"mvn could not fetch the Apache Kafka jars (exit {done.returncode}; "
                f"is Maven Central reachable?):\n{tail}"
            )

    def _format(self, jvm: list[str], config: Path, timeout_s: float) -> None:
        argv = [*jvm, "kafka.tools.StorageTool", "format", "--ignore-formatted"]
        argv += ["--cluster-id", random_cluster_id(), "--config", str(config)]
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=timeout_s, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise StackError(
                f"formatting the Kafka log directory took over {timeout_s:.0f}s"
            ) from exc
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
            raise StackError(f"kafka StorageTool format failed (exit {done.returncode}):\n{tail}")

    def _start_once(self, jars: Path, deadline: float) -> str:
        """Format and start on fresh free ports; :class:`_PortTakenError` if one got taken."""
        shutil.rmtree(self.state_dir, ignore_errors=True)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        port, controller_port = free_port(), free_port()
        while controller_port == port:
            controller_port = free_port()
        config = self.state_dir / "server.properties"
        config.write_text(server_properties(self.state_dir / "data", port, controller_port))
        log4j = self.state_dir / "log4j2.properties"
        log4j.write_text(_LOG4J2)
        java = shutil.which("java") or "java"
        jvm = [java, f"-Xmx{self.heap}", f"-Dlog4j2.configurationFile={log4j}", "-cp", f"{jars}/*"]
        self._format(jvm, config, _remaining(deadline))
        self._spawn([*jvm, "kafka.Kafka", str(config)])
        bootstrap = f"127.0.0.1:{port}"
        try:
            self._wait_for_metadata(bootstrap, deadline)
        except StackError as exc:
            self.stop(remove_state=False)
            if "Address already in use" in log_tail(self.log_path, lines=200):
                raise _PortTakenError(str(exc)) from exc
            raise
        return bootstrap

    def _spawn(self, argv: list[str]) -> None:
        with self.log_path.open("ab") as log:
            try:
                self._process = subprocess.Popen(
                    argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
                )
            except OSError as exc:
                raise StackError(f"cannot start Apache Kafka ({argv[0]}): {exc}") from exc

    def _wait_for_metadata(self, bootstrap: str, deadline: float) -> None:
        last_error = "port not open yet"
        port = int(bootstrap.rsplit(":", 1)[1])
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                raise StackError(
                    f"Apache Kafka exited during start-up; log {self.log_path}:\n"
                    f"{log_tail(self.log_path)}"
                )
            if not port_open(port):
                # aiokafka logs every refused connection; poll the socket quietly first.
                time.sleep(0.1)
                continue
            try:
                if _run_isolated(_metadata_brokers(bootstrap)) > 0:
                    return
                last_error = "metadata lists no brokers yet"
            except (KafkaError, OSError) as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            time.sleep(0.2)
        raise StackError(
            f"Apache Kafka on {bootstrap} served no metadata in time ({last_error}); "
            f"log {self.log_path}:\n{log_tail(self.log_path)}"
        )


class _PortTakenError(StackError):
    """A port picked as free was taken before the broker bound it."""


def server_properties(data_dir: Path, port: int, controller_port: int) -> str:
    """``server.properties`` of a combined broker+controller node on loopback ports."""
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(data_dir),
        "num.partitions": "3",
        "offsets.topic.replication.factor": "1",
        # Fewer internal partitions make the first consumer group join noticeably faster.
        "offsets.topic.num.partitions": "3",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "3",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def random_cluster_id() -> str:
    """A cluster id as ``kafka-storage random-uuid`` makes it (base64url, 22 characters)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):  # Kafka avoids ids that look like CLI flags
            return text


def _jars_ready(jars_dir: Path, digest: str) -> bool:
    stamp = jars_dir / _STAMP
    return stamp.is_file() and stamp.read_text().strip() == digest


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise StackError("Apache Kafka start-up timed out")
    return left


async def _metadata_brokers(bootstrap: str) -> int:
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    try:
        await client.bootstrap()
        return len(client.cluster.brokers())
    finally:
        with contextlib.suppress(Exception):
            await client.close()


def _run_isolated(coro: Coroutine[Any, Any, int]) -> int:
    """Run a coroutine on a private event loop in a worker thread.

    ``start`` is synchronous and may be called from inside a running loop (an async
    pytest fixture), where ``asyncio.run`` would refuse to run.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
