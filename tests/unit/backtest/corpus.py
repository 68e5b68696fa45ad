"""Small project-written articles and rules for the backtest tests (no corpus text)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RULES_A = """
version: 1
rules:
  - id: port-strike
    title: Dock workers strike
    all: ["port"]
    any: ["strike", "walkout"]
    tags: [logistics]
  - id: rates
    title: Central bank rates
    all: ["central bank"]
    any: ["raises rates", "cuts rates"]
    tags: [markets]
  - id: volcano
    title: Volcano erupts
    all: ["volcano erupts"]
subscriptions:
  - id: desk
    url: ${BACKTEST_TEST_URL}/hook
    secret: ${BACKTEST_TEST_SECRET}
    rules: ["tag:markets"]
"""

# B drops the walkout alternative, widens rates to any bank, removes volcano, adds floods.
RULES_B = """
version: 1
rules:
  - id: port-strike
    title: Dock workers strike
    all: ["port", "strike"]
  - id: rates
    title: Bank rates
    all: ["bank"]
    any: ["raises rates", "cuts rates"]
  - id: floods
    title: Floods
    all: ["flood*"]
"""


def article(
    article_id: str, title: str, body: str, when: str | None, **extra: Any
) -> dict[str, Any]:
    """An article dict; ``when`` is ISO 8601 or ``None`` (no published_at)."""
    data: dict[str, Any] = {
        "id": article_id,
        "title": title,
        "body": body,
        "source": "Test Wire",
        "language": "en",
    }
    if when is not None:
        data["published_at"] = when
    data.update(extra)
    return data


ARTICLES: list[dict[str, Any]] = [
    article(
        "a1",
        "Dock workers walk out at northern port",
        "Crews left the port at dawn in a walkout over pay.",
        "2026-11-20T08:00:00Z",
    ),
    article(
        "a2",
        "Central bank raises rates again",
        "The central bank raises rates by a quarter point to fight inflation.",
        "2026-11-20T09:00:00Z",
    ),
    # a3 is an exact copy of a2 (same body) under another id and URL: folded.
    article(
        "a3",
        "Central bank raises rates again",
        "The central bank raises rates by a quarter point to fight inflation.",
        "2026-11-20T09:05:00Z",
    ),
    article(
        "a4",
        "Port strike spreads to the south",
        "A strike at the southern port halted container traffic for the day.",
        "2026-11-20T10:00:00Z",
    ),
    article(
        "a5",
        "Regional bank cuts rates for savers",
        "A regional bank cuts rates on deposit accounts from Monday.",
        "2026-11-20T11:00:00Z",
    ),
    article(
        "a6",
        "Rivers burst banks as floods hit valley",
        "Flooding forced hundreds from their homes after days of rain.",
        "2026-11-20T12:00:00Z",
    ),
    article(
        "a7",
        "Quiet day on the markets",
        "Shares ended flat in thin trading.",
        "2026-11-20T13:00:00Z",
    ),
]


def write_jsonl(path: Path, items: list[dict[str, Any]], extra_lines: tuple[str, ...] = ()) -> Path:
    """Write ``items`` (and raw ``extra_lines``) as JSON Lines."""
    lines = [json.dumps(item) for item in items] + list(extra_lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
