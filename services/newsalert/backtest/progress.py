"""A one-line progress bar on stderr: records, records/s, percentage and ETA.

It writes only to its own stream (stderr), never stdout, so ``--format json`` output
stays clean; on a non-terminal stream it prints a plain line now and then instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

_WIDTH = 28


class ProgressBar:
    """Call :meth:`update` often; it redraws at most a few times per second."""

    def __init__(
        self,
        stream: TextIO,
        *,
        done: Callable[[], float],
        total: Callable[[], float | None],
        label: str = "articles",
        interval_s: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._done = done
        self._total = total
        self._label = label
        self._clock = clock
        self._started = clock()
        self._last = self._started
        self._tty = stream.isatty()
        self._interval_s = interval_s if self._tty else max(interval_s, 5.0)
        self.count = 0

    def update(self, count: int) -> None:
        """``count`` records so far; redraw if it is time."""
        self.count = count
        if count & 63:
            return
        now = self._clock()
        if now - self._last >= self._interval_s:
            self._last = now
            self._draw(now)

    def line(self, now: float | None = None) -> str:
        """The progress text for ``now``."""
        current = self._clock() if now is None else now
        elapsed = max(current - self._started, 1e-9)
        rate = self.count / elapsed
        total, done = self._total(), self._done()
        text = f"{self.count:,} {self._label}  {rate:,.0f}/s"
        if total:
            share = min(done / total, 1.0)
            filled = int(share * _WIDTH)
            bar = "#" * filled + "-" * (_WIDTH - filled)
            eta = elapsed * (1 - share) / share if share > 0 else 0.0
            text = f"[{bar}] {share:6.1%}  {text}  ETA {_clock_text(eta)}"
        return f"{text}  elapsed {_clock_text(elapsed)}"

    def _draw(self, now: float) -> None:
        text = self.line(now)
        if self._tty:
            self._stream.write("\r" + text + "\x1b[K")
        else:
            self._stream.write(text + "\n")
        self._stream.flush()

    def close(self) -> None:
        """Draw the final state (always: it is the run's summary line) and end the line."""
        self._draw(self._clock())
        if self._tty:
            self._stream.write("\n")
            self._stream.flush()


def _clock_text(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"
