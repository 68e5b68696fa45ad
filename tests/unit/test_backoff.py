"""The one retry schedule: each failure waits the next delay, a success starts again."""

from __future__ import annotations

import pytest

from newsalert.backoff import DISPATCHER_BATCH_S, MATCHER_BATCH_S, Backoff


def test_each_failure_takes_the_next_delay_and_the_last_repeats() -> None:
    backoff = Backoff((0.5, 1.0, 2.0))
    assert [backoff.next_delay() for _ in range(5)] == [0.5, 1.0, 2.0, 2.0, 2.0]
    assert backoff.failures == 5


def test_a_success_starts_the_schedule_again_and_says_how_many_failed() -> None:
    backoff = Backoff((0.5, 1.0))
    backoff.next_delay()
    backoff.next_delay()
    assert backoff.reset() == 2
    assert backoff.reset() == 0
    assert backoff.next_delay() == 0.5


async def test_wait_sleeps_the_delay_it_counts() -> None:
    slept: list[float] = []

    async def sleep(delay: float) -> None:
        slept.append(delay)

    backoff = Backoff((0.25, 0.5), sleep=sleep)
    assert [await backoff.wait() for _ in range(3)] == [0.25, 0.5, 0.5]
    assert slept == [0.25, 0.5, 0.5]


def test_an_empty_schedule_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one delay"):
        Backoff(())


@pytest.mark.parametrize("schedule", [MATCHER_BATCH_S, DISPATCHER_BATCH_S])
def test_the_service_schedules_grow(schedule: tuple[float, ...]) -> None:
    assert list(schedule) == sorted(schedule)
    assert schedule[0] > 0
