"""Alerts over time per rule: fixed-width article-time buckets for the report charts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from newsalert.backtest.report import ArmResult

#: Candidate bucket widths, smallest first; the first giving at most ``max_buckets`` wins.
WIDTHS = (
    ("minute", timedelta(minutes=1)),
    ("5 minutes", timedelta(minutes=5)),
    ("hour", timedelta(hours=1)),
    ("6 hours", timedelta(hours=6)),
    ("day", timedelta(days=1)),
    ("week", timedelta(weeks=1)),
    ("30 days", timedelta(days=30)),
    ("year", timedelta(days=365)),
)


@dataclass(frozen=True, slots=True)
class Timeline:
    """``series[rule_id][i]`` alerts in bucket ``i``, which starts at ``starts[i]``."""

    unit: str
    starts: list[datetime]
    series: dict[str, list[int]]


def _floor(moment: datetime, width: timedelta) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + ((moment - epoch) // width) * width


def timeline(
    arm: ArmResult, *, max_buckets: int = 120, span_of: tuple[ArmResult, ...] = ()
) -> Timeline:
    """Bucket every rule's alert times; buckets cover the alerts of ``arm`` and ``span_of``.

    Give both arms of a comparison as ``span_of`` so their series share buckets.
    """
    times = [t for a in (arm, *span_of) for report in a.rules.values() for t in report.alert_times]
    if not times:
        return Timeline("day", [], {})
    first, last = min(times), max(times)
    unit, width = WIDTHS[-1]
    for name, candidate in WIDTHS:
        if (_floor(last, candidate) - _floor(first, candidate)) // candidate < max_buckets:
            unit, width = name, candidate
            break
    origin = _floor(first, width)
    count = (_floor(last, width) - origin) // width + 1
    starts = [origin + i * width for i in range(count)]
    series: dict[str, list[int]] = {}
    for rule_id, report in arm.rules.items():
        if not report.alert_times:
            continue
        counts = [0] * count
        for moment in report.alert_times:
            counts[(moment - origin) // width] += 1
        series[rule_id] = counts
    return Timeline(unit, starts, series)
