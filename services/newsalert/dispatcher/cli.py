"""``newsalert deliveries ...``: inspect the delivery log, resend, pause and resume.

Every command talks to Redis only (``NEWSALERT_REDIS_URL``, ``NEWSALERT_REDIS_PREFIX``);
a running dispatcher picks resent deliveries up within its poll interval. The commands
that change state (redeliver, recover, pause, resume) read the config's subscriptions
(``--config`` or ``NEWSALERT_CONFIG``) and apply the API's limits
(:mod:`newsalert.dispatcher.operations`): a refused request writes nothing and exits
with 1 (unknown subscription or delivery) or 2 (a value outside its limits).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from redis.asyncio import Redis

from newsalert import timespec
from newsalert.config.subscriptions_only import load_subscriptions
from newsalert.dispatcher.operations import (
    DeliveryOperations,
    OperationError,
    UnknownTargetError,
)
from newsalert.dispatcher.records import DeliveryRecord, DeliveryStatus
from newsalert.dispatcher.store import DeliveryStore
from newsalert.errors import ConfigError
from newsalert.settings import Settings
from newsalert.timespec import TimeSpecError

app = typer.Typer(help="Inspect and resend webhook deliveries.", no_args_is_help=True)

T = TypeVar("T")

SubscriptionOption = typer.Option(None, "--subscription", "-s", help="Only this subscription.")
RequiredSubscription = typer.Option(..., "--subscription", "-s", help="Subscription id.")
StatusOption = Annotated[
    DeliveryStatus | None, typer.Option("--status", help="Only deliveries in this status.")
]
LimitOption = Annotated[
    int, typer.Option("--limit", "-n", help="At most this many (newest first).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="One JSON object per line.")]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="Config whose subscriptions may be changed ($NEWSALERT_CONFIG)."
    ),
]


def _with_store(action: Callable[[DeliveryStore], Awaitable[T]]) -> T:
    settings = Settings()

    async def run() -> T:
        redis = Redis.from_url(settings.redis_url, decode_responses=True)
        try:
            return await action(DeliveryStore(redis, settings.redis_prefix))
        finally:
            await redis.aclose()

    return asyncio.run(run())


def _operate(config: Path | None, action: Callable[[DeliveryOperations], Awaitable[T]]) -> T:
    # The config is read as the dispatcher reads it, so only its subscriptions are known.
    path = config or Settings().config
    if path is None:
        typer.echo("error: no config file: pass --config FILE or set NEWSALERT_CONFIG", err=True)
        raise typer.Exit(2)
    try:
        ids = [sub.id for sub in load_subscriptions(path, os.environ)]
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc

    async def run(store: DeliveryStore) -> T:
        return await action(DeliveryOperations(store, lambda: ids))

    try:
        return _with_store(run)
    except UnknownTargetError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    except OperationError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else "-"


def _line(record: DeliveryRecord) -> str:
    last = record.last_status if record.last_status is not None else (record.last_error or "-")
    return (
        f"{record.delivery_id}  {record.subscription_id:<20} {record.status.value:<9} "
        f"attempts={record.attempts:<2} last={last}  created={_when(record.created_at)}  "
        f"next={_when(record.next_at)}"
    )


def parse_since(text: str, now: datetime) -> datetime:
    """``--since``: an ISO-8601 time, ``-2h``, or a duration ago (``"2h"``, ``"1w"``)."""
    try:
        return timespec.parse_since(text, now)
    except TimeSpecError as exc:
        raise typer.BadParameter(str(exc)) from exc


@app.command("list")
def list_deliveries(
    subscription: str | None = SubscriptionOption,
    status: StatusOption = None,
    limit: LimitOption = 50,
    as_json: JsonOption = False,
) -> None:
    """List deliveries, newest first (scheduled, retrying, paused, delivered, failed)."""
    records = _with_store(lambda store: store.log.list_deliveries(subscription, status, limit))
    for record in records:
        typer.echo(record.model_dump_json() if as_json else _line(record))
    if not records and not as_json:
        typer.echo("no deliveries")


@app.command()
def show(delivery_id: str = typer.Argument(..., help="The webhook-id (msg_...).")) -> None:
    """Show one delivery and every attempt (time, status, latency, reply, next try)."""
    record = _with_store(lambda store: store.log.get(delivery_id))
    if record is None:
        typer.echo(f"no delivery {delivery_id} (unknown or past retention)", err=True)
        raise typer.Exit(1)
    typer.echo(json.dumps(record.model_dump(mode="json"), indent=2))


@app.command()
def redeliver(
    alert_or_delivery_id: str = typer.Argument(
        ..., metavar="ALERT_ID", help="A webhook-id (msg_...) or an alert id (alrt_...)."
    ),
    config: ConfigOption = None,
) -> None:
    """Send an alert again now (same webhook-id), even if it was delivered or failed.

    Only deliveries still in the log and of a subscription the config still names.
    """
    done = _operate(config, lambda ops: ops.redeliver(alert_or_delivery_id))
    for dlv in done:
        typer.echo(f"redelivering {dlv}")


@app.command()
def recover(
    subscription: str = RequiredSubscription,
    since: str = typer.Option(..., "--since", help="ISO-8601 time or a duration ago (2h)."),
    config: ConfigOption = None,
) -> None:
    """Resend every failed (dead-lettered) delivery of a subscription created since TIME.

    TIME may go back as far as the delivery log keeps records, not further.
    """
    when = parse_since(since, datetime.now(UTC))
    done = _operate(config, lambda ops: ops.recover(subscription, when))
    typer.echo(f"recovering {len(done)} failed deliveries of {subscription} since {_when(when)}")


@app.command()
def pause(
    subscription: str = RequiredSubscription,
    reason: str = typer.Option("paused by operator", "--reason", help="1 to 200 characters."),
    config: ConfigOption = None,
) -> None:
    """Stop delivering to a subscription; its alerts are kept until it is resumed."""
    changed = _operate(config, lambda ops: ops.pause(subscription, reason))
    typer.echo(f"{subscription} {'paused' if changed else 'was already paused'}")


@app.command()
def resume(subscription: str = RequiredSubscription, config: ConfigOption = None) -> None:
    """Resume a paused subscription: its kept alerts are delivered in order."""
    count = _operate(config, lambda ops: ops.resume(subscription))
    typer.echo(f"{subscription} resumed; {count} kept deliveries queued")


@app.command()
def status(subscription: str = RequiredSubscription) -> None:
    """Whether a subscription is paused (and why) and how many deliveries wait."""

    async def action(store: DeliveryStore) -> tuple[str | None, int]:
        return await store.paused_reason(subscription), await store.queued(subscription)

    reason, queued = _with_store(action)
    state = f"paused ({reason})" if reason else "active"
    typer.echo(f"{subscription}: {state}, {queued} queued")
