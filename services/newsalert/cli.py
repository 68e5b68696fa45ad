"""The ``newsalert`` command line: one entry point for every service and tool.

Sub-command groups live next to the code they drive (``rules/cli.py``,
``stack/cli.py``, ...); this module only assembles them and holds the service runners.
"""

from __future__ import annotations

import typer

from newsalert.backtest.cli import app as backtest_app
from newsalert.dispatcher.cli import app as deliveries_app
from newsalert.rules.cli import app as rules_app
from newsalert.stack.cli import app as stack_app

app = typer.Typer(
    name="newsalert",
    help="Streaming news alerts: Kafka articles -> watch rules -> deduped, signed webhooks.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(stack_app, name="stack")
app.add_typer(rules_app, name="rules")
app.add_typer(deliveries_app, name="deliveries")
app.add_typer(backtest_app, name="backtest")


def main() -> None:
    """Console-script entry point."""
    app()
