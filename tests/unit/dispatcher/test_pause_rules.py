"""When a failing subscription is paused (pure decision, no I/O)."""

from __future__ import annotations

import time

from newsalert.dispatcher.deliverer import pause_reason
from newsalert.subscriptions import Subscription
from newsalert.webhooks.retry import Verdict

BASE = {
    "id": "desk",
    "url": "https://example.org/h",
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
}


def _sub(**policy: object) -> Subscription:
    return Subscription.model_validate({**BASE, **policy})


def test_410_pauses_at_once() -> None:
    now_ms = int(time.time() * 1000)
    reason = pause_reason(_sub(), Verdict.GONE, 1, now_ms)
    assert reason is not None
    assert "410" in reason


def test_n_consecutive_failures_pause() -> None:
    now_ms = int(time.time() * 1000)
    sub = _sub(pause_after_failures=3)
    assert pause_reason(sub, Verdict.FAILED, 2, now_ms) is None
    assert pause_reason(sub, Verdict.THROTTLED, 3, now_ms) == "3 consecutive failed attempts"


def test_failing_for_too_long_pauses() -> None:
    sub = _sub(pause_after_failures=None, pause_after="2h")
    recent = int((time.time() - 3600) * 1000)
    old = int((time.time() - 3 * 3600) * 1000)
    assert pause_reason(sub, Verdict.FAILED, 1, recent) is None
    assert pause_reason(sub, Verdict.FAILED, 1, old) == "failing for more than 2h"


def test_both_thresholds_can_be_switched_off() -> None:
    sub = _sub(pause_after_failures=None, pause_after=None)
    ancient = int((time.time() - 365 * 86400) * 1000)
    assert pause_reason(sub, Verdict.FAILED, 10**6, ancient) is None
