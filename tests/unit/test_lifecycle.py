"""The set-up every newsalert process shares: settings, logging, stop signals."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
import typer

from newsalert import lifecycle
from newsalert.lifecycle import settings_or_exit, stop_on_signals


def test_an_invalid_setting_is_named_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEWSALERT_WEBHOOK_TIMEOUT_S", "soon")
    with pytest.raises(typer.Exit) as caught:
        settings_or_exit()
    assert caught.value.exit_code == 2
    assert "error: NEWSALERT_WEBHOOK_TIMEOUT_S:" in capsys.readouterr().err


def test_valid_settings_are_returned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSALERT_WEBHOOK_TIMEOUT_S", "3.5")
    assert settings_or_exit().webhook_timeout_s == 3.5


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_a_stop_signal_sets_the_event_inside_the_block(sig: signal.Signals) -> None:
    stop = asyncio.Event()
    with stop_on_signals(stop):
        os.kill(os.getpid(), sig)
        await asyncio.wait_for(stop.wait(), 10)
    assert stop.is_set()


async def test_the_handlers_are_removed_after_the_block() -> None:
    loop = asyncio.get_running_loop()
    with stop_on_signals(asyncio.Event()):
        pass
    # Removing again reports that no handler was left installed.
    assert loop.remove_signal_handler(signal.SIGTERM) is False
    assert loop.remove_signal_handler(signal.SIGINT) is False


def test_a_tool_can_keep_logging_unconfigured(monkeypatch: pytest.MonkeyPatch) -> None:
    configured: list[str] = []
    monkeypatch.setenv("NEWSALERT_LOG_LEVEL", "debug")
    monkeypatch.setattr(lifecycle, "configure_logging", configured.append)
    lifecycle.settings_or_exit(configure_log=False)
    assert configured == []
    lifecycle.settings_or_exit()
    assert configured == ["debug"]


def test_a_setting_without_effect_is_accepted_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("NEWSALERT_MATCHER_CONCURRENCY", "8")
    with caplog.at_level("WARNING", logger="newsalert.lifecycle"):
        assert settings_or_exit().matcher_concurrency == 8
    assert "NEWSALERT_MATCHER_CONCURRENCY=8 has no effect" in caplog.text


def test_no_warning_for_the_default(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("NEWSALERT_MATCHER_CONCURRENCY", raising=False)
    with caplog.at_level("WARNING", logger="newsalert.lifecycle"):
        settings_or_exit()
    assert "has no effect" not in caplog.text
