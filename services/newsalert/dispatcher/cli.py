"""``newsalert deliveries ...`` commands (placeholder until the delivery log lands)."""

import typer

app = typer.Typer(help="Inspect and resend webhook deliveries.", no_args_is_help=True)
