"""Readiness (``/readyz``): is a service able to do its work right now?

A service says so with a ``ready`` flag (false while its work fails) and, optionally, a
``probe()`` that asks its dependencies live, so an idle service whose Redis went away
reports not ready too. :func:`answers` is how a probe asks one dependency.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from newsalert.errors import InfraError, StoreError

#: How long a dependency may take to answer a probe.
PROBE_TIMEOUT_S = 1.0


async def answers(
    ping: Callable[[], Awaitable[object]], timeout_s: float = PROBE_TIMEOUT_S
) -> bool:
    """True when ``ping()`` returns within ``timeout_s``; False when it times out or
    raises a dependency's error (unavailable, refused, a socket error)."""
    try:
        await asyncio.wait_for(ping(), timeout_s)
    except (InfraError, StoreError, OSError):  # TimeoutError is an OSError
        return False
    return True


async def service_ready(service: object) -> bool:
    """A service's ``ready`` flag (true when it has none), and its ``probe()`` when it
    has one."""
    if not bool(getattr(service, "ready", True)):
        return False
    probe = getattr(service, "probe", None)
    return True if probe is None else bool(await probe())
