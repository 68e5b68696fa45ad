"""``newsalert rules ...`` commands (placeholder until the rules engine lands)."""

import typer

app = typer.Typer(help="Validate and explain watch rules.", no_args_is_help=True)
