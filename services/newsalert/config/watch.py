"""Watch the config file(s) and load them again when their content changes.

One watcher for every service: the matcher's rule reloader and the dispatcher's
subscriptions both use :class:`ConfigWatcher`. It polls a content fingerprint (every
file's name, size, mtime and SHA-256), so an in-place edit of one file inside a config
directory is seen even when the directory's own mtime does not change, and a rewrite
that keeps size and mtime is still seen by its hash. A change is loaded in a worker
thread; the value swaps by one reference assignment only when the load succeeded, so
readers see the old value or the new one, never a mix. A failed load (a
:class:`ConfigError`, or any other exception: it is logged and reported as one) keeps
the last good value and is not retried until the content changes again. Files are
hashed in chunks; one over the config size limit is not read (it will be refused).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from newsalert.config.loader import config_files
from newsalert.errors import ConfigError
from newsalert.rules.language.limits import MAX_FILE_BYTES

log = logging.getLogger(__name__)

T = TypeVar("T")
Fingerprint = tuple[tuple[str, int, int, str], ...]


def fingerprint(path: Path) -> Fingerprint:
    """What identifies the content of the config at ``path`` (empty when unreadable)."""
    result = []
    try:
        for file in config_files(path):
            stat = file.stat()
            digest = ""  # a file over the size limit is refused unread: name, size, mtime
            if stat.st_size <= MAX_FILE_BYTES:
                with file.open("rb") as handle:  # in chunks, never held whole
                    digest = hashlib.file_digest(handle, "sha256").hexdigest()
            result.append((str(file), stat.st_size, stat.st_mtime_ns, digest))
    except OSError:
        return ()
    return tuple(result)


class ConfigWatcher(Generic[T]):
    """Holds the value loaded from the config at ``path`` and reloads it on change.

    The constructor loads once and lets :class:`ConfigError` through, so a service
    refuses to start on a bad config. ``on_reload(new)`` runs on the event loop after a
    good reload, ``on_failure(error)`` after a bad one (metrics, logs; without it the
    watcher logs the error itself).
    """

    def __init__(
        self,
        path: Path,
        load: Callable[[], T],
        *,
        interval_s: float,
        on_reload: Callable[[T], None] | None = None,
        on_failure: Callable[[ConfigError], None] | None = None,
    ) -> None:
        self.path = path
        self.interval_s = interval_s
        self._load = load
        self._on_reload = on_reload
        self._on_failure = on_failure
        self._seen = fingerprint(path)
        self._value: T = load()
        #: Good reloads and failed ones since start; the last failure (None once good).
        self.reloads = 0
        self.failures = 0
        self.last_error: ConfigError | None = None

    @property
    def value(self) -> T:
        """The last good value."""
        return self._value

    async def check(self) -> bool:
        """Reload now if the content changed; True when a new value went live."""
        current = await asyncio.to_thread(fingerprint, self.path)
        if current == self._seen:
            return False
        self._seen = current
        try:
            value = await asyncio.to_thread(self._load)
        except ConfigError as exc:
            self._failed(exc)
            return False
        except Exception as exc:  # a bug of ours must not look like a success either
            log.exception("config reload crashed, keeping the last good one")
            self._failed(ConfigError(f"{type(exc).__name__}: {str(exc)[:500]}"))
            return False
        old = [self._value]
        self._value = value
        self.reloads += 1
        self.last_error = None
        if self._on_reload is not None:
            self._on_reload(value)
        # Freeing a big old value (a compiled rule set) is long enough to stall the event
        # loop, so it is done in a worker thread (``old`` holds its last reference).
        await asyncio.to_thread(old.clear)
        return True

    def _failed(self, error: ConfigError) -> None:
        self.failures += 1
        self.last_error = error
        if self._on_failure is None:
            log.error("config reload failed, keeping the last good one: %s", error)
        else:
            self._on_failure(error)

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval_s)
            if stop.is_set():
                break
            try:
                await self.check()
            except Exception:  # a poll must never kill the service; the next one retries
                log.exception("config reload check crashed")
