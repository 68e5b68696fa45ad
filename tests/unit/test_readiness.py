"""Readiness: a probe's dependency answers in time, or the service is not ready."""

from __future__ import annotations

import asyncio

import pytest

from newsalert.dedupe import DedupeUnavailableError
from newsalert.errors import KafkaUnavailableError, RedisUnavailableError, StoreError
from newsalert.readiness import answers, service_ready


async def _ok() -> None:
    return None


async def test_a_dependency_that_answers_is_ready() -> None:
    assert await answers(_ok) is True


@pytest.mark.parametrize(
    "error",
    [
        RedisUnavailableError("down"),
        KafkaUnavailableError("down"),
        DedupeUnavailableError("down"),
        StoreError("NOAUTH"),
        ConnectionRefusedError(),
        TimeoutError(),
    ],
)
async def test_a_dependency_that_fails_is_not_ready(error: Exception) -> None:
    async def ping() -> None:
        raise error

    assert await answers(ping) is False


async def test_a_dependency_that_does_not_answer_in_time_is_not_ready() -> None:
    never = asyncio.Event()

    async def ping() -> None:
        await never.wait()

    assert await answers(ping, timeout_s=0.01) is False


async def test_a_bug_in_a_probe_is_not_taken_for_an_outage() -> None:
    async def ping() -> None:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        await answers(ping)


class _Service:
    def __init__(self, ready: bool, probe: bool | None) -> None:
        self.ready = ready
        self._probe = probe

    def __getattr__(self, name: str) -> object:
        if name == "probe" and self._probe is not None:
            result = self._probe

            async def probe() -> bool:
                return result

            return probe
        raise AttributeError(name)


@pytest.mark.parametrize(
    ("ready", "probe", "expected"),
    [
        (True, None, True),
        (False, None, False),
        (True, True, True),
        (True, False, False),
        (False, True, False),
    ],
)
async def test_a_service_is_ready_when_its_flag_and_its_probe_say_so(
    ready: bool, probe: bool | None, expected: bool
) -> None:
    assert await service_ready(_Service(ready, probe)) is expected


async def test_a_service_without_a_flag_is_ready() -> None:
    assert await service_ready(object()) is True
