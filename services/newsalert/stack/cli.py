"""``newsalert stack ...`` commands (placeholder)."""

import typer

app = typer.Typer(help="Start and stop the embedded broker and Redis.", no_args_is_help=True)
