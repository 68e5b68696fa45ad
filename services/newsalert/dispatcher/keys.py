"""Redis key shapes of the dispatcher (all under ``Settings.redis_prefix``, all with TTLs).

``delivered`` comes from :mod:`newsalert.constants` (shared with the architecture's key
list); the rest is private to the dispatcher and documented in ``docs/webhooks.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

from newsalert import constants

#: Delivery records, attempt logs and delivered marks are kept this long.
RETENTION_S = 7 * 24 * 3600
#: Queues and subscription state outlive records: a paused endpoint keeps its alerts.
QUEUE_TTL_S = 30 * 24 * 3600


@dataclass(frozen=True)
class DispatcherKeys:
    """Builds every dispatcher key from one prefix (e.g. ``na:v1:``)."""

    prefix: str

    def record(self, delivery_id: str) -> str:
        """Hash: one delivery (subscription, alert JSON, status, attempts...)."""
        return f"{self.prefix}dlv:{delivery_id}"

    def attempts(self, delivery_id: str) -> str:
        """List: the JSON attempt log of one delivery."""
        return f"{self.prefix}dlv-attempts:{delivery_id}"

    def due(self, subscription_id: str) -> str:
        """Sorted set: delivery ids waiting for an attempt, scored by due time (ms)."""
        return f"{self.prefix}due:{subscription_id}"

    def inflight(self, subscription_id: str) -> str:
        """Sorted set: delivery ids being attempted, scored by lease expiry (ms)."""
        return f"{self.prefix}inflight:{subscription_id}"

    def state(self, subscription_id: str) -> str:
        """Hash: failure streak, failing-since and pause state of a subscription."""
        return f"{self.prefix}substate:{subscription_id}"

    def index(self, subscription_id: str | None) -> str:
        """Sorted set: delivery ids by creation time, per subscription or for all."""
        return f"{self.prefix}dlv-index:{subscription_id or '*'}"

    def by_alert(self, alert_id: str) -> str:
        """Set: the delivery ids of one alert (every subscription)."""
        return f"{self.prefix}dlv-alert:{alert_id}"

    def delivered(self, subscription_id: str, delivery_id: str) -> str:
        """String: set once a delivery got a 2xx."""
        return constants.delivered_key(self.prefix, subscription_id, delivery_id)
