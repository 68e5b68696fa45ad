"""Batch vs one-by-one: generated streams of Kafka-like batches run through a store twice.

The oracle is the per-article sequence (check, claim, commit for each article before
the next); the batch API must decide exactly the same for the same
articles in the same order, on both stores. The pool holds redeliveries, exact copies
under other ids, URL variants, syndicated copies and an outlet's wrap, so one batch often
holds copies of each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from hypothesis import strategies as st

from newsalert.dedupe import AlertKey, ArticleVerdict, DedupeStore
from newsalert.dedupe.contract import AlertClaim, ClaimRequest
from newsalert.models import Article
from tests.unit.dedupe.texts import (
    BRIEFS,
    DAY,
    HOUR,
    OTHER_STORY,
    OUTLET_WRAP,
    STORY,
    T0,
    article,
    syndicated,
)


def parity_pool() -> list[Article]:
    """Originals, syndicated copies, exact reprints and URL variants of two stories."""
    pool = []
    for n, sentences in enumerate([STORY, OTHER_STORY]):
        url = f"https://news.example/story-{n}"
        pool += [
            article(f"o{n}", sentences, url=url),
            article(f"o{n}", sentences, url=url, source="mirror"),  # same body, other id
            article(f"v{n}", syndicated(sentences), source="outlet"),
            article(f"u{n}", sentences[1:], url=url.upper() + "/?utm_source=x", source="u"),
            article(f"s{n}", sentences[:3], source="short"),
            article(f"w{n}", [*OUTLET_WRAP[0], *BRIEFS[n], *OUTLET_WRAP[1]], source="outlet"),
            article(f"b{n}", BRIEFS[n + 2], source="wire"),
        ]
    # Enough articles of one outlet for its wrap to be learned as boilerplate.
    wrap = OUTLET_WRAP
    pool += [article(f"w{n}", [*wrap[0], *BRIEFS[n], *wrap[1]], source="outlet") for n in (2, 3)]
    return pool


POOL = parity_pool()
#: Whole hours on the window edges (1 h, 24 h, 48 h, 72 h) so boundaries get hit.
HOURS = [0, 1, 2, 23, 24, 25, 48, 72, 73, 74, 97, 150]
GROUPS: list[str | AlertKey] = ["a", "b", "c", AlertKey("a", 6 * HOUR), AlertKey("b", HOUR)]
INTERVALS: list[timedelta | dict[str, timedelta]] = [HOUR, DAY, {"a": DAY, "b": 2 * DAY, "c": HOUR}]


class Item(NamedTuple):
    """One record of a batch: the article, its time, the alert groups it matched."""

    article: Article
    at: datetime
    groups: list[str | AlertKey]
    interval: timedelta | dict[str, timedelta]


items = st.builds(
    Item,
    st.sampled_from(POOL),
    st.sampled_from(HOURS).map(lambda h: T0 + timedelta(hours=h)),
    st.lists(st.sampled_from(GROUPS), max_size=4),
    st.sampled_from(INTERVALS),
)
#: A few batches of up to 8 records: copies land in one batch often.
streams = st.lists(st.lists(items, min_size=1, max_size=8), min_size=1, max_size=4)

Decided = tuple[bool, str, str | None, tuple[tuple[object, ...], ...]]


def decided(verdict: ArticleVerdict, claims: Sequence[AlertClaim]) -> Decided:
    """What an article's processing decided, in comparable form."""
    return (
        verdict.duplicate,
        verdict.story_id,
        verdict.reason,
        tuple(
            (c.rule_id, c.lane, c.send, c.duplicates_folded, c.sequence, c.alert_id) for c in claims
        ),
    )


async def one_by_one(store: DedupeStore, stream: list[list[Item]]) -> list[Decided]:
    """Each article checked, claimed and committed before the next (the oracle)."""
    out = []
    for batch in stream:
        for item in batch:
            verdict = await store.check_article(item.article, item.at)
            claims: list[AlertClaim] = []
            if not verdict.duplicate:
                claims = await store.claim_alerts(
                    verdict.story_id, item.groups, item.at, item.interval, owner=verdict.token
                )
                await store.commit(verdict, claims)
            out.append(decided(verdict, claims))
    return out


async def batched(store: DedupeStore, stream: list[list[Item]]) -> list[Decided]:
    """Each batch: one check, one claim and one commit call for all its articles."""
    out = []
    for batch in stream:
        verdicts = await store.check_articles([(item.article, item.at) for item in batch])
        fresh = [(v, item) for v, item in zip(verdicts, batch, strict=True) if not v.duplicate]
        claimed = iter(
            await store.claim_batch(
                [
                    ClaimRequest(v.story_id, item.groups, item.at, item.interval, v.token)
                    for v, item in fresh
                ]
            )
        )
        handoffs = [(v, [] if v.duplicate else next(claimed)) for v in verdicts]
        await store.commit_batch([(v, c) for v, c in handoffs if not v.duplicate])
        out += [decided(v, c) for v, c in handoffs]
    return out
