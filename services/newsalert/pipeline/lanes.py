"""Repeat lanes: under which repeat intervals a rule's alerts are decided.

A subscription may set its own ``repeat_interval``; subscriptions with equal intervals
share a *lane*, and subscriptions without one share the default lane (the service's
``NEWSALERT_REPEAT_INTERVAL_S``). The dedupe store keeps one repeat window, sequence and
folded count per (rule, story, lane), so each subscription gets a story's alerts at its
own pace with deterministic ids. A rule no subscription selects is decided in the
default lane, so its alerts still reach the ``alerts`` topic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

from newsalert.dedupe.contract import AlertKey
from newsalert.subscriptions import Subscription


class RepeatLanes:
    """The alert groups to claim for a matched rule, cached per subscription set.

    The cache belongs to one subscription set: it is dropped when ``subscriptions()``
    returns another object (a config reload), so it holds at most one entry per rule.
    """

    def __init__(self, subscriptions: Callable[[], Sequence[Subscription]]) -> None:
        self._subscriptions = subscriptions
        self._current: Sequence[Subscription] | None = None
        self._cache: dict[tuple[str, tuple[str, ...]], tuple[AlertKey, ...]] = {}

    def keys(self, rule_id: str, tags: Sequence[str]) -> tuple[AlertKey, ...]:
        """The (rule, lane) groups of ``rule_id``: default lane first, then by interval."""
        subs = self._subscriptions()
        if subs is not self._current:
            self._current = subs
            self._cache = {}
        cache_key = (rule_id, tuple(tags))
        found = self._cache.get(cache_key)
        if found is None:
            lanes = {sub.repeat_lane() for sub in subs if sub.selects(rule_id, tags)} or {None}
            ordered = sorted(lanes, key=lambda lane: (lane is not None, lane or timedelta(0)))
            found = tuple(AlertKey(rule_id, lane) for lane in ordered)
            self._cache[cache_key] = found
        return found
