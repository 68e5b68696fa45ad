"""A background server process we started: spawn detached, wait for its port, stop it."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from newsalert.errors import StackError

#: Servers this process started. Holding the Popen objects keeps them from being
#: garbage-collected while the server runs (which Python reports as a ResourceWarning);
#: ``stop`` reaps them.
_STARTED: dict[int, subprocess.Popen[bytes]] = {}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def pid_alive(pid: int) -> bool:
    """True when process ``pid`` exists (and is not a zombie we own)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    return True


def log_tail(path: Path, lines: int = 15) -> str:
    """The last ``lines`` lines of a log file, for error messages."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class ServerProcess:
    """A server started in its own session so it outlives the CLI that started it."""

    name: str
    pid: int
    port: int
    log: Path

    @classmethod
    def spawn(
        cls, name: str, argv: list[str], port: int, log: Path, timeout_s: float
    ) -> ServerProcess:
        """Start ``argv`` in the background and wait until ``port`` accepts connections."""
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            try:
                proc = subprocess.Popen(
                    argv,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            except OSError as exc:
                raise StackError(f"cannot start {name} ({argv[0]}): {exc}") from exc
        _STARTED[proc.pid] = proc
        server = cls(name=name, pid=proc.pid, port=port, log=log)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise StackError(
                    f"{name} exited with code {proc.returncode} during start-up; "
                    f"log {log}:\n{log_tail(log)}"
                )
            if port_open(port):
                return server
            time.sleep(0.05)
        server.stop()
        raise StackError(
            f"{name} did not open port {port} within {timeout_s:.0f}s; log:\n{log_tail(log)}"
        )

    def alive(self) -> bool:
        """True when the process still runs."""
        return pid_alive(self.pid)

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM, wait, then SIGKILL; quiet when it is already gone."""
        try:
            self._signal_and_wait(timeout_s)
        finally:
            proc = _STARTED.pop(self.pid, None)
            if proc is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=1)

    def _signal_and_wait(self, timeout_s: float) -> None:
        for sig, wait_s in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 5.0)):
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline:
                if not pid_alive(self.pid):
                    return
                time.sleep(0.05)
