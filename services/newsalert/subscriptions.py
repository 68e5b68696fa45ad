"""Subscriptions: who receives alerts, where, signed with which secret.

A subscription selects rules by id (``kr-summons-russia``), by tag (``tag:korea``) or all
(``*``). Delivery policy fields (retry schedule, max alert age, ...) live here too so one
config file describes a whole install.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field, field_validator

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class Subscription(BaseModel):
    """One webhook endpoint and the rules it wants alerts for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="Unique id, [a-z0-9][a-z0-9_-]{0,63}.")
    url: str = Field(description="http(s) URL the alerts are POSTed to.")
    secret: str = Field(description="Signing secret, 'whsec_' + base64.")
    rules: tuple[str, ...] = Field(
        ("*",), description="Rule ids, 'tag:NAME' selectors, or '*' for every rule."
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
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"url {value!r} must start with http:// or https://")
        return value

    @field_validator("secret")
    @classmethod
    def _whsec(cls, value: str) -> str:
        if not value.startswith("whsec_") or len(value) < 12:
            raise ValueError("secret must look like 'whsec_<base64>' (Standard Webhooks)")
        return value

    def selects(self, rule_id: str, tags: Iterable[str]) -> bool:
        """True when this subscription wants alerts of rule ``rule_id`` with ``tags``."""
        tag_set = set(tags)
        for selector in self.rules:
            if selector in ("*", rule_id):
                return True
            if selector.startswith("tag:") and selector[4:] in tag_set:
                return True
        return False
