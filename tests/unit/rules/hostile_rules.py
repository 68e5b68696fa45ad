"""Rule files past each limit of ``newsalert.rules.language.limits`` (helpers, no tests here).

Each case is a whole config text and what ``rules check`` must say about it: the line
and column of the problem and a piece of its reason. Shared by the unit tests, the
``rules check`` process test and the hot-reload tests.
"""

from __future__ import annotations

from dataclasses import dataclass

from newsalert.rules.language.limits import (
    MAX_DISTANCE,
    MAX_NESTING,
    MAX_QUERY_CHARS,
    MAX_TERM_WORDS,
    MAX_TERMS_PER_RULE,
)
from newsalert.text import MAX_TOKEN_CHARS

HEAD = "version: 1\nrules:\n  - id: ok\n    all: [envoy]\n"


@dataclass(frozen=True)
class Hostile:
    """A config text, and the problem it must produce (1-based line and column)."""

    name: str
    text: str
    line: int
    column: int
    reason: str


def alias_bomb() -> str:
    """The classic "billion laughs": nine layers of nine aliases, 10**9 strings."""
    layers = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for before, name in zip("abcdefgh", "bcdefghi", strict=True):
        layers.append(f"{name}: &{name} [{','.join([f'*{before}'] * 9)}]")
    return "\n".join(layers) + "\n"


def _rule(body: str) -> str:
    return HEAD + "  - id: bad\n" + body


def _nested_groups(depth: int) -> str:
    inner = "[x]"
    for _ in range(depth):
        inner = "[{all: " + inner + "}]"
    return inner


CASES = [
    # The bomb's seventh layer is the first that expands past the limit.
    Hostile("alias-bomb", alias_bomb(), 7, 4, "aliases expand this value"),
    Hostile(
        "near-distance",
        _rule("    query: 'envoy NEAR/99999999999999999999 summoned'\n"),
        6,
        12,
        f"column 7: NEAR/999999999999...: the distance must be at most {MAX_DISTANCE}",
    ),
    Hostile(
        "window-int",
        _rule("    window: 99999999999999999999999\n    all: [envoy summoned]\n"),
        6,
        13,
        f"window must be an integer from 1 to {MAX_DISTANCE}, not 99999",
    ),
    Hostile(
        "window-float",
        _rule("    window: 1.0e+23\n    all: [envoy summoned]\n"),
        6,
        13,
        "window must be an integer from 1 to",
    ),
    Hostile(
        "window-digits",
        _rule("    window: 1" + "0" * 5000 + "\n    all: [envoy summoned]\n"),
        6,
        13,
        "invalid YAML: cannot read this int (5,001 characters)",
    ),
    Hostile(
        "deep-parens",
        _rule("    query: '" + "(" * 300 + "envoy" + ")" * 300 + "'\n"),
        6,
        12,
        f"column {MAX_NESTING + 1}: parentheses and NOT nested more than {MAX_NESTING}",
    ),
    Hostile(
        "not-chain",
        _rule("    query: 'envoy AND " + "NOT " * 5000 + "summoned'\n"),
        6,
        12,
        f"column {11 + 4 * MAX_NESTING}: parentheses and NOT nested more than",
    ),
    Hostile(
        "query-length",
        _rule("    query: '" + "envoy " * (MAX_QUERY_CHARS // 6 + 1) + "'\n"),
        6,
        12,
        f"more than the limit ({MAX_QUERY_CHARS:,})",
    ),
    Hostile(
        "query-terms",
        _rule("    query: '" + " OR ".join(["envoy"] * (MAX_TERMS_PER_RULE + 1)) + "'\n"),
        6,
        12,
        f"{MAX_TERMS_PER_RULE + 1:,} terms, more than the limit",
    ),
    Hostile(
        "any-items",
        _rule("    any: [" + ", ".join(["envoy"] * (MAX_TERMS_PER_RULE + 1)) + "]\n"),
        6,
        10,
        f"{MAX_TERMS_PER_RULE + 1:,} items, more than the limit",
    ),
    Hostile(
        "terms-per-rule",
        _rule(
            "    any: ["
            + ", ".join(["envoy"] * (MAX_TERMS_PER_RULE // 2 + 1))
            + "]\n    all: ["
            + ", ".join(["summoned"] * (MAX_TERMS_PER_RULE // 2 + 1))
            + "]\n"
        ),
        5,
        9,
        f"{MAX_TERMS_PER_RULE + 2:,} keywords and query terms, more than the limit",
    ),
    Hostile(
        "nested-groups",
        _rule("    all: " + _nested_groups(MAX_NESTING + 1) + "\n"),
        6,
        9 + 7 * MAX_NESTING + 2,  # the "{" of the group one level too deep
        f"groups nested more than {MAX_NESTING} levels deep",
    ),
    Hostile(
        "yaml-depth",
        _rule("    all: [x]\n    title: " + "[" * 200 + "x" + "]" * 200 + "\n"),
        7,
        12 + 128 - 3,  # three levels above the title: the file, the rules, the rule
        "invalid YAML: nested more than 128 levels deep",
    ),
    Hostile(
        "term-words",
        _rule("    all: ['" + " ".join(["envoy"] * (MAX_TERM_WORDS + 1)) + "']\n"),
        6,
        11,
        f"has {MAX_TERM_WORDS + 1} words, more than the limit",
    ),
    Hostile(
        "long-word",
        _rule("    all: [" + "x" * (MAX_TOKEN_CHARS + 1) + "]\n"),
        6,
        11,
        f"a word longer than {MAX_TOKEN_CHARS} characters never matches",
    ),
    Hostile(
        "long-value-in-message",
        _rule("    all: [envoy]\n    window: [" + ", ".join(["x" * 1000] * 1000) + "]\n"),
        7,
        13,
        "window must be an integer from 1 to",
    ),
]
