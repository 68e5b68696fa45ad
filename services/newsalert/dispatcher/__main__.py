"""``python -m newsalert.dispatcher --config FILE``: the dispatcher alone, as a process.

Settings come from ``NEWSALERT_*`` environment variables, subscriptions from the config
file (re-read when it changes). Runs until SIGINT/SIGTERM, then stops gracefully.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
from collections.abc import Sequence
from pathlib import Path

from newsalert.config import load_config
from newsalert.dispatcher.service import DispatcherService
from newsalert.settings import Settings
from newsalert.subscriptions import Subscription


class _ConfigSubscriptions:
    """The config file's subscriptions, reloaded when its modification time changes."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._stamp = -1.0
        self._subs: tuple[Subscription, ...] = ()
        self.refresh()

    def refresh(self) -> None:
        stamp = self._path.stat().st_mtime
        if stamp != self._stamp:
            self._subs = load_config(self._path, os.environ).subscriptions
            self._stamp = stamp

    def __call__(self) -> Sequence[Subscription]:
        try:
            self.refresh()
        except Exception:  # a broken edit keeps the last good subscriptions
            logging.getLogger("newsalert.dispatcher").exception("config reload failed")
        return self._subs


async def _run(settings: Settings, config: Path) -> None:
    service = DispatcherService(settings, _ConfigSubscriptions(config))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await service.start()
    print("dispatcher ready", flush=True)  # tests and scripts wait for this line
    await stop.wait()
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
    asyncio.run(_run(settings, args.config))


if __name__ == "__main__":
    main()
