"""Generated hostile records through the pure matcher path: decode, pipeline, alert bytes.

The property: a record either becomes an article whose processing (dedupe, matching,
alert building and serialisation) raises nothing, or is refused at the edge with an
:class:`ArticleError` that carries a kind and a header-safe reason. The same strategy
drives the integration suite against the real service and ``bench/fuzz.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsalert.config import load_config
from newsalert.dedupe import MemoryDedupe
from newsalert.errors import ArticleError
from newsalert.pipeline.decode import decode_article
from newsalert.pipeline.eventtime import EventTimeBounds, bounded_event_time
from newsalert.pipeline.step import ArticlePipeline
from newsalert.rules import CompiledRules
from tests.hostile_input import hostile_records

RULES = """
version: 1
rules:
  - id: port-strike
    all: ["port"]
    any: ["strike", "walkout"]
  - id: anything-x
    any: ["x", "é"]
"""
BOUNDS = EventTimeBounds(timedelta(days=1), timedelta(days=3650))


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> CompiledRules:
    path = tmp_path_factory.mktemp("rules") / "rules.yaml"
    path.write_text(RULES)
    return load_config(path, env={}).rules.compile()


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(hostile_records(), min_size=1, max_size=4), st.integers(0, 2**62))
async def test_hostile_records_are_refused_or_processed_without_raising(
    compiled: CompiledRules, records: list[bytes], kafka_ms: int
) -> None:
    pipeline = ArticlePipeline(lambda: compiled, MemoryDedupe(), timedelta(hours=24))
    now = datetime(2026, 12, 4, tzinfo=UTC)
    for raw in records:
        try:
            article = decode_article(raw, 1_000_000)
        except ArticleError as exc:
            refused: ArticleError | None = exc
        else:
            refused = None
        if refused is not None:
            assert refused.kind
            refused.reason.encode()  # header-safe
            continue
        event_time, _clamped = bounded_event_time(article, kafka_ms, now, BOUNDS)
        assert now - timedelta(days=3650) <= event_time <= now + timedelta(days=1)
        outcome = await pipeline.process(article, event_time)
        for alert in outcome.alerts:
            alert.model_dump_json().encode()
            alert.alert_id.encode()
        await pipeline.commit(outcome)
