"""The ``newsalert`` command line: one entry point for every service and tool.

Sub-command groups live next to the code they drive (``rulesvc/cli.py``,
``stack/cli.py``, ...); this module assembles them and holds the service runners.
Settings come from ``NEWSALERT_*`` environment variables, read once here.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import typer
from pydantic import ValidationError

from newsalert import constants
from newsalert.backtest.cli import app as backtest_app
from newsalert.backtest.cli import replay
from newsalert.dispatcher.cli import app as deliveries_app
from newsalert.errors import NewsalertError
from newsalert.rulesvc.cli import app as rules_app
from newsalert.settings import Settings
from newsalert.stack.cli import app as stack_app

app = typer.Typer(
    name="newsalert",
    help="Streaming news alerts: articles on Kafka -> watch rules -> deduplicated, signed "
    "webhooks. Settings come from NEWSALERT_* environment variables "
    "(NEWSALERT_KAFKA_BOOTSTRAP, NEWSALERT_REDIS_URL, ...); `newsalert stack up` prints them "
    "for the embedded broker and Redis.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(stack_app, name="stack")
app.add_typer(rules_app, name="rules")
app.add_typer(deliveries_app, name="deliveries")
app.add_typer(backtest_app, name="backtest")
app.command(name="replay")(replay)
schemas_app = typer.Typer(help="JSON Schemas of the records newsalert reads and writes.")
app.add_typer(schemas_app, name="schemas")

ConfigOption = typer.Option(
    None,
    "--config",
    "-c",
    help="Rules and subscriptions (YAML file or directory). Default: $NEWSALERT_CONFIG.",
)


def _settings() -> Settings:
    try:
        settings = Settings()
    except ValidationError as exc:
        for error in exc.errors():
            name = "NEWSALERT_" + "_".join(str(part) for part in error["loc"]).upper()
            typer.echo(f"error: {name}: {error['msg']}", err=True)
        raise typer.Exit(2) from exc
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return settings


def _config_path(settings: Settings, config: Path | None) -> Path:
    path = config or settings.config
    if path is None:
        typer.echo("error: no config file: pass --config FILE or set NEWSALERT_CONFIG", err=True)
        raise typer.Exit(2)
    return path


def _serve(
    config: Path | None,
    *,
    matcher: bool,
    dispatcher: bool,
    api_port: int | None,
    api_host: str | None,
) -> None:
    from newsalert.redis_policy import EXIT_CODE as REDIS_POLICY_EXIT_CODE
    from newsalert.redis_policy import RedisPolicyError
    from newsalert.runner import Roles, run_until_stopped

    settings = _settings()
    path = _config_path(settings, config)
    roles = Roles(matcher=matcher, dispatcher=dispatcher, api_port=api_port, api_host=api_host)
    try:
        asyncio.run(
            run_until_stopped(settings, path, os.environ, roles, on_ready=_print_ready_line)
        )
    except RedisPolicyError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(REDIS_POLICY_EXIT_CODE) from exc
    except NewsalertError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc


ApiPortOption = typer.Option(
    None, "--api-port", help="Serve /healthz, /readyz, /metrics and the API on this port."
)
ApiHostOption = typer.Option(
    None,
    "--api-host",
    help="Address the API listens on. Default: $NEWSALERT_API_HOST, else 127.0.0.1 "
    "(loopback only); 0.0.0.0 in a container. Routes other than the probes and /metrics "
    "need a token: see NEWSALERT_API_READ_TOKENS / NEWSALERT_API_ADMIN_TOKENS.",
)


@app.command()
def run(
    config: Path | None = ConfigOption,
    api_port: int | None = ApiPortOption,
    api_host: str | None = ApiHostOption,
) -> None:
    """Run matcher and dispatcher in one process until SIGINT/SIGTERM.

    The rule file is watched: edits are live within seconds; an invalid edit keeps the
    last good rules running. Shutdown finishes in-flight work and commits offsets.
    """
    _serve(config, matcher=True, dispatcher=True, api_port=api_port, api_host=api_host)


@app.command()
def matcher(
    config: Path | None = ConfigOption,
    api_port: int | None = ApiPortOption,
    api_host: str | None = ApiHostOption,
) -> None:
    """Run only the matcher: articles -> alerts (scale with the articles' partitions)."""
    _serve(config, matcher=True, dispatcher=False, api_port=api_port, api_host=api_host)


@app.command()
def dispatcher(
    config: Path | None = ConfigOption,
    api_port: int | None = ApiPortOption,
    api_host: str | None = ApiHostOption,
) -> None:
    """Run only the dispatcher: alerts -> signed webhook deliveries."""
    _serve(config, matcher=False, dispatcher=True, api_port=api_port, api_host=api_host)


@app.command()
def publish(
    file: Path = typer.Argument(
        ..., help="JSON Lines articles (.jsonl or .jsonl.gz; - for stdin)."
    ),
    topic: str = typer.Option(constants.TOPIC_ARTICLES, help="Topic (the prefix is added)."),
    timestamp: str = typer.Option(
        "article",
        help="Record timestamp: 'article' (published_at when present) or 'now'.",
    ),
) -> None:
    """Put articles on a topic, one record per line, keyed by article id."""
    from newsalert.kafka import ensure_topics
    from newsalert.publishing import publish_file

    if timestamp not in ("article", "now"):
        typer.echo("error: --timestamp must be 'article' or 'now'", err=True)
        raise typer.Exit(2)
    settings = _settings()
    full_topic = settings.topic(topic)

    async def go() -> int:
        await ensure_topics(settings, [full_topic])
        return await publish_file(
            settings, file, full_topic, use_article_time=timestamp == "article"
        )

    try:
        sent = asyncio.run(go())
    except (NewsalertError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"published {sent} records to {full_topic}")


@app.command()
def receiver(
    ctx: typer.Context,
    port: int = typer.Option(8080, help="Port to listen on."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0 in containers)."),
    secret: str | None = typer.Option(
        None,
        envvar="NEWSALERT_RECEIVER_SECRET",
        help="whsec_ secret to verify signatures with: set NEWSALERT_RECEIVER_SECRET. "
        "The flag works but warns: a command line is visible to every user in `ps`.",
    ),
) -> None:
    """A demo webhook inbox: print every alert POSTed to it (and verify its signature).

    The secret is read from NEWSALERT_RECEIVER_SECRET.
    """
    from newsalert.demo import serve_receiver

    source = ctx.get_parameter_source("secret")
    if source is not None and source.name == "COMMANDLINE":
        typer.echo(
            "warning: --secret is visible to every user of this machine (ps, /proc); "
            "set NEWSALERT_RECEIVER_SECRET in the environment instead",
            err=True,
        )
    asyncio.run(serve_receiver(host, port, secret))


@app.command()
def demo(
    seeds: Path = typer.Option(Path("seeds"), help="Folder with rules.yaml and articles.jsonl."),
    timeout: float = typer.Option(60.0, help="Give up waiting for alerts after this many seconds."),
) -> None:
    """Start the embedded stack, run the service on the seeds, print alerts, stop (exit 0 = ok)."""
    from newsalert.demo import run_demo

    code = asyncio.run(run_demo(seeds, timeout))
    raise typer.Exit(code)


@schemas_app.command("write")
def schemas_write(
    out: Path = typer.Option(Path("schemas"), help="Folder to write *.schema.json into."),
) -> None:
    """(Re)generate the JSON Schemas from the pydantic models."""
    from newsalert.schemas import write_schemas

    for path in write_schemas(out):
        typer.echo(f"wrote {path}")


def main() -> None:
    """Console-script entry point."""
    app()


def _print_ready_line(roles: str) -> None:
    """``<roles> ready`` on stdout: scripts and tests wait for this line."""
    print(f"{roles} ready", flush=True)
