"""Input records of a backtest, wherever they come from (JSONL files or a Kafka topic)."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One raw input record: the bytes, the Kafka timestamp if any, and where it was."""

    value: bytes | None
    timestamp_ms: int | None
    where: str
    key: bytes | None = None
    headers: tuple[tuple[str, bytes], ...] = ()
    partition: int | None = None


class RecordSource(Protocol):
    """Something that yields records and can say how far along it is."""

    def __aiter__(self) -> AsyncIterator[SourceRecord]: ...

    @property
    def done(self) -> float:
        """Work done so far, in the unit of :attr:`total` (bytes or records)."""
        ...

    @property
    def total(self) -> float | None:
        """Total work, when known (for the ETA)."""
        ...

    @property
    def describe(self) -> str:
        """Where the records come from, for reports."""
        ...


class FileSource:
    """Non-blank lines of JSONL files (``.gz`` allowed), progress in compressed bytes."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self._paths = list(paths)
        self._sizes = [path.stat().st_size for path in self._paths]
        self._finished = 0
        self._raw: IO[bytes] | None = None

    @property
    def total(self) -> float | None:
        """Sum of the file sizes."""
        return float(sum(self._sizes))

    @property
    def done(self) -> float:
        """Bytes consumed so far (compressed bytes for ``.gz``)."""
        current = 0
        if self._raw is not None and not self._raw.closed:
            current = self._raw.tell()
        return float(self._finished + current)

    @property
    def describe(self) -> str:
        """The input files."""
        return ", ".join(str(path) for path in self._paths)

    def lines(self) -> Iterator[SourceRecord]:
        """Every non-blank line of every file, in order."""
        for path, size in zip(self._paths, self._sizes, strict=True):
            with path.open("rb") as raw:
                self._raw = raw
                if path.suffix == ".gz":
                    with gzip.open(raw, "rb") as unpacked:
                        yield from self._records(path, unpacked)
                else:
                    yield from self._records(path, raw)
            self._raw = None
            self._finished += size

    @staticmethod
    def _records(path: Path, stream: Iterable[bytes]) -> Iterator[SourceRecord]:
        for number, line in enumerate(stream, start=1):
            stripped = line.strip()
            if stripped:
                yield SourceRecord(stripped, None, f"{path}:{number}")

    async def __aiter__(self) -> AsyncIterator[SourceRecord]:
        for record in self.lines():
            yield record
