"""``python -m newsalert.dispatcher --config FILE``: the same as ``newsalert dispatcher``.

One entry point per service. The dispatcher-only process is assembled above the
dispatcher package (the runner, the API, the CLI's exit codes), so this entry point
imports none of it: it runs the top-level entry point, ``python -m newsalert``, in this
process with ``dispatcher`` put before the arguments, exactly as if that had been typed.
"""

from __future__ import annotations

import runpy
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> None:
    """Run ``newsalert dispatcher`` with ``argv`` (default: the process arguments)."""
    sys.argv = ["newsalert", "dispatcher", *(sys.argv[1:] if argv is None else argv)]
    runpy.run_module("newsalert", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
