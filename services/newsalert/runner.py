"""Assemble and run the services in one process until a signal or a stop event.

``newsalert run`` = matcher + dispatcher + rule hot reload (+ health/metrics API);
``newsalert matcher`` and ``newsalert dispatcher`` run one of them. Before anything
starts, Redis's ``maxmemory-policy`` is checked (:mod:`newsalert.redis_policy`).
Shutdown order is the reverse of the data flow: stop taking articles, let the matcher
finish and commit its batch, then let the dispatcher finish its in-flight deliveries and
commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from newsalert.redis_policy import verify_redis_policy
from newsalert.rules.reload import RuleReloader
from newsalert.settings import Settings

log = logging.getLogger("newsalert")


class Service(Protocol):
    """What the runner needs of a service."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True)
class Roles:
    """Which services this process runs."""

    matcher: bool = True
    dispatcher: bool = True
    api_port: int | None = None
    api_host: str | None = None  # None: Settings.api_host (loopback by default)


def build_services(settings: Settings, reloader: RuleReloader, roles: Roles) -> list[Service]:
    """The services for ``roles``, in start order (downstream first)."""
    services: list[Service] = []
    if roles.dispatcher:
        from newsalert.dispatcher.service import DispatcherService

        services.append(DispatcherService(settings, lambda: reloader.current.subscriptions))
    if roles.matcher:
        from newsalert.dedupe import open_redis_dedupe
        from newsalert.matcher.service import MatcherService

        services.append(
            MatcherService(
                settings,
                lambda: reloader.compiled,
                open_redis_dedupe(settings),
                subscriptions=lambda: reloader.current.subscriptions,
            )
        )
    if roles.api_port is not None:
        from newsalert.api.server import ApiServer

        services.append(
            ApiServer(
                settings,
                reloader,
                services=list(services),
                port=roles.api_port,
                host=roles.api_host,
            )
        )
    return services


async def run_until_stopped(
    settings: Settings,
    config_path: Path,
    env: Mapping[str, str],
    roles: Roles,
    stop: asyncio.Event | None = None,
    *,
    handle_signals: bool = True,
) -> None:
    """Run the services until SIGINT/SIGTERM (or ``stop`` is set), then shut down cleanly."""
    stop = stop or asyncio.Event()
    reloader = RuleReloader(config_path, env=env, interval_s=settings.reload_interval_s)
    if handle_signals:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    services = build_services(settings, reloader, roles)
    started: list[Service] = []
    reload_task = asyncio.create_task(reloader.run(stop), name="rule-reloader")
    try:
        if roles.matcher or roles.dispatcher:
            await verify_redis_policy(settings)  # before anything is consumed
        for service in services:
            await service.start()
            started.append(service)
        log.info(
            "newsalert running: %d rules, %d subscriptions (Ctrl-C to stop)",
            len(reloader.compiled),
            len(reloader.current.subscriptions),
        )
        await stop.wait()
    finally:
        stop.set()
        log.info("shutting down")
        for service in reversed(started):
            try:
                await service.stop()
            except Exception:
                log.exception("error while stopping %s", type(service).__name__)
        with contextlib.suppress(asyncio.CancelledError):
            await reload_task
        if handle_signals:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
