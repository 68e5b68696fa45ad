"""Rules tooling runs without the subscriptions' production secrets (real CLI)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsalert.backtest.ruleload import load_backtest_config
from newsalert.cli import app

runner = CliRunner()

CONFIG = """\
version: 1
rules:
  - id: port-strike
    all: [port, strike]
subscriptions:
  - id: ops
    url: ${NA_TEST_UNSET_URL}/ops
    secret: ${NA_TEST_UNSET_SECRET}
    rules: ["*"]
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("NA_TEST_UNSET_URL", raising=False)
    monkeypatch.delenv("NA_TEST_UNSET_SECRET", raising=False)
    path = tmp_path / "rules.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def test_check_needs_no_secret_unless_asked_to_check_subscriptions(config: Path) -> None:
    result = runner.invoke(app, ["rules", "check", str(config)])
    assert result.exit_code == 0, result.output
    assert "ok: 1 rules" in result.output
    assert "subscriptions not checked" in result.output
    strict = runner.invoke(app, ["rules", "check", "--subscriptions", str(config)])
    assert strict.exit_code == 1
    assert f"{config}:7:10: ops: url: environment variable NA_TEST_UNSET_URL" in strict.output


def test_check_subscriptions_passes_when_the_secrets_are_set(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NA_TEST_UNSET_URL", "https://hooks.example.com")
    monkeypatch.setenv("NA_TEST_UNSET_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    result = runner.invoke(app, ["rules", "check", "--subscriptions", str(config)])
    assert result.exit_code == 0, result.output
    assert "1 subscriptions" in result.output


def test_explain_needs_no_secret(config: Path) -> None:
    args = ["rules", "explain", str(config), "--rule", "port-strike", "--text", "port strike"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "FIRES" in result.output
    strict = runner.invoke(app, [*args, "--subscriptions"])
    assert strict.exit_code == 1
    assert "NA_TEST_UNSET_SECRET" in strict.output


def test_dry_run_backtest_rules_keep_their_real_positions(config: Path) -> None:
    loaded = load_backtest_config(config, {}, need_subscriptions=False)
    (rule,) = loaded.rules.rules
    assert rule.location is not None
    assert (rule.location.file, rule.location.line) == (str(config), 3)
    assert loaded.subscriptions == ()
    assert loaded.files == (config,)
