"""Prometheus metrics of the rule engine (registered once, in the default registry)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

RELOAD_FAILING = Gauge(
    "newsalert_rules_reload_failing",
    "1 while the rule file on disk is invalid and the last good rule set is kept.",
)
RELOADS = Counter(
    "newsalert_rules_reloads",
    "Rule-file reload attempts by result (ok, invalid).",
    ["result"],
)
RULES_LOADED = Gauge("newsalert_rules_loaded", "Rules in the live rule set.")
RULES_UNINDEXED = Gauge(
    "newsalert_rules_unindexed",
    "Live rules without index anchors (only NOT, ...): verified on every article.",
)
RULES_CHECKED = Gauge(
    "newsalert_rules_checked",
    "Live rules verified one by one by compiled checks (the others are decided in bulk).",
)
