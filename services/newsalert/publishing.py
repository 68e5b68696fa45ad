"""Put JSONL articles on a topic, as a crawler would (``newsalert publish``).

Lines are sent as they are, even invalid ones: judging input is the matcher's job and a
bad line must reach ``articles.dlq`` with its reason. The record key is the article id
(so copies of one article land on one partition) and the record timestamp is the
article's ``published_at`` unless told otherwise, so archives can be replayed by date.
"""

from __future__ import annotations

import gzip
import json
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, cast

from newsalert.kafka import kafka_calls, make_producer
from newsalert.settings import Settings
from newsalert.timespec import to_ms


def read_lines(path: Path) -> Iterator[bytes]:
    """Non-blank lines of a JSONL file (``.gz`` allowed; ``-`` is stdin)."""
    opened: IO[bytes]
    if str(path) == "-":
        opened = sys.stdin.buffer
    elif path.suffix == ".gz":
        opened = cast("IO[bytes]", gzip.open(path, "rb"))  # noqa: SIM115  (closed by the with below)
    else:
        opened = path.open("rb")
    with opened:
        for line in opened:
            stripped = line.strip()
            if stripped:
                yield stripped


def record_key_and_time(line: bytes) -> tuple[bytes | None, int | None]:
    """The article id (as key) and ``published_at`` in ms, when the line carries them."""
    try:
        data = json.loads(line)
    except ValueError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    key = str(data["id"]).encode() if data.get("id") not in (None, "") else None
    published = data.get("published_at")
    if not isinstance(published, str):
        return key, None
    try:
        moment = datetime.fromisoformat(published.replace("Z", "+00:00"))
    except ValueError:
        return key, None
    return key, to_ms(moment)  # naive times are UTC, as in the Article model


async def publish_file(
    settings: Settings, path: Path, topic: str, *, use_article_time: bool = True
) -> int:
    """Send every line of ``path`` to ``topic``; returns how many were sent."""
    producer = make_producer(settings, linger_ms=5)
    sent = 0
    pending = []
    try:  # stopped even when its start fails: a half-started client holds connections
        with kafka_calls():
            await producer.start()
            for line in read_lines(path):
                key, timestamp_ms = record_key_and_time(line)
                pending.append(
                    await producer.send(
                        topic,
                        value=line,
                        key=key,
                        timestamp_ms=timestamp_ms if use_article_time else None,
                    )
                )
                sent += 1
                if len(pending) >= 500:
                    for future in pending:
                        await future
                    pending.clear()
            for future in pending:
                await future
    finally:
        await producer.stop()
    return sent
