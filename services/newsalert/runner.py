"""Assemble and run the services in one process until a signal or a stop event.

``newsalert run`` = matcher + dispatcher + rule hot reload (+ health/metrics API);
``newsalert matcher`` and ``newsalert dispatcher`` run one of them. A process with a
matcher loads, compiles and watches the rules (:class:`RuleReloader`); a dispatcher
alone only loads and watches the subscriptions (:func:`load_subscriptions`: the rule ids
they may name, no rule is parsed or compiled). Both watch with one
:class:`~newsalert.config.watch.ConfigWatcher`. Before any service starts, Redis's
``maxmemory-policy`` is checked (:mod:`newsalert.redis_policy`). Shutdown order is the
reverse of the data flow: stop taking articles, let the matcher finish and commit its
batch, then let the dispatcher finish its in-flight deliveries and commit. Once every
service has started, ``on_ready`` is called (the CLI prints ``<roles> ready`` on stdout
for scripts). The consumers start together and while the rules compile
(:func:`start_services`): a big rule set's compile and a broker's group joins both take
seconds, and neither needs the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from newsalert.config.subscriptions_only import load_subscriptions
from newsalert.config.watch import ConfigWatcher
from newsalert.lifecycle import stop_on_signals
from newsalert.redis_policy import verify_redis_policy
from newsalert.rulesvc.reload import RuleReloader
from newsalert.settings import Settings
from newsalert.subscriptions import Subscription

if TYPE_CHECKING:
    from newsalert.api.server import RouterFactory
    from newsalert.dispatcher.service import DispatcherService

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

    @property
    def names(self) -> str:
        """``matcher+dispatcher``, ``dispatcher``, ... (for the ready line)."""
        return "+".join(
            n for n, on in (("matcher", self.matcher), ("dispatcher", self.dispatcher)) if on
        )


class _ConfigSource(Protocol):
    """The config a process watches: rules and subscriptions, or subscriptions only."""

    async def run(self, stop: asyncio.Event) -> None: ...


def watch_config(
    settings: Settings, config_path: Path, env: Mapping[str, str], roles: Roles
) -> tuple[_ConfigSource, RuleReloader | None, Callable[[], Sequence[Subscription]]]:
    """Load the config this process needs; raises ``ConfigError`` when it is invalid.

    Returns what to run (the watcher), the rule reloader (``None`` without a matcher:
    the rules are then never parsed) and where the subscriptions are read from.
    """
    if roles.matcher:
        reloader = RuleReloader(
            config_path, env=env, interval_s=settings.reload_interval_s, compile_now=False
        )
        return reloader, reloader, _subscriptions_of(reloader)
    watcher = ConfigWatcher(
        config_path,
        lambda: load_subscriptions(config_path, env),
        interval_s=settings.reload_interval_s,
        on_reload=lambda subs: log.info("subscriptions reloaded: %d", len(subs)),
    )
    return watcher, None, lambda: watcher.value


def build_services(
    settings: Settings,
    reloader: RuleReloader | None,
    roles: Roles,
    subscriptions: Callable[[], Sequence[Subscription]] | None = None,
) -> list[Service]:
    """The services for ``roles``, downstream first, the API last (:func:`start_services`).

    ``subscriptions`` defaults to the reloader's; a process without a matcher passes
    them and no reloader.
    """
    if subscriptions is None:
        assert reloader is not None, "subscriptions come from the reloader or are given"
        subscriptions = _subscriptions_of(reloader)
    services: list[Service] = []
    dispatcher: DispatcherService | None = None
    if roles.dispatcher:
        from newsalert.dispatcher.service import DispatcherService

        dispatcher = DispatcherService(settings, subscriptions)
        services.append(dispatcher)
    if roles.matcher:
        from newsalert.dedupe import open_redis_dedupe
        from newsalert.matcher.service import MatcherService

        assert reloader is not None, "a matcher needs the rule reloader"
        live = reloader
        services.append(
            MatcherService(
                settings,
                lambda: live.compiled,
                open_redis_dedupe(settings),
                subscriptions=subscriptions,
                rules_ready=live.wait_compiled,
            )
        )
    if roles.api_port is not None:
        from newsalert.api.server import ApiServer

        routers: list[RouterFactory] = []
        if dispatcher is not None:
            routers.append(_delivery_routes(dispatcher, subscriptions))
        services.append(
            ApiServer(
                settings,
                reloader,
                services=list(services),
                port=roles.api_port,
                subscriptions=subscriptions,
                host=roles.api_host,
                routers=routers,
            )
        )
    return services


def _delivery_routes(
    dispatcher: DispatcherService, subscriptions: Callable[[], Sequence[Subscription]]
) -> RouterFactory:
    """The dispatcher's delivery-log routes, built once the API starts (store connected)."""
    from newsalert.dispatcher.api import deliveries_router

    return lambda guard: deliveries_router(
        dispatcher.store, lambda: [sub.id for sub in subscriptions()], guard
    )


async def start_services(
    services: Sequence[Service],
    started: list[Service],
    *,
    api_last: bool,
    meanwhile: Coroutine[Any, Any, None] | None = None,
) -> None:
    """Start ``services``, appending each started one to ``started`` in their order.

    The consumers start together, and with ``meanwhile`` (the first compile of the
    rules, in a worker thread): each consumer joins its group, and a broker holds a
    join back for a while (its initial rebalance delay), so one after the other would
    add up those waits. The matcher handles no batch before the rules are compiled. The
    API, when ``api_last``, starts after them all: its delivery routes need the
    dispatcher's store, and ``/readyz`` then means compiled and consuming. Raises the
    first failure once every start has ended (the started ones are in ``started``, to
    be stopped).
    """
    consumers = services[:-1] if api_last else services
    extra = [] if meanwhile is None else [meanwhile]
    outcomes = await asyncio.gather(
        *(service.start() for service in consumers), *extra, return_exceptions=True
    )
    started.extend(s for s, o in zip(consumers, outcomes, strict=False) if o is None)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    if api_last:
        await services[-1].start()
        started.append(services[-1])


def _subscriptions_of(reloader: RuleReloader) -> Callable[[], Sequence[Subscription]]:
    return lambda: reloader.current.subscriptions


async def run_until_stopped(
    settings: Settings,
    config_path: Path,
    env: Mapping[str, str],
    roles: Roles,
    stop: asyncio.Event | None = None,
    *,
    handle_signals: bool = True,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Run the services until SIGINT/SIGTERM (or ``stop`` is set), then shut down cleanly.

    ``on_ready`` is called with the roles' names once every service has started; the CLI
    prints the ready line with it (a library caller's stdout is left alone).
    """
    stop = stop or asyncio.Event()
    source, reloader, subscriptions = watch_config(settings, config_path, env, roles)
    signals = contextlib.ExitStack()
    if handle_signals:
        signals.enter_context(stop_on_signals(stop))
    services = build_services(settings, reloader, roles, subscriptions)
    started: list[Service] = []
    reload_task = asyncio.create_task(source.run(stop), name="config-watcher")
    try:
        if roles.matcher or roles.dispatcher:
            # before anything is consumed
            await verify_redis_policy(settings, field_expiry=roles.matcher)
        await start_services(
            services,
            started,
            api_last=roles.api_port is not None,
            meanwhile=None if reloader is None else reloader.compile_first(),
        )
        log.info(
            "newsalert running: %s rules, %d subscriptions (Ctrl-C to stop)",
            len(reloader.compiled) if reloader is not None else "no",
            len(subscriptions()),
        )
        if on_ready is not None:
            on_ready(roles.names)
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
        signals.close()
