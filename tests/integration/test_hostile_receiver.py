"""Generated hostile replies from a real HTTP receiver never break a delivery's bookkeeping.

Whatever status, ``Retry-After`` (any text, line breaks and NULs included) or body a
receiver sends, the sender returns an :class:`AttemptResult`, the retry policy turns it
into a verdict and a bounded delay, and the attempt record it becomes serialises (it is
stored as JSON in Redis and published to ``alerts.dlq``).
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsalert.dispatcher.deliverer import attempt_record
from newsalert.dispatcher.records import AttemptRecord
from newsalert.receiver import Reply, WebhookInbox
from newsalert.webhooks.retry import (
    MAX_RETRY_DELAY_S,
    Verdict,
    classify,
    next_delay,
    parse_retry_after,
)
from newsalert.webhooks.sender import WebhookSender
from newsalert.webhooks.signing import sign_request
from newsalert.webhooks.ssrf import AddressPolicy

pytestmark = pytest.mark.integration

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
REQUEST = sign_request([SECRET], "msg_hostile", int(time.time()), b'{"ok":true}')
SCHEDULE = (0.5, 30.0, 3600.0)

_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
_RETRY_AFTER = st.one_of(
    _TEXT,
    st.sampled_from(["²", "١٢", "1.5", "-1", "9" * 60, "Thu, 01 Jan 2026 00:01:30 GMT"]),
    st.from_regex(r"\A[0-9]{1,30}\Z"),
)
_STATUS = st.one_of(st.integers(200, 599), st.sampled_from([600, 799, 999]))


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(status=_STATUS, retry_after=_RETRY_AFTER, extra=_TEXT)
async def test_any_reply_becomes_a_recordable_attempt_and_a_bounded_delay(
    status: int, retry_after: str, extra: str
) -> None:
    inbox = WebhookInbox(lambda _req: Reply(status, {"Retry-After": retry_after, "X-Extra": extra}))
    await inbox.start()
    sender = WebhookSender(AddressPolicy.from_strings(["127.0.0.0/8"]), timeout_s=2.0)
    try:
        result = await sender.post(f"{inbox.url}/hook", REQUEST)
    finally:
        await sender.aclose()
        await inbox.stop()
    assert result.status is not None or result.error is not None
    now = datetime.now(UTC)
    verdict = Verdict.FAILED if result.refused else classify(result.status)
    wait_s = parse_retry_after(result.retry_after, now=now)
    assert wait_s is None or wait_s >= 0.0
    for attempts in range(1, len(SCHEDULE) + 2):
        delay = next_delay(SCHEDULE, attempts, verdict, retry_after_s=wait_s, rng=random.Random(0))
        assert delay is None or 0.0 <= delay <= MAX_RETRY_DELAY_S
    record = attempt_record(1, now, verdict, result)
    assert AttemptRecord.model_validate_json(record.model_dump_json()) == record
