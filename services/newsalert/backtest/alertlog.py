"""The alerts a backtest arm sent, kept per article as the pipeline decided them.

A dense run sends hundreds of alerts per article, and the reports need only a few plain
fields of each (:meth:`AlertLog.rows`). So the log keeps what the pipeline returned for
each article -- its reference, time, story and the ``(match, claim)`` pairs that send --
and builds the :class:`~newsalert.models.Alert` records (pydantic) and their comparison
keys only when a caller reads them as :class:`AlertRecord` (``--compare``,
``--deliver``), once, in the order the run sent them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import NamedTuple, overload

from newsalert.backtest.report import AlertRecord
from newsalert.dedupe.contract import AlertClaim
from newsalert.models import Alert, ArticleRef
from newsalert.rules import RuleMatch

#: Builds the alert of one sending claim: article, story id, match, claim, decision time,
#: whether the article's event time was clamped.
AlertBuilder = Callable[[ArticleRef, str, RuleMatch, AlertClaim, datetime, bool], Alert]


class SentBatch(NamedTuple):
    """The alerts one article sent."""

    article: ArticleRef
    time: datetime
    clamped: bool
    story_id: str
    sends: list[tuple[RuleMatch, AlertClaim]]
    decided_at: datetime


class AlertRow(NamedTuple):
    """The fields of one alert the reports show."""

    alert_id: str
    rule_id: str
    story_id: str
    article_id: str
    title: str
    time: datetime
    duplicates_folded: int


class AlertLog(Sequence[AlertRecord]):
    """Every alert of one arm, in the order sent; a sequence of :class:`AlertRecord`."""

    def __init__(self, build: AlertBuilder) -> None:
        self._build = build
        self._batches: list[SentBatch] = []
        self._count = 0
        self._records: list[AlertRecord] | None = None

    def add(self, batch: SentBatch) -> None:
        """Log the alerts one article sent (after those already logged)."""
        if batch.sends:
            self._batches.append(batch)
            self._count += len(batch.sends)
            self._records = None

    @property
    def batches(self) -> list[SentBatch]:
        """The articles that sent alerts, in order."""
        return self._batches

    def rows(self) -> Iterator[AlertRow]:
        """The report fields of every alert, in order (no record is built)."""
        for batch in self._batches:
            article_id, title = batch.article.id, batch.article.title
            story, time = batch.story_id, batch.time
            for match, claim in batch.sends:
                yield AlertRow(
                    claim.alert_id,
                    match.rule_id,
                    story,
                    article_id,
                    title,
                    time,
                    claim.duplicates_folded,
                )

    def records(self) -> list[AlertRecord]:
        """Every alert as an :class:`AlertRecord` (built on the first call).

        A record's key counts the alerts its (rule, story) had before it in the run.
        """
        if self._records is None:
            sequence: dict[tuple[str, str], int] = {}
            records = []
            for batch in self._batches:
                for match, claim in batch.sends:
                    group = (match.rule_id, batch.story_id)
                    rank = sequence.get(group, 0)
                    sequence[group] = rank + 1
                    alert = self._build(
                        batch.article, batch.story_id, match, claim, batch.decided_at, batch.clamped
                    )
                    records.append(AlertRecord(alert, batch.time, (*group, rank)))
            self._records = records
        return self._records

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> AlertRecord: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[AlertRecord]: ...

    def __getitem__(self, index: int | slice) -> AlertRecord | Sequence[AlertRecord]:
        return self.records()[index]

    def __iter__(self) -> Iterator[AlertRecord]:
        return iter(self.records())


def alert_rows(alerts: Sequence[AlertRecord]) -> Iterator[AlertRow]:
    """The report fields of ``alerts``, without building records when they are a log."""
    if isinstance(alerts, AlertLog):
        yield from alerts.rows()
        return
    for record in alerts:
        alert = record.alert
        yield AlertRow(
            alert.alert_id,
            alert.rule.id,
            alert.story_id,
            alert.article.id,
            alert.article.title,
            record.time,
            alert.duplicates_folded,
        )
