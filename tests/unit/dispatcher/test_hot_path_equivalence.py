"""The dispatcher's per-webhook shortcuts give exactly what the general code gives.

Alert records the matcher wrote are decoded without the strict parser's walk, webhook
bodies are spliced from a per-alert part and attempt records are built without
validation: each must be indistinguishable from the general path (same alert or same
refusal, same body bytes, same record).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from newsalert.dispatcher.deliverer import attempt_record, webhook_body
from newsalert.dispatcher.records import AttemptRecord
from newsalert.dispatcher.service import canonical_alert
from newsalert.errors import RecordError
from newsalert.models import Alert, ArticleRef, RuleRef, WebhookAlertData, WebhookPayload
from newsalert.strict_json import loads_strict
from newsalert.webhooks.retry import Verdict
from newsalert.webhooks.sender import AttemptResult

texts = st.text(max_size=40)
optional_texts = st.none() | texts
times = st.datetimes(
    min_value=datetime(1990, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(0))]),
)


@st.composite
def alerts(draw: st.DrawFn) -> Alert:
    return Alert(
        alert_id=draw(texts),
        rule=RuleRef(id=draw(texts), title=draw(optional_texts)),
        article=ArticleRef(
            id=draw(texts),
            title=draw(texts),
            url=draw(optional_texts),
            source=draw(optional_texts),
            published_at=draw(st.none() | times),
        ),
        story_id=draw(texts),
        matched=draw(st.lists(texts, max_size=3)),
        tags=draw(st.lists(texts, max_size=2)),
        duplicates_folded=draw(st.integers(min_value=0, max_value=2**70)),
        created_at=draw(times),
        event_time_clamped=draw(st.booleans()),
        repeat_interval_ms=draw(st.none() | st.integers(min_value=0, max_value=2**70)),
    )


def _strict(raw: bytes) -> Alert | RecordError:
    """What the general path makes of ``raw`` (parse, checks, validation)."""
    try:
        return Alert.model_validate(loads_strict(raw))
    except RecordError as exc:
        return exc


def _encodable(alert: Alert) -> bytes | None:
    try:
        return alert.model_dump_json().encode()
    except ValueError:  # a lone surrogate drawn by hypothesis: not a record anyone writes
        return None


@given(alerts())
def test_a_record_the_matcher_wrote_decodes_as_the_strict_path_decodes_it(alert: Alert) -> None:
    raw = _encodable(alert)
    if raw is None:
        return
    fast, strict = canonical_alert(raw), _strict(raw)
    if fast is not None:  # taken only when the strict path accepts it, with the same alert
        assert fast == strict


@given(alerts(), st.sampled_from([b" ", b'"x":1,', b'"story_id":"t",']))
def test_a_record_with_anything_added_is_left_to_the_strict_path(
    alert: Alert, extra: bytes
) -> None:
    raw = _encodable(alert)
    if raw is None:
        return
    edited = raw[:1] + extra + raw[1:]  # a space, an extra field, a duplicate key
    assert canonical_alert(edited) is None


def test_an_integer_outside_the_float_range_is_left_to_the_strict_path() -> None:
    alert = Alert(
        alert_id="a",
        rule=RuleRef(id="r"),
        article=ArticleRef(id="x", title="t"),
        story_id="s",
        duplicates_folded=10**400,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    raw = alert.model_dump_json().encode()
    assert canonical_alert(raw) is None
    refused = _strict(raw)
    assert isinstance(refused, RecordError)
    assert refused.kind == "number-out-of-range"


def test_a_plain_matcher_record_takes_the_shortcut() -> None:
    alert = Alert(
        alert_id="alrt_1",
        rule=RuleRef(id="r", title="Rule"),
        article=ArticleRef(id="a", title="Ölpreis steigt", url="https://x.test/a"),
        story_id="s",
        matched=["oil"],
        created_at=datetime(2026, 12, 4, 10, 0, 0, 123456, tzinfo=UTC),
    )
    assert canonical_alert(alert.model_dump_json().encode()) == alert


def _payload(alert: Alert, delivery_id: str, subscription_id: str, now: datetime) -> bytes:
    data = WebhookAlertData(
        alert_id=delivery_id,
        subscription_id=subscription_id,
        rule=alert.rule,
        article=alert.article,
        story_id=alert.story_id,
        matched=alert.matched,
        duplicates_folded=alert.duplicates_folded,
        event_time_clamped=alert.event_time_clamped,
    )
    return WebhookPayload(timestamp=now, data=data).model_dump_json().encode()


@given(alerts(), st.lists(st.tuples(texts, texts), min_size=1, max_size=3), times)
def test_the_webhook_body_is_the_payload_models_serialisation(
    alert: Alert, deliveries: list[tuple[str, str]], now: datetime
) -> None:
    if _encodable(alert) is None:
        return
    for delivery_id, subscription_id in deliveries:  # one alert fanned out: one shared part
        try:
            expected = _payload(alert, delivery_id, subscription_id, now)
        except ValueError:  # an id with a lone surrogate cannot be serialised either way
            continue
        assert webhook_body(alert, delivery_id, subscription_id, now) == expected


@given(
    st.integers(min_value=1, max_value=60),
    times,
    st.sampled_from(list(Verdict)),
    st.none() | st.integers(min_value=100, max_value=599),
    st.floats(min_value=0, max_value=1e6, allow_nan=False) | st.integers(0, 10**6),
    optional_texts,
    texts,
)
def test_an_attempt_record_is_the_one_validation_would_build(
    number: int,
    now: datetime,
    verdict: Verdict,
    status: int | None,
    latency: float,
    error: str | None,
    response: str,
) -> None:
    result = AttemptResult(status, latency, error=error, response=response)
    built = attempt_record(number, now, verdict, result)
    validated = AttemptRecord(
        number=number,
        at=now,
        status=status,
        latency_ms=latency,
        verdict=verdict.value,
        error=error,
        response=response,
    )
    assert built == validated
    assert built.model_fields_set == validated.model_fields_set
    try:
        expected = validated.model_dump_json()
    except ValueError:  # a lone surrogate drawn by hypothesis fails both alike
        return
    assert built.model_dump_json() == expected
