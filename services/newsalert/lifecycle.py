"""What every newsalert process sets up the same way: settings, logging, stop signals.

The command-line entry points read the ``NEWSALERT_*`` settings with
:func:`settings_or_exit` (which also configures logging); a process running services
stops on SIGINT/SIGTERM through :func:`stop_on_signals`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator

import typer
from pydantic import ValidationError

from newsalert.settings import Settings

#: The log line of every service process.
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: Signals that stop a running process cleanly.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

log = logging.getLogger(__name__)


def configure_logging(level: str, fmt: str = LOG_FORMAT) -> None:
    """Log at ``level`` (a name like ``"info"``) to stderr, one line per record."""
    logging.basicConfig(level=level.upper(), format=fmt)


def settings_or_exit(*, configure_log: bool = True) -> Settings:
    """The settings from the environment, logging configured at their level unless
    ``configure_log`` is false (a tool whose stderr carries its own output).

    An invalid ``NEWSALERT_*`` variable is reported by name on stderr and the process
    exits with status 2 (bad usage), without a traceback; a setting that no longer has
    an effect is logged as a warning (with ``configure_log`` only).
    """
    try:
        settings = Settings()
    except ValidationError as exc:
        for error in exc.errors():
            name = "NEWSALERT_" + "_".join(str(part) for part in error["loc"]).upper()
            typer.echo(f"error: {name}: {error['msg']}", err=True)
        raise typer.Exit(2) from exc
    if configure_log:
        configure_logging(settings.log_level)
        for reason in settings.ignored():
            log.warning("%s", reason)
    return settings


@contextlib.contextmanager
def stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM set ``stop`` (in the running event loop)."""
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    try:
        yield
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
