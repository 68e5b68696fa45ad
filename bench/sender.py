"""Webhooks per second of one ``WebhookSender`` against the fast local receiver.

Isolates the HTTP client's cost from Redis and Kafka: one process, the sender posting
a small signed body to ``bench/fastinbox.py`` on loopback with N requests in flight.
Prints wall rate and CPU microseconds per request (receiver included, same process), for
the sender's own HTTP/1.1 client (``http1``) and, in the same run, for the same sender
over an httpx transport with the pool settings the dispatcher used with httpx (``httpx``).

    .venv/bin/python bench/sender.py --concurrency 1,4,8,16,32 --requests 2000
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from fastinbox import FastInbox

from newsalert.webhooks.sender import WebhookSender
from newsalert.webhooks.signing import sign_request
from newsalert.webhooks.ssrf import AddressPolicy

SECRET = "whsec_dGVzdHNlY3JldHRlc3Q="


def _httpx_transport() -> httpx.AsyncHTTPTransport:
    return httpx.AsyncHTTPTransport(
        retries=0,
        limits=httpx.Limits(
            max_connections=512, max_keepalive_connections=512, keepalive_expiry=5.0
        ),
    )


async def main_async(levels: list[int], count: int, clients: list[str]) -> None:
    """Post ``count`` requests at each concurrency level and print the rates."""
    inbox = FastInbox()
    await inbox.start()
    try:
        for name in clients:
            transport = _httpx_transport() if name == "httpx" else None
            sender = WebhookSender(AddressPolicy.from_strings(["127.0.0.0/8"]), transport=transport)
            try:
                await _levels(name, sender, inbox, levels, count)
            finally:
                await sender.aclose()
    finally:
        await inbox.stop()


async def _levels(
    name: str, sender: WebhookSender, inbox: FastInbox, levels: list[int], count: int
) -> None:
    request = sign_request([SECRET], "msg_1", int(time.time()), b'{"type":"news.alert"}')
    for level in levels:
        slots = asyncio.Semaphore(level)

        async def one() -> None:
            async with slots:  # noqa: B023  (each level awaits its own gather)
                result = await sender.post(f"{inbox.url}/bench", request, pool="bench")
                assert result.status == 200, result

        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one() for _ in range(count)))
        wall, used = time.perf_counter() - started, time.process_time() - cpu
        print(f"{name:>5}, {level:>3} in flight: {count / wall:8,.0f} requests/s, "
              f"{used / count * 1e6:6,.0f} µs CPU per request", flush=True)  # fmt: skip


def main() -> int:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--concurrency", default="1,4,8,16,32")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", default="http1,httpx", help="http1 and/or httpx")
    args = parser.parse_args()
    levels = [int(level) for level in args.concurrency.split(",")]
    asyncio.run(main_async(levels, args.requests, args.clients.split(",")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
