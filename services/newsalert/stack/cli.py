"""``newsalert stack up|down|status``: the embedded broker and Redis for a laptop or CI."""

from __future__ import annotations

from pathlib import Path

import typer

from newsalert.errors import StackError
from newsalert.stack.embedded import EmbeddedStack

app = typer.Typer(
    help="Start and stop the embedded Kafka-protocol broker (tansu) and Redis on free "
    'loopback ports. `eval "$(newsalert stack up)"` points this shell at them.',
    no_args_is_help=True,
)

StateDir = typer.Option(Path(".newsalert"), "--state-dir", help="Where pids, ports and logs live.")


@app.command()
def up(state_dir: Path = StateDir) -> None:
    """Start the stack in the background and print `export NEWSALERT_...` lines."""
    try:
        info = EmbeddedStack(state_dir).up()
    except StackError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(info.exports())
    typer.echo(
        f"# broker pid {info.broker_pid}, redis pid {info.redis_pid}; logs in {state_dir}/logs",
        err=True,
    )


@app.command()
def down(state_dir: Path = StateDir) -> None:
    """Stop the stack started by `stack up`."""
    stopped = EmbeddedStack(state_dir).down()
    typer.echo("stopped" if stopped else "no stack running")


@app.command()
def status(state_dir: Path = StateDir) -> None:
    """Say whether the stack runs and where; exit 1 when it does not."""
    info = EmbeddedStack(state_dir).status()
    if info is None:
        typer.echo("not running")
        raise typer.Exit(1)
    typer.echo(info.exports())
