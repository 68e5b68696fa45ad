"""``newsalert rules check`` and ``newsalert rules explain`` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from newsalert.cli import app

runner = CliRunner()

RULES = """\
version: 1
rules:
  - id: kr-summons-russia
    all: ["ambassador summoned", "military cooperation"]
  - id: wild
    any: ["abc*"]
  - id: only-not
    query: 'NOT envoy'
  - id: never
    all: [envoy]
    none: [envoy]
  - id: narrow
    window: 1
    all: ["ambassador summoned"]
"""


def test_check_ok_with_warnings(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES, encoding="utf-8")
    result = runner.invoke(app, ["rules", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert "ok: 5 rules (1 verified on every article)" in result.output
    assert "warning: wild: expensive" in result.output
    assert "warning: only-not: expensive" in result.output
    assert "warning: never: can never match" in result.output
    assert "warning: narrow: can never match" in result.output
    strict = runner.invoke(app, ["rules", "check", "--strict", str(path)])
    assert strict.exit_code == 1


def test_check_prints_every_error_and_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "version: 1\nrules:\n  - id: a\n    query: 'x AND'\n  - id: b\n    all: ['zz*']\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["rules", "check", str(path)])
    assert result.exit_code == 1
    assert f"{path}:4:12: a: query: column 6" in result.output
    assert f"{path}:6:11: b:" in result.output
    assert "2 error(s)" in result.output


def test_explain_text_shows_matches_and_offsets(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES, encoding="utf-8")
    text = "Seoul summoned the ambassador over military cooperation"
    result = runner.invoke(
        app, ["rules", "explain", str(path), "--rule", "kr-summons-russia", "--text", text]
    )
    assert result.exit_code == 0, result.output
    assert "FIRES" in result.output
    assert "✓ keyword ambassador summoned" in result.output
    assert "body[6:14]" in result.output  # "summoned"
    assert "body[35:43]" in result.output  # "military"


def test_explain_article_that_does_not_fire(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES, encoding="utf-8")
    article = tmp_path / "a.json"
    article.write_text(json.dumps({"id": "x", "title": "envoy", "body": "nothing"}))
    result = runner.invoke(
        app, ["rules", "explain", str(path), "--rule", "only-not", "--article", str(article)]
    )
    assert result.exit_code == 3
    assert "does not fire" in result.output
    assert "must not match envoy" in result.output
    missing = runner.invoke(app, ["rules", "explain", str(path), "--rule", "nope", "--text", "x"])
    assert missing.exit_code == 1
