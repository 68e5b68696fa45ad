"""The small HTTP API: health, readiness, metrics, rules and "test this text".

Runs inside the service process (``--api-port``) so readiness reflects the real state of
the matcher and dispatcher it sits next to (Redis reachable, consumers running).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Generator, Sequence
from typing import Any, Protocol

import uvicorn
from fastapi import FastAPI, HTTPException, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from newsalert.models import Article
from newsalert.rules import Document
from newsalert.rules.reload import RuleReloader
from newsalert.settings import Settings
from newsalert.subscriptions import Subscription

log = logging.getLogger("newsalert.api")


class _Service(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class TestText(BaseModel):
    """Text to run against the live rule set."""

    title: str = ""
    body: str = ""
    language: str | None = None
    source: str | None = None


class TestMatch(BaseModel):
    """One rule that fired on the submitted text."""

    rule_id: str
    title: str | None
    tags: list[str]
    matched: list[str]


class TestResult(BaseModel):
    """Every rule that fires on the submitted text (no dedupe, nothing published)."""

    matches: list[TestMatch] = Field(default_factory=list)


async def _service_ready(service: _Service) -> bool:
    """A service's ``ready`` flag, and its ``probe()`` (live dependency check) when it has one.

    The flag alone only changes when work fails; the probe also catches a dependency that
    went away while the service was idle (e.g. Redis down under a matcher with no input).
    """
    if not bool(getattr(service, "ready", True)):
        return False
    probe = getattr(service, "probe", None)
    return True if probe is None else bool(await probe())


def create_app(
    reloader: RuleReloader | None,
    services: Sequence[_Service],
    subscriptions: Callable[[], Sequence[Subscription]] | None = None,
) -> FastAPI:
    """The ASGI app; ``services`` are asked for their ``ready`` flag by /readyz.

    Without a ``reloader`` (a dispatcher alone: no rule is loaded in this process)
    ``/rules`` and ``/rules/test`` answer 404 and ``/readyz`` reports ``"rules": null``.
    ``subscriptions`` defaults to the reloader's.
    """
    app = FastAPI(title="newsalert", version="1", docs_url="/docs", redoc_url=None)
    live_subscriptions = subscriptions or (
        (lambda: reloader.current.subscriptions) if reloader is not None else tuple
    )

    def live_rules() -> RuleReloader:
        if reloader is None:
            raise HTTPException(404, "this process runs no matcher: it loads no rules")
        return reloader

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz(response: Response) -> dict[str, Any]:
        """Readiness: every service in this process is connected and consuming."""
        states = {type(s).__name__: await _service_ready(s) for s in services}
        ready = all(states.values())
        response.status_code = 200 if ready else 503
        rules = len(reloader.compiled) if reloader is not None else None
        return {"ready": ready, "services": states, "rules": rules}

    @app.get("/metrics")
    async def metrics() -> Response:
        """Prometheus metrics of this process."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/rules")
    async def rules() -> list[dict[str, Any]]:
        """The rules live now (after the last good reload)."""
        return [
            {"id": rule.id, "title": rule.title, "tags": list(rule.tags)}
            for rule in live_rules().current.rules.rules
        ]

    @app.get("/subscriptions")
    async def subscription_list() -> list[dict[str, Any]]:
        """Subscriptions (secrets are never shown)."""
        return [
            {"id": sub.id, "url": sub.url, "rules": list(sub.rules)} for sub in live_subscriptions()
        ]

    @app.post("/rules/test")
    async def test_text(text: TestText) -> TestResult:
        """Which live rules fire on this text (nothing is published or marked)."""
        article = Article(id="api-test", **text.model_dump())
        found = live_rules().compiled.match(Document.from_article(article))
        return TestResult(
            matches=[
                TestMatch(
                    rule_id=m.rule_id, title=m.title, tags=list(m.tags), matched=list(m.matched)
                )
                for m in found
            ]
        )

    return app


class _EmbeddedUvicorn(uvicorn.Server):
    """uvicorn without its own signal handling: the runner owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class ApiServer:
    """Serves :func:`create_app` with uvicorn inside the running event loop."""

    def __init__(
        self,
        settings: Settings,
        reloader: RuleReloader | None,
        services: Sequence[_Service],
        port: int,
        host: str = "0.0.0.0",  # noqa: S104  (probes and Prometheus reach it from outside the pod)
        subscriptions: Callable[[], Sequence[Subscription]] | None = None,
    ) -> None:
        self.ready = True
        self._app = create_app(reloader, services, subscriptions)
        self._services = services
        config = uvicorn.Config(
            self._app,
            host=host,
            port=port,
            log_level=settings.log_level.lower(),
            lifespan="off",
        )
        self._server = _EmbeddedUvicorn(config)
        self._task: asyncio.Task[None] | None = None

    def _mount_started_services(self) -> None:
        # The delivery log exists only once the dispatcher is connected, so its routes
        # are added at start (the runner starts the API after the other services).
        from newsalert.dispatcher.service import DispatcherService

        for service in self._services:
            if isinstance(service, DispatcherService):
                from newsalert.dispatcher.api import deliveries_router

                self._app.include_router(deliveries_router(service.store))

    async def start(self) -> None:
        """Start serving in the background."""
        self._mount_started_services()
        self._task = asyncio.create_task(self._server.serve(), name="api")
        while not self._server.started and not self._task.done():  # noqa: ASYNC110  (uvicorn exposes a flag, not an event)
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        """Stop serving."""
        self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
