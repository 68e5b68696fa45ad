"""The small HTTP API: health, readiness, metrics, rules and "test this text".

Runs inside the service process (``--api-port``) so readiness reflects the real state of
the matcher and dispatcher it sits next to (Redis reachable, consumers running). It
listens on ``Settings.api_host`` (loopback unless told otherwise); /healthz, /readyz and
/metrics are open, every other route needs a token (:mod:`newsalert.apiauth`), and
every request meets the limits of :mod:`newsalert.api.limits`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Generator, Sequence
from typing import Any, Protocol

import uvicorn
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field, ValidationError

from newsalert import constants
from newsalert.api.limits import BodyLimit, BoundedOffload, OffloadBusyError, OffloadTimeoutError
from newsalert.apiauth import ApiGuard, ApiTokens
from newsalert.models import Article
from newsalert.rules import Document
from newsalert.rulesvc.reload import RuleReloader
from newsalert.settings import Settings
from newsalert.subscriptions import Subscription
from newsalert.webhooks.redact import display_url

log = logging.getLogger("newsalert.api")

#: /rules/test: texts matched at once, and how long one may take.
RULES_TEST_CONCURRENCY = 2
RULES_TEST_TIMEOUT_S = 5.0

#: Builds the routes another service offers, guarded by the API's tokens; called at start.
RouterFactory = Callable[[ApiGuard], APIRouter]


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
    guard: ApiGuard | None = None,
    *,
    max_body_bytes: int = constants.DEFAULT_MAX_ARTICLE_BYTES,
    rules_test: BoundedOffload | None = None,
    subscriptions: Callable[[], Sequence[Subscription]] | None = None,
) -> FastAPI:
    """The ASGI app; ``services`` are asked for their ``ready`` flag by /readyz.

    ``guard`` admits requests by token (the default configures none: only the probes and
    /metrics answer). /docs and /openapi.json need a read token like the rest.
    Without a ``reloader`` (a dispatcher alone: no rule is loaded in this process)
    ``/rules`` and ``/rules/test`` answer 404 and ``/readyz`` reports ``"rules": null``.
    ``subscriptions`` defaults to the reloader's.
    """
    guard = guard or ApiGuard(ApiTokens())
    offload = rules_test or BoundedOffload(RULES_TEST_CONCURRENCY, RULES_TEST_TIMEOUT_S)
    read = [Depends(guard.read)]
    app = FastAPI(title="newsalert", version="1", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    live_subscriptions = subscriptions or (
        (lambda: reloader.current.subscriptions) if reloader is not None else tuple
    )

    def live_rules() -> RuleReloader:
        if reloader is None:
            raise HTTPException(404, "this process runs no matcher: it loads no rules")
        return reloader

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers (no token)."""
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz(response: Response) -> dict[str, Any]:
        """Readiness: every service in this process is connected and consuming (no token)."""
        states = {type(s).__name__: await _service_ready(s) for s in services}
        ready = all(states.values())
        response.status_code = 200 if ready else 503
        rules = len(reloader.compiled) if reloader is not None else None
        return {"ready": ready, "services": states, "rules": rules}

    @app.get("/metrics")
    async def metrics() -> Response:
        """Prometheus metrics of this process (no token)."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/openapi.json", dependencies=read, include_in_schema=False)
    async def openapi() -> dict[str, Any]:
        """The OpenAPI description (read token)."""
        return app.openapi()

    @app.get("/docs", dependencies=read, include_in_schema=False)
    async def docs() -> HTMLResponse:
        """Swagger UI with the description inlined (a browser fetch would carry no token)."""
        return get_swagger_ui_html(
            openapi_url="", title="newsalert API", swagger_ui_parameters={"spec": app.openapi()}
        )

    @app.get("/rules", dependencies=read)
    async def rules() -> list[dict[str, Any]]:
        """The rules live now (after the last good reload)."""
        return [
            {"id": rule.id, "title": rule.title, "tags": list(rule.tags)}
            for rule in live_rules().current.rules.rules
        ]

    @app.get("/subscriptions", dependencies=read)
    async def subscription_list() -> list[dict[str, Any]]:
        """Subscriptions: the URL as scheme, host and a hash (URLs carry credentials).

        ``repeat_interval`` as configured (``null``: the service's default repeat lane).
        """
        return [
            {
                "id": sub.id,
                "url": display_url(sub.url),
                "rules": list(sub.rules),
                "repeat_interval": sub.repeat_interval,
            }
            for sub in live_subscriptions()
        ]

    @app.post("/rules/test", dependencies=read)
    async def test_text(text: TestText) -> TestResult:
        """Which live rules fire on this text (nothing is published or marked).

        Matched in a worker thread with a deadline, never on the service's event loop.
        """
        try:
            article = Article(id="api-test", **text.model_dump())
        except ValidationError as exc:
            raise HTTPException(422, exc.errors(include_url=False, include_input=False)) from exc
        compiled = live_rules().compiled
        try:
            found = await offload.run(lambda: compiled.match(Document.from_article(article)))
        except OffloadBusyError as exc:
            raise HTTPException(
                503, "rule tests are busy; try again", headers={"Retry-After": "1"}
            ) from exc
        except OffloadTimeoutError as exc:
            raise HTTPException(
                503, f"the rule test took longer than {offload.timeout_s:g} s"
            ) from exc
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
        host: str | None = None,
        subscriptions: Callable[[], Sequence[Subscription]] | None = None,
        routers: Sequence[RouterFactory] = (),
    ) -> None:
        self.ready = True
        self._tokens = ApiTokens.parse(
            settings.api_read_tokens.get_secret_value(),
            settings.api_admin_tokens.get_secret_value(),
        )
        self._guard = ApiGuard(self._tokens)
        self._offload = BoundedOffload(RULES_TEST_CONCURRENCY, RULES_TEST_TIMEOUT_S)
        self._app = create_app(
            reloader,
            services,
            self._guard,
            max_body_bytes=settings.max_article_bytes,
            rules_test=self._offload,
            subscriptions=subscriptions,
        )
        self._services = services
        self._routers = routers
        self.host = host or settings.api_host
        self.port = port
        config = uvicorn.Config(
            self._app,
            host=self.host,
            port=port,
            log_level=settings.log_level.lower(),
            lifespan="off",
        )
        self._server = _EmbeddedUvicorn(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start serving in the background."""
        # Other services' routes (the dispatcher's delivery log) need those services
        # connected, so they are built here; the runner starts the API after them.
        for build in self._routers:
            self._app.include_router(build(self._guard))
        if not self._tokens.read and not self._tokens.admin:
            log.warning(
                "no API token configured: only /healthz, /readyz and /metrics answer "
                "(set NEWSALERT_API_READ_TOKENS / NEWSALERT_API_ADMIN_TOKENS)"
            )
        elif not self._tokens.admin:
            log.info("no admin API token configured: state-changing routes answer 403")
        self._task = asyncio.create_task(self._server.serve(), name="api")
        while not self._server.started and not self._task.done():  # noqa: ASYNC110  (uvicorn exposes a flag, not an event)
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        """Stop serving."""
        self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._offload.close()
