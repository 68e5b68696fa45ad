"""Every Redis newsalert deploys or starts is told never to evict (see redis_policy)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from newsalert.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def _flag(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_compose_redis_runs_with_noeviction() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    command = compose["services"]["redis"]["command"]
    assert _flag(command, "--maxmemory-policy") == "noeviction"


def test_k8s_settings_do_not_accept_eviction() -> None:
    configmap = yaml.safe_load((REPO / "deploy/k8s/configmap-settings.yaml").read_text())
    value = configmap["data"]["NEWSALERT_REDIS_ALLOW_EVICTION"]
    assert Settings(redis_allow_eviction=value).redis_allow_eviction is False


def test_the_override_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSALERT_REDIS_ALLOW_EVICTION", "1")
    assert Settings().redis_allow_eviction is True
    monkeypatch.delenv("NEWSALERT_REDIS_ALLOW_EVICTION")
    assert Settings().redis_allow_eviction is False
