"""Runtime settings, read once from ``NEWSALERT_*`` environment variables at the edge.

Core code never reads ``os.environ``: the CLI builds one :class:`Settings` and passes it
down. The config *file* (rules and subscriptions) is separate: see ``newsalert.config``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from newsalert import constants


def parse_bootstrap(text: str) -> list[str]:
    """``h1:9091, h2:9092`` -> ``["h1:9091", "h2:9092"]``; raises ``ValueError`` when malformed.

    A client handed the unsplit string takes it for one host (FastStream's ``KafkaBroker``
    does), so the split happens here, once, for every client.
    """
    servers = [part.strip() for part in text.split(",") if part.strip()]
    if not servers:
        raise ValueError("no Kafka bootstrap server given")
    for server in servers:
        host, _, port = server.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"bootstrap server {server!r} must be host:port")
    return servers


class Settings(BaseSettings):
    """Process settings. Every field maps to ``NEWSALERT_<FIELD>`` (upper case)."""

    model_config = SettingsConfigDict(env_prefix="NEWSALERT_", extra="ignore")

    kafka_bootstrap: str = Field(
        "127.0.0.1:9092",
        description="Kafka bootstrap servers, comma separated (host:port,host:port,...); "
        "every client tries them in turn, so one reachable broker is enough to start.",
    )
    redis_url: str = Field("redis://127.0.0.1:6379/0", description="Redis URL.")
    topic_prefix: str = Field("", description="Prefix for every topic name (e.g. 'prod.').")
    redis_prefix: str = Field(constants.REDIS_PREFIX, description="Prefix of every Redis key.")
    redis_allow_eviction: bool = Field(
        False,
        description="Run even if Redis's maxmemory-policy is not noeviction (evicted keys "
        "lose deliveries or re-send alerts; see docs/guarantees.md).",
    )
    config: Path | None = Field(None, description="Rules and subscriptions file.")
    max_article_bytes: int = Field(
        constants.DEFAULT_MAX_ARTICLE_BYTES, description="Larger input records go to the DLQ."
    )
    webhook_allow_networks: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="CIDRs webhooks may reach despite the SSRF guard (e.g. 127.0.0.0/8).",
    )
    webhook_timeout_s: float = Field(10.0, description="Per-request webhook timeout.")
    reload_interval_s: float = Field(0.5, description="How often the rule file is checked.")
    matcher_concurrency: int = Field(
        1,
        ge=1,
        description="No effect: the matcher decides a whole Kafka batch with one dedupe "
        "round trip per stage, so there are no per-article round trips left to overlap. "
        "Still accepted, with a warning at start, so existing deployments keep starting.",
    )
    repeat_interval_s: float = Field(
        86_400.0,
        description="At most one alert per (subscription, rule, story) within this many "
        "seconds, for subscriptions without their own repeat_interval.",
    )
    story_window_s: float = Field(
        259_200.0, description="A near-duplicate within this many seconds joins the story."
    )
    produce_stall_s: float = Field(
        5.0,
        gt=0,
        description="The matcher reports not ready (/readyz 503) while an alert send has "
        "waited longer than this for the broker's acknowledgement.",
    )
    event_time_max_future_s: float = Field(
        86_400.0,
        gt=0,
        description="An article time further ahead of the matcher's clock is clamped to this "
        "(windows only; the alert says event_time_clamped).",
    )
    event_time_max_past_s: float = Field(
        315_360_000.0,
        gt=0,
        description="An article time further behind the matcher's clock (default 10 years) is "
        "clamped to this (windows only; the alert says event_time_clamped).",
    )
    log_level: str = Field("INFO", description="Python logging level.")
    api_host: str = Field(
        "127.0.0.1",
        description="Address the API listens on (--api-host); 0.0.0.0 in containers only.",
    )
    api_read_tokens: SecretStr = Field(
        SecretStr(""),
        description="API tokens that may read (comma separated; 'sha256:<hex>' digests too).",
    )
    api_admin_tokens: SecretStr = Field(
        SecretStr(""),
        description="API tokens that may also change state (pause, redeliver, recover, ...).",
    )

    def ignored(self) -> list[str]:
        """Why each setting given that no longer has an effect is ignored (for a
        warning at start: a deployment that still sets one keeps starting)."""
        if self.matcher_concurrency == 1:
            return []
        return [
            f"NEWSALERT_MATCHER_CONCURRENCY={self.matcher_concurrency} has no effect: the "
            "matcher decides a whole Kafka batch with one dedupe round trip per stage; "
            "run more matcher processes to use more cores"
        ]

    def topic(self, name: str) -> str:
        """The full topic name for one of the ``constants.TOPIC_*`` names."""
        return f"{self.topic_prefix}{name}"

    def group(self, name: str) -> str:
        """The consumer-group id for one of the ``constants.*_GROUP`` names (same prefix)."""
        return f"{self.topic_prefix}{name}"

    @property
    def bootstrap_servers(self) -> list[str]:
        """``kafka_bootstrap`` as the list every Kafka client is given."""
        return parse_bootstrap(self.kafka_bootstrap)

    @field_validator("kafka_bootstrap")
    @classmethod
    def _check_bootstrap(cls, value: str) -> str:
        """Refuse an empty list or an entry without a numeric port, naming it."""
        return ",".join(parse_bootstrap(value))

    @field_validator("webhook_allow_networks", mode="before")
    @classmethod
    def _split_networks(cls, value: object) -> object:
        """Accept ``127.0.0.0/8,::1/128`` from the environment."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value
