"""Settings read from the environment: the bootstrap list every Kafka client gets."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from newsalert.cli import app
from newsalert.settings import Settings, parse_bootstrap


def test_several_bootstrap_servers_become_a_list() -> None:
    settings = Settings(kafka_bootstrap=" h1:9091, h2:9092 ,h3:9093,")
    assert settings.bootstrap_servers == ["h1:9091", "h2:9092", "h3:9093"]
    assert settings.kafka_bootstrap == "h1:9091,h2:9092,h3:9093"


def test_bootstrap_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSALERT_KAFKA_BOOTSTRAP", "h1:9091,[::1]:9092")
    assert Settings().bootstrap_servers == ["h1:9091", "[::1]:9092"]


@pytest.mark.parametrize("text", ["", " , ", "h1", "h1:port", ":9092", "h1:9092,h2:0"])
def test_malformed_bootstrap_is_refused_naming_the_entry(text: str) -> None:
    with pytest.raises(ValueError, match="bootstrap server"):
        parse_bootstrap(text)
    with pytest.raises(ValidationError, match="kafka_bootstrap"):
        Settings(kafka_bootstrap=text)


def test_the_cli_names_a_malformed_bootstrap_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NEWSALERT_KAFKA_BOOTSTRAP", "h1:9091,h2")
    result = CliRunner().invoke(app, ["run", "--config", str(tmp_path / "rules.yaml")])
    assert result.exit_code == 2
    assert "NEWSALERT_KAFKA_BOOTSTRAP: Value error, bootstrap server 'h2' must be host:port" in (
        result.output
    )
