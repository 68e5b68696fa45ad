"""Hot reload of the config file, off the hot path.

:class:`RuleReloader` polls the file(s) every ``interval_s``; when their fingerprint
(name, size, mtime and SHA-256 of the content) changes it loads and compiles the new rule
set in a worker thread and swaps one reference, so matchers keep using the old compiled
set until the new one is complete. An invalid file keeps the last good set, logs every
problem, and sets ``newsalert_rules_reload_failing`` to 1 until a good file arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from newsalert.config import Config, ConfigLoader, LoadReport, config_files
from newsalert.errors import ConfigError
from newsalert.rules import metrics
from newsalert.rules.gcpause import paused_gc
from newsalert.rules.index import CompiledRules

log = logging.getLogger(__name__)

Fingerprint = tuple[tuple[str, int, int, str], ...]


def fingerprint(path: Path) -> Fingerprint:
    """What identifies the content of the config at ``path`` (empty when unreadable)."""
    result = []
    try:
        for file in config_files(path):
            stat = file.stat()
            digest = hashlib.sha256(file.read_bytes()).hexdigest()
            result.append((str(file), stat.st_size, stat.st_mtime_ns, digest))
    except OSError:
        return ()
    return tuple(result)


@dataclass(frozen=True, slots=True)
class LoadTiming:
    """Where the time of one load + compile went (seconds), and how the load went."""

    load_s: float
    compile_s: float
    report: LoadReport


class RuleReloader:
    """Holds the live (config, compiled rules) pair and replaces it when the file changes.

    The constructor loads and compiles once and raises :class:`ConfigError` when the
    file is invalid, so a service refuses to start on a bad config.
    """

    def __init__(
        self,
        path: str | Path,
        env: Mapping[str, str] | None = None,
        interval_s: float = 0.5,
    ) -> None:
        self.path = Path(path)
        self.interval_s = interval_s
        self._loader = ConfigLoader(self.path, env)
        self._seen = fingerprint(self.path)
        #: Timing of the last load + compile, good or not (the compile only when good).
        self.last_timing = LoadTiming(0.0, 0.0, LoadReport())
        self._state: tuple[Config, CompiledRules] = self._load()
        self.reloads = 0
        self.failures = 0
        self.last_error: ConfigError | None = None
        self._publish(failing=False)

    @property
    def current(self) -> Config:
        """The last good config."""
        return self._state[0]

    @property
    def compiled(self) -> CompiledRules:
        """The compiled rules of the last good config."""
        return self._state[1]

    def _load(self) -> tuple[Config, CompiledRules]:
        # A big rule set is millions of long-lived objects; freezing them before the
        # collector runs again keeps the cyclic GC from scanning them, right after the
        # load and on the hot path later (they are still freed by reference counting when
        # replaced, as the compiled set holds no cycles). No gc.collect() first: a full
        # collection would stall the event loop. The loader re-parses only changed rule
        # items and hands back the same Rule objects for the others, whose analysis the
        # compile then reuses.
        with paused_gc():
            start = time.perf_counter()
            try:
                config = self._loader.load()
            finally:
                loaded = time.perf_counter()
                self.last_timing = LoadTiming(loaded - start, 0.0, self._loader.report)
            compiled = config.rules.compile()
            self.last_timing = LoadTiming(
                loaded - start, time.perf_counter() - loaded, self._loader.report
            )
            gc.freeze()
        return config, compiled

    def _publish(self, *, failing: bool) -> None:
        metrics.RELOAD_FAILING.set(1 if failing else 0)
        metrics.RULES_LOADED.set(len(self._state[1]))
        metrics.RULES_UNINDEXED.set(self._state[1].unindexed)
        metrics.RULES_CHECKED.set(self._state[1].stats.rules - self._state[1].stats.exact)

    async def check(self) -> bool:
        """Reload now if the file changed; True when a new rule set went live."""
        current = await asyncio.to_thread(fingerprint, self.path)
        if current == self._seen:
            return False
        self._seen = current
        try:
            state = await asyncio.to_thread(self._load)
        except ConfigError as exc:
            self.failures += 1
            self.last_error = exc
            metrics.RELOADS.labels(result="invalid").inc()
            log.error("rule reload failed, keeping the last good rule set: %s", exc)
            self._publish(failing=True)
            return False
        old = [self._state]
        self._state = state  # one reference assignment: readers see old or new, never a mix
        self.reloads += 1
        self.last_error = None
        metrics.RELOADS.labels(result="ok").inc()
        self._publish(failing=False)
        timing = self.last_timing
        log.info(
            "rules reloaded: %d rules from %s (load %.2fs: %d file(s) parsed whole, "
            "%d changed rule item(s) alone; compile %.2fs)",
            len(state[1]),
            self.path,
            timing.load_s,
            timing.report.whole_files,
            timing.report.items_parsed,
            timing.compile_s,
        )
        # Freeing a large old set is long enough to stall the event loop, so it is done
        # in a worker thread (``old`` holds its last reference).
        await asyncio.to_thread(old.clear)
        return True

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval_s)
            if stop.is_set():
                break
            try:
                await self.check()
            except Exception:  # a poll must never kill the service; the next one retries
                log.exception("rule reload check crashed")
