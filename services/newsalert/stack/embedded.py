"""Start, find and stop the embedded broker + Redis pair; state lives in a JSON file."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from newsalert.errors import StackError
from newsalert.stack.binaries import redis_binary, tansu_binary
from newsalert.stack.process import ServerProcess, free_port

STATE_FILE = "stack.json"


@dataclass(frozen=True)
class StackInfo:
    """Where the running embedded stack listens."""

    kafka_bootstrap: str
    redis_url: str
    broker_pid: int
    redis_pid: int
    state_dir: str

    def exports(self) -> str:
        """Shell lines that point newsalert at this stack."""
        return (
            f"export NEWSALERT_KAFKA_BOOTSTRAP={self.kafka_bootstrap}\n"
            f"export NEWSALERT_REDIS_URL={self.redis_url}"
        )


def spawn_redis(
    port: int, data_dir: Path, *, persistent: bool = False, timeout_s: float = 30.0
) -> ServerProcess:
    """A Redis (or valkey) server on ``127.0.0.1:port`` keeping its files in ``data_dir``.

    ``persistent`` turns on the append-only file with fsync on every write, so a restart
    on the same ``data_dir`` keeps every key (what outage tests need); the embedded stack
    runs without persistence.
    """
    persistence = ["--appendonly", "yes", "--appendfsync", "always"] if persistent else [
        "--appendonly", "no"
    ]  # fmt: skip
    argv = [
        str(redis_binary()),
        "--port", str(port),
        "--bind", "127.0.0.1",
        # Never evict (the services refuse to run otherwise): see newsalert.redis_policy.
        "--maxmemory-policy", "noeviction",
        "--save", "",
        *persistence,
        "--dir", str(data_dir),
    ]  # fmt: skip
    return ServerProcess.spawn("redis", argv, port, data_dir / "logs" / "redis.log", timeout_s)


def spawn_tansu(port: int, log_dir: Path, *, timeout_s: float = 30.0) -> ServerProcess:
    """A tansu broker with memory storage on ``127.0.0.1:port``."""
    url = f"tcp://127.0.0.1:{port}"
    argv = [
        str(tansu_binary()),
        "broker",
        "--listener-url", url,
        "--advertised-listener-url", url,
        "--storage-engine", "memory://tansu/",
    ]  # fmt: skip
    return ServerProcess.spawn("tansu", argv, port, log_dir / "broker.log", timeout_s)


class EmbeddedStack:
    """A tansu broker (memory storage) and a Redis server on free loopback ports.

    The processes run in their own sessions so ``newsalert stack up`` can return while
    they keep running; ``down`` stops them using the pids in ``<state_dir>/stack.json``.
    """

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self._state_file = state_dir / STATE_FILE

    def status(self) -> StackInfo | None:
        """The running stack, or None when nothing (alive) is recorded."""
        if not self._state_file.exists():
            return None
        info = StackInfo(**json.loads(self._state_file.read_text()))
        broker, redis = self._processes(info)
        if broker.alive() and redis.alive():
            return info
        return None

    def up(self, timeout_s: float = 30.0) -> StackInfo:
        """Start both servers (or return the already-running pair)."""
        running = self.status()
        if running is not None:
            return running
        self.down()  # clear a half-dead previous run
        self.state_dir.mkdir(parents=True, exist_ok=True)
        logs = self.state_dir / "logs"
        redis_port = free_port()
        redis = spawn_redis(redis_port, self.state_dir, timeout_s=timeout_s)
        broker_port = free_port()
        try:
            broker = spawn_tansu(broker_port, logs, timeout_s=timeout_s)
        except StackError:
            redis.stop()
            raise
        info = StackInfo(
            kafka_bootstrap=f"127.0.0.1:{broker_port}",
            redis_url=f"redis://127.0.0.1:{redis_port}/0",
            broker_pid=broker.pid,
            redis_pid=redis.pid,
            state_dir=str(self.state_dir),
        )
        self._state_file.write_text(json.dumps(asdict(info), indent=2))
        return info

    def down(self) -> bool:
        """Stop the recorded servers; True when something was stopped."""
        if not self._state_file.exists():
            return False
        try:
            info = StackInfo(**json.loads(self._state_file.read_text()))
        except (ValueError, TypeError):
            self._state_file.unlink()
            return False
        for process in self._processes(info):
            process.stop()
        self._state_file.unlink()
        return True

    def _processes(self, info: StackInfo) -> tuple[ServerProcess, ServerProcess]:
        logs = Path(info.state_dir) / "logs"
        broker_port = int(info.kafka_bootstrap.rsplit(":", 1)[1])
        redis_port = int(info.redis_url.rsplit(":", 1)[1].split("/")[0])
        return (
            ServerProcess("tansu", info.broker_pid, broker_port, logs / "broker.log"),
            ServerProcess("redis", info.redis_pid, redis_port, logs / "redis.log"),
        )
