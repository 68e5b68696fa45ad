"""What a failed Redis call means: every Redis store converts redis-py's errors here.

Two meanings, told apart by the error's type (and, for a refused command, its reply):

* the server is *unavailable* -- not reachable, timed out, loading, a read-only replica,
  out of memory under ``noeviction`` (see :mod:`newsalert.redis_policy`), or an ACL that
  does not allow a command: the same call succeeds once an operator or time fixes the
  server, so it is an :class:`~newsalert.errors.InfraError` and the caller retries;
* the server *refused* the command for what it was asked -- ``WRONGTYPE`` (a key written
  by something else, an old layout), a script error: the same call fails the same way
  forever, so it is a :class:`~newsalert.errors.StoreError` and the caller must not wait
  for it (a consumer sends the record to its DLQ after a few tries).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Awaitable, Callable, Iterator
from typing import ParamSpec, TypeVar

from redis import exceptions as redis_errors

from newsalert.errors import NewsalertError, RedisUnavailableError, StoreError

P = ParamSpec("P")
T = TypeVar("T")

#: redis-py errors that mean the server cannot serve any call right now.
UNAVAILABLE: tuple[type[Exception], ...] = (
    redis_errors.ConnectionError,  # also AuthenticationError, MaxClientsReachedError
    redis_errors.TimeoutError,
    redis_errors.BusyLoadingError,
    redis_errors.ReadOnlyError,
    redis_errors.OutOfMemoryError,
    redis_errors.MasterDownError,
    redis_errors.TryAgainError,
    redis_errors.NoPermissionError,
    redis_errors.MaxConnectionsError,
    OSError,  # TimeoutError and socket errors that reach us unwrapped
)


def converted(exc: Exception, *, doing: str = "redis") -> NewsalertError:
    """The newsalert error for a redis-py error (or ``OSError``) raised by a call."""
    if isinstance(exc, UNAVAILABLE):
        return RedisUnavailableError(f"{doing}: redis unavailable: {exc}")
    return StoreError(f"{doing}: redis refused the command: {exc}")


@contextlib.contextmanager
def redis_calls(doing: str = "redis") -> Iterator[None]:
    """Convert the Redis errors raised in the block (see :func:`converted`)."""
    try:
        yield
    except (redis_errors.RedisError, OSError) as exc:
        raise converted(exc, doing=doing) from exc


def redis_call(
    method: Callable[P, Awaitable[T]],
) -> Callable[P, Awaitable[T]]:
    """Decorate a store's coroutine method: the Redis errors it raises are converted."""
    doing = method.__qualname__

    @functools.wraps(method)
    async def call(*args: P.args, **kwargs: P.kwargs) -> T:
        with redis_calls(doing):
            return await method(*args, **kwargs)

    return call
