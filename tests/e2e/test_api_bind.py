"""``newsalert run --api-port P`` without a host listens on loopback only, and locked.

Checked on the real process: the kernel's socket table lists one listener on port P,
bound to 127.0.0.1, and another loopback address (127.0.0.2, which a 0.0.0.0 listener
would accept) is refused. With no token configured only the probes and /metrics answer.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from newsalert.apiauth import API_DISABLED
from newsalert.stack import StackInfo
from newsalert.stack.process import free_port
from tests.integration.pipeline_harness import RULES_YAML, new_secret

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

NEWSALERT = str(Path(sys.executable).with_name("newsalert"))
_LISTEN = "0A"


def listening_addresses(port: int) -> set[str]:
    """Local addresses of TCP sockets listening on ``port`` (from /proc/net/tcp{,6})."""
    found: set[str] = set()
    for table, width in ((Path("/proc/net/tcp"), 8), (Path("/proc/net/tcp6"), 32)):
        if not table.exists():
            continue
        with table.open() as rows:
            next(rows)
            for row in rows:
                local, state = row.split()[1], row.split()[3]
                address, _, hex_port = local.partition(":")
                if state != _LISTEN or int(hex_port, 16) != port:
                    continue
                raw = bytes.fromhex(address)
                # The kernel prints each 32-bit word in host (little-endian) order.
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, width // 2, 4))
                family = socket.AF_INET if width == 8 else socket.AF_INET6
                found.add(socket.inet_ntop(family, words))
    return found


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc/net/tcp")
async def test_run_with_only_a_port_binds_loopback(
    embedded_stack: StackInfo, tmp_path: Path
) -> None:
    config = tmp_path / "rules.yaml"
    config.write_text(RULES_YAML.format(url="http://127.0.0.1:9", secret=new_secret()))
    tag = f"bind{int(time.time() * 1000)}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSALERT_API_")}
    env.update(
        NEWSALERT_KAFKA_BOOTSTRAP=embedded_stack.kafka_bootstrap,
        NEWSALERT_REDIS_URL=embedded_stack.redis_url,
        NEWSALERT_TOPIC_PREFIX=f"{tag}.",
        NEWSALERT_REDIS_PREFIX=f"na:{tag}:",
    )
    port = free_port()
    log = (tmp_path / "run.log").open("w")
    service = subprocess.Popen(  # noqa: ASYNC220  (a user's process; we only signal and reap it)
        [NEWSALERT, "run", "--config", str(config), "--api-port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=3) as client:
            for _ in range(600):
                assert service.poll() is None, (tmp_path / "run.log").read_text()
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            assert listening_addresses(port) == {"127.0.0.1"}
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.2", port), timeout=3).close()
            assert (await client.get("/metrics")).status_code == 200
            locked = await client.get("/rules")
            assert locked.status_code == 403
            assert locked.json()["detail"] == API_DISABLED
    finally:
        service.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(service.wait, 60)
        finally:
            service.kill()
            log.close()
    assert "no API token configured" in (tmp_path / "run.log").read_text()
