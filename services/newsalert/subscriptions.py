"""Subscriptions: who receives alerts, where, signed with which secret.

A subscription selects rules by id (``kr-summons-russia``), by tag (``tag:korea``) or all
(``*``). Delivery policy fields (retry schedule, max alert age, ...) live here too so one
config file describes a whole install.
"""

from __future__ import annotations

import re
import reprlib
from collections.abc import Iterable
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator

from newsalert.timespec import delta_ms, duration_s, parse_duration
from newsalert.webhooks.retry import DEFAULT_RETRY_SCHEDULE, MAX_RETRY_DELAY_S
from newsalert.webhooks.signing import SignatureError, secret_key

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
#: How long a rotated-out secret keeps signing when only ``rotated_at`` is given.
ROTATION_OVERLAP = timedelta(hours=24)
#: Longest request timeout: a delivery's lease is its timeout plus a margin, and a
#: worker's slot is held that long by an endpoint that never answers.
MAX_TIMEOUT_S = 3600.0


def _check_secret(value: str) -> str:
    # Decoded here as the signer will, so a secret that cannot sign is refused at load
    # time rather than failing every attempt. The message never repeats the secret.
    if not value.startswith("whsec_") or len(value) < 12:
        raise ValueError("secret must look like 'whsec_<base64>' (Standard Webhooks)")
    try:
        secret_key(value)
    except SignatureError as exc:
        raise ValueError(
            "secret must be 'whsec_' followed by base64 (Standard Webhooks); "
            "the part after 'whsec_' is not valid base64"
        ) from exc
    return value


def _check_duration(value: str | None) -> str | None:
    if value is not None:
        duration_s(value)
    return value


class SigningSecret(BaseModel):
    """A previous secret that still signs during a rotation's overlap window.

    It signs until ``expires_at``, or until ``rotated_at`` + 24 h, or (neither given)
    until it is removed from the config.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    secret: str = Field(description="The old 'whsec_' secret.")
    rotated_at: datetime | None = Field(None, description="When it was replaced (+24 h).")
    expires_at: datetime | None = Field(None, description="When it stops signing.")

    _valid_secret = field_validator("secret")(_check_secret)

    def active(self, now: datetime) -> bool:
        """True while this secret still signs."""
        if self.expires_at is not None:
            return now < self.expires_at
        if self.rotated_at is not None:
            return now < self.rotated_at + ROTATION_OVERLAP
        return True


class Subscription(BaseModel):
    """One webhook endpoint and the rules it wants alerts for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="Unique id, [a-z0-9][a-z0-9_-]{0,63}.")
    url: str = Field(description="http(s) URL the alerts are POSTed to.")
    secret: str = Field(description="Signing secret, 'whsec_' + base64.")
    rules: tuple[str, ...] = Field(
        ("*",), description="Rule ids, 'tag:NAME' selectors, or '*' for every rule."
    )
    secrets: tuple[SigningSecret, ...] = Field(
        (), description="Rotated-out secrets that still sign during the overlap window."
    )
    retry_schedule: tuple[str, ...] = Field(
        DEFAULT_RETRY_SCHEDULE,
        description="Delay before each retry after the first attempt, e.g. ['5s', '2m'].",
    )
    max_alert_age: str | None = Field(
        None, description="Alerts older than this go to alerts.dlq instead (e.g. '6h')."
    )
    timeout: str | None = Field(None, description="Request timeout (default: settings).")
    max_in_flight: int = Field(8, ge=1, le=256, description="Concurrent requests at most.")
    rate_limit: float | None = Field(None, gt=0, description="Alerts per second at most.")
    pause_after_failures: int | None = Field(
        100, ge=1, description="Pause after this many consecutive failed attempts."
    )
    pause_after: str | None = Field(
        "24h", description="Pause after failing (no success) for this long."
    )
    operational_events: bool = Field(
        False, description="Also receive delivery events (failing, paused, recovered)."
    )
    repeat_interval: str | None = Field(
        None,
        description="Alert a story again only after this long in article time (e.g. '6h'); "
        "default: the service's NEWSALERT_REPEAT_INTERVAL_S.",
    )

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(f"subscription id {value!r} must match [a-z0-9][a-z0-9_-]{{0,63}}")
        return value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        # The full check needs the HTTP client's parser: config.subscriptions runs it.
        if not value.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        return value

    @field_validator("secret")
    @classmethod
    def _whsec(cls, value: str) -> str:
        return _check_secret(value)

    @field_validator("retry_schedule")
    @classmethod
    def _schedule(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            if duration_s(entry) > MAX_RETRY_DELAY_S:
                raise ValueError(f"retry_schedule entry {reprlib.repr(entry)} is longer than 7d")
        return value

    @field_validator("timeout")
    @classmethod
    def _short_timeout(cls, value: str | None) -> str | None:
        if value is not None and duration_s(value) > MAX_TIMEOUT_S:
            raise ValueError(f"timeout {reprlib.repr(value)} is longer than 1h")
        return value

    @field_validator("max_alert_age", "timeout", "pause_after", "repeat_interval")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        return _check_duration(value)

    def signing_secrets(self, now: datetime) -> list[str]:
        """Every secret that signs at ``now``: the current one first, then active old ones."""
        return [self.secret, *(old.secret for old in self.secrets if old.active(now))]

    def retry_delays(self) -> tuple[float, ...]:
        """The retry schedule in seconds."""
        return tuple(duration_s(entry) for entry in self.retry_schedule)

    def max_alert_age_s(self) -> float | None:
        """``max_alert_age`` in seconds, ``None`` when alerts never get too old."""
        return None if self.max_alert_age is None else duration_s(self.max_alert_age)

    def timeout_s(self, default: float) -> float:
        """The request timeout in seconds (``default`` unless set here)."""
        return default if self.timeout is None else duration_s(self.timeout)

    def pause_after_s(self) -> float | None:
        """``pause_after`` in seconds, ``None`` when time failing never pauses."""
        return None if self.pause_after is None else duration_s(self.pause_after)

    def repeat_lane(self) -> timedelta | None:
        """This subscription's own repeat interval, ``None`` when it keeps the default.

        Subscriptions with equal intervals share a *repeat lane* in the matcher's dedupe;
        the matcher tags each alert with its lane and the dispatcher delivers it to the
        subscriptions of that lane only.
        """
        if self.repeat_interval is None:
            return None
        return parse_duration(self.repeat_interval)

    def repeat_lane_ms(self) -> int | None:
        """:meth:`repeat_lane` in whole milliseconds, as alerts carry it."""
        lane = self.repeat_lane()
        return None if lane is None else delta_ms(lane)

    def selects(self, rule_id: str, tags: Iterable[str]) -> bool:
        """True when this subscription wants alerts of rule ``rule_id`` with ``tags``."""
        tag_set = set(tags)
        for selector in self.rules:
            if selector in ("*", rule_id):
                return True
            if selector.startswith("tag:") and selector[4:] in tag_set:
                return True
        return False
