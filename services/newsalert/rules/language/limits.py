"""What a config file may ask of the process: every size a rule file controls is capped.

A rule file is input from people (and from tools) the service must survive: hot reload
parses it inside the running matcher. Each dimension that could make parsing, compiling
or an error message cost more than a small multiple of the file's own size has a limit
here, and going past one is an ordinary problem with file, line and column (``rules
check`` lists it, a hot reload keeps the last good rules). Together they bound the work
and memory of a load before it is done: a file is read only when it is small enough,
aliases cannot expand it much, nothing nests deeper than the recursive code can follow,
and every message shows values through :func:`shown`, never in full.
"""

from __future__ import annotations

import reprlib
from typing import Final

#: Bytes of one config file (a 100,000-rule file is about 8 MB).
MAX_FILE_BYTES: Final = 64 * 1024 * 1024
#: YAML nodes an alias may add to a document when expanded (anchors stay usable for a
#: shared keyword list; a "billion laughs" file is refused before it is built).
MAX_ALIAS_NODES: Final = 1_000_000
#: Levels of YAML nesting (a rule with groups nested MAX_NESTING deep needs about 104).
MAX_YAML_DEPTH: Final = 128
#: Rules in one file.
MAX_RULES_PER_FILE: Final = 200_000
#: Keywords and query terms in one rule.
MAX_TERMS_PER_RULE: Final = 50_000
#: Words of one keyword or query term (a phrase or window keyword).
MAX_TERM_WORDS: Final = 64
#: Characters of one ``query:`` string.
MAX_QUERY_CHARS: Final = 1_000_000
#: Nesting of a rule's expression: parentheses and ``NOT`` in a query, nested groups.
MAX_NESTING: Final = 50
#: ``window`` and ``NEAR/n`` distances, in tokens (far more than any article's field
#: needs; the compiled kernels lay fields out this far apart).
MAX_DISTANCE: Final = 10_000

_SHOWN_CHARS = 100
_SHOWN = reprlib.Repr()
_SHOWN.maxstring = 80
_SHOWN.maxother = 80
_SHOWN.maxlong = 40
_SHOWN.maxlist = _SHOWN.maxtuple = _SHOWN.maxdict = _SHOWN.maxset = 6
_SHOWN.maxlevel = 3


def shown(value: object) -> str:
    """``repr(value)`` cut to a few dozen characters (any value, however big or deep)."""
    text = _SHOWN.repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."
