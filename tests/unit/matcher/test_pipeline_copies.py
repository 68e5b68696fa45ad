"""The shared pipeline on MemoryDedupe: copies from other outlets are matched and folded,
and subscriptions with their own repeat interval get their own repeat lane."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from newsalert.config import Config, parse_config_text
from newsalert.dedupe import MemoryDedupe
from newsalert.models import Article, alert_id
from newsalert.pipeline.lanes import RepeatLanes
from newsalert.pipeline.step import ArticleOutcome, ArticlePipeline
from newsalert.rules.language.problems import RuleFileError

T0 = datetime(2026, 11, 20, 8, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(hours=24)
BODY = (
    "Dock workers at the northern container port began a walkout over pay on Monday. "
    "The union said the strike would last until the port operator made a new offer."
)
CONFIG = """
version: 1
rules:
  - id: any-port
    all: ["port"]
  - id: dpa-port
    all: ["port"]
    sources: [dpa]
  - id: headline-walkout
    all: ["walkout"]
    fields: [title]
  - id: german-port
    all: ["port"]
    languages: [de]
subscriptions:
  - id: fast-desk
    url: http://127.0.0.1:9/fast
    secret: whsec_dGVzdHNlY3JldHRlc3Q=
    repeat_interval: 6h
  - id: slow-desk
    url: http://127.0.0.1:9/slow
    secret: whsec_dGVzdHNlY3JldHRlc3Q=
  - id: also-fast
    url: http://127.0.0.1:9/also
    secret: whsec_dGVzdHNlY3JldHRlc3Q=
    rules: [dpa-port]
    repeat_interval: 360m
"""


def wire(
    article_id: str, source: str, at: datetime, title: str = "Port dispute", language: str = "en"
) -> Article:
    return Article(
        id=article_id, title=title, body=BODY, source=source, language=language, published_at=at
    )


def pipeline(config: Config, *, lanes: bool) -> ArticlePipeline:
    compiled = config.rules.compile()
    subscriptions = config.subscriptions
    return ArticlePipeline(
        lambda: compiled,
        MemoryDedupe(),
        DAY,
        lanes=RepeatLanes(lambda: subscriptions) if lanes else None,
    )


async def run(pipe: ArticlePipeline, art: Article) -> ArticleOutcome:
    assert art.published_at is not None
    outcome = await pipe.process(art, art.published_at)
    await pipe.commit(outcome)
    return outcome


def sent(outcome: ArticleOutcome) -> list[tuple[str, int | None, int]]:
    return [(a.rule.id, a.repeat_interval_ms, a.duplicates_folded) for a in outcome.alerts]


async def test_exact_copies_from_other_outlets_fire_the_rules_only_they_match() -> None:
    pipe = pipeline(parse_config_text(CONFIG), lanes=False)
    reuters = await run(pipe, wire("r-1", "Reuters", T0))
    assert sent(reuters) == [("any-port", None, 0)]
    dpa = await run(pipe, wire("d-1", "dpa", T0 + HOUR))
    assert (dpa.duplicate, dpa.verdict.reason) == (False, "same-body")
    assert sent(dpa) == [("dpa-port", None, 0)]
    assert dpa.alerts[0].alert_id == alert_id("dpa-port", reuters.verdict.story_id)
    retitled = await run(pipe, wire("x-1", "x", T0 + 2 * HOUR, title="Walkout at the port"))
    assert retitled.verdict.story_id == reuters.verdict.story_id
    assert sent(retitled) == [("headline-walkout", None, 0)]
    tagged_de = await run(pipe, wire("z-1", "z", T0 + 2 * HOUR, language="de"))
    assert sent(tagged_de) == [("german-port", None, 0)]
    redelivered = await run(pipe, wire("d-1", "dpa", T0 + HOUR))
    assert redelivered.duplicate
    assert (redelivered.matches, redelivered.claims) == ([], [])
    second_dpa = await run(pipe, wire("d-2", "dpa", T0 + 3 * HOUR))
    assert sent(second_dpa) == [], "each rule fires once per story and interval"
    late = await run(pipe, wire("y-1", "y", T0 + DAY + HOUR))
    # any-port folded the dpa, retitled, German and second dpa copies, not the redelivery.
    assert sent(late) == [("any-port", None, 4)]


async def test_subscription_repeat_intervals_are_lanes() -> None:
    pipe = pipeline(parse_config_text(CONFIG), lanes=True)
    six_h = 6 * 3_600_000
    first = await run(pipe, wire("r-1", "dpa", T0))
    assert sent(first) == [
        ("any-port", None, 0),
        ("any-port", six_h, 0),
        ("dpa-port", None, 0),
        ("dpa-port", six_h, 0),
    ]
    assert len({a.alert_id for a in first.alerts if a.rule.id == "any-port"}) == 1
    copy = await run(pipe, wire("c-1", "c", T0 + HOUR))
    assert sent(copy) == []
    later = await run(pipe, wire("c-2", "c", T0 + 7 * HOUR))
    assert sent(later) == [("any-port", six_h, 1)]
    day = await run(pipe, wire("c-3", "c", T0 + DAY + HOUR))
    assert sent(day) == [("any-port", None, 2), ("any-port", six_h, 0)]
    assert len({a.alert_id for a in day.alerts}) == 2


def test_lanes_follow_the_subscription_set() -> None:
    config = parse_config_text(CONFIG)
    current = config.subscriptions
    lanes = RepeatLanes(lambda: current)
    six = timedelta(hours=6)
    assert [k.lane for k in lanes.keys("dpa-port", ())] == [None, six]
    current = tuple(s for s in config.subscriptions if s.id != "slow-desk")
    assert [k.lane for k in lanes.keys("dpa-port", ())] == [six]
    current = tuple(s for s in config.subscriptions if s.id == "also-fast")
    assert [k.lane for k in lanes.keys("dpa-port", ())] == [six]
    # A rule no subscription selects keeps the default lane: its alerts still go out.
    assert [k.lane for k in lanes.keys("any-port", ())] == [None]


def test_a_bad_repeat_interval_is_a_config_problem_with_its_place() -> None:
    bad = CONFIG.replace("repeat_interval: 6h", "repeat_interval: soon")
    with pytest.raises(RuleFileError) as caught:
        parse_config_text(bad)
    (problem,) = caught.value.problems
    assert "repeat_interval" in problem.reason
    assert problem.item == "fast-desk"
    assert problem.location.line == CONFIG.splitlines().index("    repeat_interval: 6h") + 1
