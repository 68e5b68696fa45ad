"""Hot reload of the config file, off the hot path.

:class:`RuleReloader` watches the file(s) with the services' one
:class:`~newsalert.config.watch.ConfigWatcher`; on a change it loads and compiles the
new rule set in a worker thread and swaps one reference, so matchers use the old set
until the new one is complete. An invalid file (or any error while loading or compiling)
keeps the last good set, logs every problem and sets ``newsalert_rules_reload_failing``.

The load runs in this process because its cost is bounded before the work is done
(:mod:`newsalert.rules.language.limits`); a worker process would have to pickle every
rule back and would lose the identity of unchanged rules that lets the compile reuse
their analysis.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from newsalert.config import Config, ConfigLoader, LoadReport
from newsalert.config.watch import ConfigWatcher
from newsalert.config.watch import fingerprint as fingerprint
from newsalert.errors import ConfigError
from newsalert.gcpause import paused_gc
from newsalert.rules.indexing.index import CompiledRules
from newsalert.rulesvc import metrics

log = logging.getLogger(__name__)


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
        #: Timing of the last load + compile, good or not (the compile only when good).
        self.last_timing = LoadTiming(0.0, 0.0, LoadReport())
        self._watcher: ConfigWatcher[tuple[Config, CompiledRules]] = ConfigWatcher(
            self.path,
            self._load,
            interval_s=interval_s,
            on_reload=self._reloaded,
            on_failure=self._failed,
        )
        self._publish(failing=False)

    @property
    def current(self) -> Config:
        """The last good config."""
        return self._watcher.value[0]

    @property
    def compiled(self) -> CompiledRules:
        """The compiled rules of the last good config."""
        return self._watcher.value[1]

    @property
    def reloads(self) -> int:
        """Good reloads since start."""
        return self._watcher.reloads

    @property
    def failures(self) -> int:
        """Failed reloads since start."""
        return self._watcher.failures

    @property
    def last_error(self) -> ConfigError | None:
        """Why the last reload failed (``None`` once a good one went live)."""
        return self._watcher.last_error

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
        compiled = self.compiled
        metrics.RELOAD_FAILING.set(1 if failing else 0)
        metrics.RULES_LOADED.set(len(compiled))
        metrics.RULES_UNINDEXED.set(compiled.unindexed)
        metrics.RULES_CHECKED.set(compiled.stats.rules - compiled.stats.exact)

    def _failed(self, error: ConfigError) -> None:
        metrics.RELOADS.labels(result="invalid").inc()
        log.error("rule reload failed, keeping the last good rule set: %s", error)
        self._publish(failing=True)

    def _reloaded(self, state: tuple[Config, CompiledRules]) -> None:
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

    async def check(self) -> bool:
        """Reload now if the file changed; True when a new rule set went live."""
        return await self._watcher.check()

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set."""
        await self._watcher.run(stop)
