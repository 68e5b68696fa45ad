"""Every Prometheus metric of newsalert, in the process-default registry.

One module for all services: every metric name a dashboard or an alert can use is on
this page, and two services cannot register the same name twice by accident.
Sections: the matcher, the consumers' dead letters (both services), the dispatcher.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# -- matcher ----------------------------------------------------------------------------

ARTICLES = Counter(
    "newsalert_articles_total",
    "Input records handled by the matcher, by outcome.",
    ["outcome"],  # matched, unmatched, duplicate, invalid
)
ALERTS_PUBLISHED = Counter("newsalert_alerts_published_total", "Alerts put on the alerts topic.")
ALERTS_FOLDED = Counter(
    "newsalert_alerts_folded_total", "Matches folded into an earlier alert of the same story."
)
MATCH_SECONDS = Histogram(
    "newsalert_match_seconds",
    "Time to process one valid article before publishing: dedupe checks, matching, claims "
    "(a batch's time shared equally by its articles).",
    buckets=(0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5),
)
BATCH_RETRIES = Counter(
    "newsalert_matcher_batch_retries_total",
    "Batches rewound for another try after an infrastructure error (Redis, Kafka).",
)
DEPENDENCY_UP = Gauge(
    "newsalert_dependency_up", "1 when the dependency answered the last call.", ["dependency"]
)
PRODUCE_PENDING_AGE = Gauge(
    "newsalert_alert_produce_oldest_pending_seconds",
    "Age of the oldest alert send the broker has not acknowledged yet (0: none waits); "
    "above NEWSALERT_PRODUCE_STALL_S the matcher reports not ready.",
)
# -- dead letters (matcher and dispatcher) ---------------------------------------------

DEAD_LETTERED = Counter(
    "newsalert_dead_lettered_total",
    "Input records a consumer put on its DLQ, by service and kind (invalid-json, poison...).",
    ["service", "kind"],
)
POISON_RECORDS = Counter(
    "newsalert_poison_records_total",
    "Records sent to the DLQ after their processing raised unexpectedly several times.",
    ["service"],
)

# -- dispatcher -------------------------------------------------------------------------

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
