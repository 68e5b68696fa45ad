"""Several config files through the real ``newsalert rules`` CLI: defaults and version."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsalert.cli import app

runner = CliRunner()

RULE = """\
rules:
  - id: summons
    all: ["ambassador summoned"]
"""
# "ambassador" and "summoned" are 6 tokens apart: a window of 8 matches, 3 does not.
TEXT = "The ambassador was on Tuesday morning finally summoned"


def _explain(folder: Path, *args: str) -> int:
    result = runner.invoke(app, ["rules", "explain", str(folder), "--rule", "summons", *args])
    assert result.exit_code in (0, 3), result.output
    return result.exit_code


def _config(tmp_path: Path, *files: str) -> Path:
    folder = tmp_path / "conf"
    folder.mkdir()
    for number, text in enumerate(files):
        (folder / f"{number:02d}.yaml").write_text(text, encoding="utf-8")
    return folder


def test_a_later_window_equal_to_the_built_in_default_still_overrides(tmp_path: Path) -> None:
    folder = _config(tmp_path, "defaults: {window: 3}\n", "defaults: {window: 8}\n" + RULE)
    assert _explain(folder, "--text", TEXT) == 0


def test_a_later_file_that_does_not_set_a_key_keeps_the_earlier_value(tmp_path: Path) -> None:
    folder = _config(tmp_path, "defaults: {window: 3}\n", "defaults: {fields: [body]}\n" + RULE)
    assert _explain(folder, "--text", TEXT) == 3


def test_a_later_fields_back_to_the_built_in_default_wins(tmp_path: Path) -> None:
    folder = _config(
        tmp_path, "defaults: {fields: [title]}\n", "defaults: {fields: [title, body]}\n" + RULE
    )
    assert _explain(folder, "--text", TEXT) == 0  # the text is the body


@pytest.mark.parametrize("version", ["true", "2", "'1'", "1.0"])
def test_version_is_read_and_only_the_integer_1_passes(tmp_path: Path, version: str) -> None:
    folder = _config(tmp_path, "version: 1\n" + RULE, f"version: {version}\n")
    result = runner.invoke(app, ["rules", "check", str(folder)])
    assert result.exit_code == 1, result.output
    assert "01.yaml:1:10: unsupported version" in result.output
