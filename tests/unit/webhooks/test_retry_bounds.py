"""No retry is scheduled beyond MAX_RETRY_DELAY_S: refused in the config, clamped if not."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from newsalert.subscriptions import Subscription
from newsalert.webhooks.retry import MAX_RETRY_DELAY_S, Verdict, next_delay

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@given(
    st.lists(st.floats(min_value=0, allow_nan=False), min_size=1, max_size=4),
    st.sampled_from(list(Verdict)),
    st.one_of(st.none(), st.floats(allow_nan=False)),
)
def test_next_delay_never_exceeds_the_maximum(
    schedule: list[float], verdict: Verdict, retry_after: float | None
) -> None:
    delay = next_delay(schedule, 1, verdict, retry_after_s=retry_after, rng=random.Random(1))
    assert delay is None or 0.0 <= delay <= MAX_RETRY_DELAY_S


@pytest.mark.parametrize(
    ("entry", "reason"),
    [("8d", "longer than 7d"), ("30000000d", "longer than 7d"), ("9" * 400 + "s", "out of range")],
)
def test_a_retry_delay_over_a_week_is_refused(entry: str, reason: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Subscription(id="s", url="https://x.example/", secret=SECRET, retry_schedule=[entry])
    message = str(refused.value.errors()[0]["msg"])
    assert reason in message
    assert len(message) < 120  # the entry is shown abbreviated


def test_a_week_is_allowed() -> None:
    sub = Subscription(id="s", url="https://x.example/", secret=SECRET, retry_schedule=["7d"])
    assert sub.retry_delays() == (MAX_RETRY_DELAY_S,)


@pytest.mark.parametrize(
    ("timeout", "reason"), [("2h", "longer than 1h"), ("9" * 400 + "s", "out of range")]
)
def test_a_request_timeout_over_an_hour_is_refused(timeout: str, reason: str) -> None:
    # An infinite one made every claim of the subscription's worker raise (int(inf)).
    with pytest.raises(ValidationError) as refused:
        Subscription(id="s", url="https://x.example/", secret=SECRET, timeout=timeout)
    message = str(refused.value.errors()[0]["msg"])
    assert reason in message
    assert len(message) < 120
