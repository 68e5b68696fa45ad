"""``python -m newsalert.dispatcher --config FILE``: the same as ``newsalert dispatcher``.

One entry point per service: this only forwards its arguments to the ``newsalert
dispatcher`` command, which loads and watches the subscriptions (never the rules).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> None:
    """Run ``newsalert dispatcher`` with ``argv`` (default: the process arguments)."""
    from newsalert.cli import app

    app(["dispatcher", *(sys.argv[1:] if argv is None else argv)], prog_name="newsalert")


if __name__ == "__main__":
    main()
