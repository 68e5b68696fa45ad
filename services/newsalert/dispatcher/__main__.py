"""``python -m newsalert.dispatcher --config FILE``: the dispatcher alone, as a process.

Settings come from ``NEWSALERT_*`` environment variables, subscriptions from the config
file (re-read when it changes). Runs until SIGINT/SIGTERM, then stops gracefully.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from newsalert.config import ConfigLoader
from newsalert.dispatcher.service import DispatcherService
from newsalert.redis_policy import EXIT_CODE, RedisPolicyError, verify_redis_policy
from newsalert.settings import Settings
from newsalert.subscriptions import Subscription


class _ConfigSubscriptions:
    """The config file's subscriptions, reloaded off the event loop when the file changes.

    Loading a config parses its rules too: a :class:`ConfigLoader` re-parses only the
    rule items that changed (whole files take seconds at 100,000 rules), in a worker
    thread from :meth:`watch`; calls return the last good subscriptions at once.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._stamp = path.stat().st_mtime
        self._loader = ConfigLoader(path, os.environ)
        self._subs: tuple[Subscription, ...] = self._loader.load().subscriptions

    async def watch(self, stop: asyncio.Event, interval_s: float = 1.0) -> None:
        """Poll the file until ``stop``; a broken edit keeps the last good subscriptions."""
        log = logging.getLogger("newsalert.dispatcher")
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval_s)
            if stop.is_set():
                return
            try:
                stamp = self._path.stat().st_mtime
            except OSError:
                log.exception("config file unreadable; keeping the last good subscriptions")
                continue
            if stamp == self._stamp:
                continue
            # Not retried until the file changes again, valid or not.
            self._stamp = stamp
            try:
                config = await asyncio.to_thread(self._loader.load)
            except Exception:
                log.exception("config reload failed; keeping the last good subscriptions")
                continue
            self._subs = config.subscriptions
            log.info("subscriptions reloaded: %d", len(self._subs))

    def __call__(self) -> Sequence[Subscription]:
        return self._subs


async def _run(settings: Settings, config: Path) -> None:
    await verify_redis_policy(settings)
    subscriptions = _ConfigSubscriptions(config)
    service = DispatcherService(settings, subscriptions)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await service.start()
    watcher = asyncio.create_task(subscriptions.watch(stop))
    print("dispatcher ready", flush=True)  # tests and scripts wait for this line
    await stop.wait()
    await watcher
    await service.stop()


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments and run until a signal."""
    parser = argparse.ArgumentParser(prog="python -m newsalert.dispatcher")
    parser.add_argument("--config", type=Path, required=True, help="rules + subscriptions file")
    args = parser.parse_args(argv)
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        asyncio.run(_run(settings, args.config))
    except RedisPolicyError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(EXIT_CODE) from exc


if __name__ == "__main__":
    main()
