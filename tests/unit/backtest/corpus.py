"""Small project-written articles and rules for the backtest tests (no corpus text)."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
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


# Overlapping rules (several match each article of sample_with_copies), and a
# subscription with its own repeat lane.
RULES_DENSE = """
version: 1
rules:
  - id: port-strike
    title: Dock workers strike
    all: ["port"]
    any: ["strike", "walkout"]
    tags: [logistics]
  - id: port-any
    any: ["port", "harbour"]
    tags: [logistics]
  - id: rates
    title: Central bank rates
    all: ["central bank"]
    any: ["raises rates", "cuts rates"]
    tags: [markets]
  - id: inflation
    any: ["inflation", "bond"]
    tags: [markets]
  - id: floods
    all: ["flood*"]
  - id: weather
    any: ["rain", "storm", "river"]
    tags: [weather]
  - id: outage
    any: ["power cut", "outage", "blackout"]
  - id: never
    all: ["volcano erupts"]
subscriptions:
  - id: desk
    url: ${BACKTEST_TEST_URL}/hook
    secret: ${BACKTEST_TEST_SECRET}
    rules: ["tag:markets", "tag:weather"]
    repeat_interval: 2h
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


TOPICS = {
    "port": ("port", "strike", "walkout", "dockers", "harbour"),
    "bank": ("central bank", "raises rates", "cuts rates", "inflation", "bond"),
    "flood": ("flood", "river", "rain", "evacuation", "valley"),
    "power": ("power cut", "grid", "outage", "blackout", "storm"),
}


def sample_with_copies(seed: int = 7, *, near: bool = True) -> list[dict[str, Any]]:
    """Stories over three days, with copies of every kind interleaved (near copies, which
    depend on the fingerprint's tuning, only with ``near``)."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 20, 6, tzinfo=UTC)
    items: list[dict[str, Any]] = []
    for n in range(60):
        topic, words = rng.choice(sorted(TOPICS.items()))
        picked = rng.sample(words, 3)
        when = start + timedelta(minutes=70 * n + rng.randrange(30))
        body = (
            f"Report {n} on the {topic} story: {picked[0]} and {picked[1]} were reported "
            f"as {picked[2]} continued in district {n % 7}, officials said on day {n // 20}."
        )
        items.append(article(f"s{n}", f"{topic.title()} update {n}: {picked[0]}", body, _iso(when)))
        kind = n % 5
        if kind == 1:  # an exact copy under another id, a little later
            items.append(
                article(f"s{n}-copy", items[-1]["title"], body, _iso(when + timedelta(minutes=5)))
            )
        elif kind == 2:  # the same record again (a redelivery)
            items.append(dict(items[-1]))
        elif kind == 3 and near:  # a near copy: one sentence added
            items.append(
                article(
                    f"s{n}-near",
                    items[-1]["title"],
                    body + " More details are expected later today.",
                    _iso(when + timedelta(minutes=20)),
                )
            )
        elif kind == 4 and n >= 20:  # a copy of an older story, past the 2h lane
            old = items[rng.randrange(len(items) // 2)]
            items.append(
                article(f"s{n}-late", old["title"], old["body"], _iso(when + timedelta(hours=1)))
            )
    return items


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def write_jsonl(path: Path, items: list[dict[str, Any]], extra_lines: tuple[str, ...] = ()) -> Path:
    """Write ``items`` (and raw ``extra_lines``) as JSON Lines."""
    lines = [json.dumps(item) for item in items] + list(extra_lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
