"""Prometheus metrics of the dispatcher (process-default registry, like ``newsalert.metrics``)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

ATTEMPTS = Counter(
    "newsalert_webhook_attempts_total",
    "Webhook POST attempts by verdict (delivered, failed, throttled, gone).",
    ["verdict"],
)
OUTCOMES = Counter(
    "newsalert_webhook_deliveries_total",
    "Deliveries that reached a final or parked state (delivered, failed, paused).",
    ["outcome"],
)
ENDPOINT_EVENTS = Counter(
    "newsalert_endpoint_events_total",
    "Operational events about subscriber endpoints (failing, paused, recovered, resumed).",
    ["event"],
)
ATTEMPT_SECONDS = Histogram(
    "newsalert_webhook_attempt_seconds",
    "Latency of one webhook POST.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
ALERTS_CONSUMED = Counter(
    "newsalert_dispatcher_alerts_total",
    "Alert records consumed by the dispatcher, by outcome (scheduled, invalid).",
    ["outcome"],
)
INTERNAL_ERRORS = Counter(
    "newsalert_dispatcher_internal_errors_total",
    "Delivery attempts interrupted by an unexpected error (recorded as failed attempts).",
)
ENDPOINT_EVENT_POSTS_DROPPED = Counter(
    "newsalert_endpoint_event_posts_dropped_total",
    "Operational events not POSTed to an operator webhook because too many were in flight.",
)

#: The children counted once per webhook, bound once (``labels()`` is a lookup per call).
DELIVERED = OUTCOMES.labels("delivered")
SCHEDULED = ALERTS_CONSUMED.labels("scheduled")
