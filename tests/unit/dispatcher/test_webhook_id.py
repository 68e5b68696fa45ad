"""Delivery ids: the contract's formula for first alerts, distinct ids for repeats."""

from __future__ import annotations

from datetime import UTC, datetime

from newsalert.dispatcher.service import webhook_id
from newsalert.models import Alert, ArticleRef, RuleRef, alert_id, delivery_id


def _alert(alert_id_value: str) -> Alert:
    return Alert(
        alert_id=alert_id_value,
        rule=RuleRef(id="rule"),
        article=ArticleRef(id="a", title="t"),
        story_id="story",
        created_at=datetime.now(UTC),
    )


def test_first_alert_uses_the_contract_formula() -> None:
    first = _alert(alert_id("rule", "story"))
    assert webhook_id("sub", first) == delivery_id("sub", "rule", "story")


def test_a_repeat_of_the_story_gets_its_own_stable_id() -> None:
    first = _alert(alert_id("rule", "story"))
    repeat = _alert(alert_id("rule", "story#1"))
    again = _alert(alert_id("rule", "story#1"))
    assert webhook_id("sub", repeat) != webhook_id("sub", first)
    assert webhook_id("sub", repeat) == webhook_id("sub", again)
    assert webhook_id("other", repeat) != webhook_id("sub", repeat)
