"""``newsalert backtest`` (placeholder until the backtest lands)."""

import typer

app = typer.Typer(help="Replay articles against rules to see what would have fired.")
