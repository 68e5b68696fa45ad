"""Rule loading for dry runs (unresolved subscriptions) and the --deliver selection."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsalert.backtest.deliver import selected_alerts
from newsalert.backtest.report import AlertRecord
from newsalert.backtest.ruleload import load_backtest_config
from newsalert.models import Alert, ArticleRef, RuleRef, alert_id
from newsalert.rules import RuleFileError
from newsalert.subscriptions import Subscription

SUBS = """
subscriptions:
  - id: desk
    url: ${UNSET_URL}/x
    secret: ${UNSET_SECRET}
    rules: ["tag:markets"]
"""


def test_directory_config_loads_its_rules_without_subscriptions(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "10-defaults.yaml").write_text("version: 1\ndefaults:\n  window: 3\n")
    (folder / "20-rules.yml").write_text(
        'rules:\n  - id: near\n    all: ["central bank"]\n    tags: [markets]\n' + SUBS
    )
    config = load_backtest_config(folder, {}, need_subscriptions=False)
    assert [rule.id for rule in config.rules] == ["near"]
    assert config.rules.rules[0].window == 3  # defaults of another file still apply
    assert config.subscriptions == ()
    assert config.source == folder
    with pytest.raises(RuleFileError, match="UNSET_URL"):
        load_backtest_config(folder, {}, need_subscriptions=True)


def test_rule_problems_are_not_hidden_by_the_fallback(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("version: 1\nrules:\n  - id: Bad Id\n    all: [x]\n" + SUBS)
    with pytest.raises(RuleFileError, match="Bad Id"):
        load_backtest_config(path, {}, need_subscriptions=False)


def record(rule: str, tags: list[str]) -> AlertRecord:
    now = datetime(2026, 11, 20, tzinfo=UTC)
    alert = Alert(
        alert_id=alert_id(rule, "s1"),
        rule=RuleRef(id=rule),
        article=ArticleRef(id="a", title="t"),
        story_id="s1",
        tags=tags,
        created_at=now,
    )
    return AlertRecord(alert, now, (rule, "s1", 0))


def test_deliver_selects_only_the_subscription_rules() -> None:
    subscription = Subscription(
        id="desk",
        url="https://example.org/x",
        secret="whsec_dGVzdHNlY3JldHRlc3Q=",
        rules=("tag:markets", "volcano"),
    )
    records = [record("rates", ["markets"]), record("port", ["logistics"]), record("volcano", [])]
    assert [a.rule.id for a in selected_alerts(subscription, records)] == ["rates", "volcano"]
