"""Alert records become Alerts or a RecordError for alerts.dlq; nothing else escapes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiokafka import ConsumerRecord
from hypothesis import given
from hypothesis import strategies as st

from newsalert.dispatcher.service import DispatcherService
from newsalert.errors import RecordError
from newsalert.models import Alert, ArticleRef, RuleRef

GOOD = Alert(
    alert_id="alrt_1",
    rule=RuleRef(id="r", title="R"),
    article=ArticleRef(id="a", title="Headline"),
    story_id="s",
    created_at=datetime(2026, 12, 4, tzinfo=UTC),
).model_dump_json()


def _record(value: bytes | None) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord("alerts", 0, 7, 0, 0, None, value, None, 0, 0, [])


def _decoded(value: bytes | None) -> Alert | RecordError:
    try:
        return DispatcherService._decode(_record(value))
    except RecordError as exc:
        return exc


def test_a_valid_alert_decodes() -> None:
    assert _decoded(GOOD.encode()) == Alert.model_validate_json(GOOD)


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (None, "empty"),
        (GOOD.replace('"Headline"', '"\\ud800"').encode(), "lone-surrogate"),
        (GOOD[:-1].encode() + b',"x":' + b"[" * 2000 + b"]" * 2000 + b"}", "too-deep"),
        (GOOD.replace('"duplicates_folded":0', '"duplicates_folded":' + "9" * 5000).encode(),
         "number-out-of-range"),
        (GOOD[:-1].encode() + b',"story_id":"t"}', "duplicate-key"),
        (b'{"alert_id": "a"}', "invalid-alert"),
    ],
)  # fmt: skip
def test_hostile_alert_records_get_a_kind(value: bytes | None, kind: str) -> None:
    refused = _decoded(value)
    assert isinstance(refused, RecordError)
    assert refused.kind == kind
    assert refused.reason.startswith("invalid alert: ")


@given(st.binary(max_size=200) | st.text().map(lambda t: GOOD.replace("Headline", t).encode()))
def test_any_alert_record_decodes_or_raises_a_record_error(value: bytes) -> None:
    outcome = _decoded(value)
    if isinstance(outcome, Alert):
        outcome.model_dump_json().encode()  # what the store writes to Redis
