"""``python -m newsalert`` is the same as the ``newsalert`` command."""

from newsalert.cli import main

main()
