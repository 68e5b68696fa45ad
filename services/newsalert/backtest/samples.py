"""Sample headlines with the matched terms marked, from the rules' ``explain`` offsets.

A run remembers up to ``--samples`` candidate articles per rule (:class:`Samples`) and
explains them only when a report shows them: the text report shows 50 rules, the HTML
page 200, the JSON report every rule. Explaining costs far more than matching, so it
is done once per shown sample, with each article normalised once for all its rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from newsalert.analysed import AnalysedArticle, analyse
from newsalert.gcpause import paused_gc
from newsalert.models import Article
from newsalert.rules import Document, Rule, Term
from newsalert.rules.evaluation.explain import TermHits, positive_hits


@dataclass(frozen=True, slots=True)
class Sample:
    """One headline a rule fired on, with the matched stretches marked.

    ``title_marks`` and ``snippet_marks`` are ``(start, end)`` character offsets into
    ``title`` and ``snippet`` (a short piece of the body around the first body hit).
    """

    article_id: str
    title: str
    time: datetime
    title_marks: tuple[tuple[int, int], ...]
    snippet: str
    snippet_marks: tuple[tuple[int, int], ...]
    matched: tuple[str, ...]


SNIPPET_CONTEXT = 90


def _merge(text: str, spans: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Sorted, non-overlapping spans; hits separated only by spaces become one mark."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and (start <= merged[-1][1] or not text[merged[-1][1] : start].strip()):
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


@dataclass(frozen=True, slots=True)
class PendingSample:
    """An article a rule fired on, to be explained if the report shows it."""

    article: Article
    time: datetime
    matched: tuple[str, ...]


class Samples:
    """The sample candidates of every rule of a run, explained on request (cached)."""

    def __init__(
        self, rule_of: Callable[[str], Rule | None], pending: dict[str, list[PendingSample]]
    ) -> None:
        self._rule_of = rule_of
        self._pending = pending
        self._explained: dict[str, list[Sample]] = {}

    def has(self, rule_id: str) -> bool:
        """True when ``rule_id`` has samples to show."""
        return bool(self._pending.get(rule_id)) and self._rule_of(rule_id) is not None

    def explained(self, rule_ids: Iterable[str]) -> dict[str, list[Sample]]:
        """The samples of ``rule_ids``, explained now unless they already were."""
        asked = list(dict.fromkeys(rule_ids))
        wanted = [r for r in asked if r not in self._explained and self.has(r)]
        # Grouped by article: each article is normalised and cut into spans once.
        by_article: dict[int, list[tuple[str, int, PendingSample]]] = {}
        for rule_id in wanted:
            self._explained[rule_id] = []
            for rank, pending in enumerate(self._pending[rule_id]):
                by_article.setdefault(id(pending.article), []).append((rule_id, rank, pending))
        # Each rule's terms once for all its samples; each term searched once per article
        # for all the rules sharing it (the cache).
        terms_of: dict[str, tuple[Term, ...]] = {}
        for rule_id in wanted:
            rule = self._rule_of(rule_id)
            assert rule is not None  # has() checked it
            terms_of[rule_id] = rule.positive_terms()
        done: dict[tuple[str, int], Sample] = {}
        # Hundreds of thousands of acyclic objects when every rule is explained: built
        # with the collector paused (see newsalert.gcpause).
        with paused_gc():
            self._explain(by_article, terms_of, done)
        for (rule_id, _rank), sample in sorted(done.items(), key=lambda item: item[0]):
            self._explained[rule_id].append(sample)
        return {r: self._explained.get(r, []) for r in asked}

    @staticmethod
    def _explain(
        by_article: dict[int, list[tuple[str, int, PendingSample]]],
        terms_of: dict[str, tuple[Term, ...]],
        done: dict[tuple[str, int], Sample],
    ) -> None:
        for group in by_article.values():
            analysed = analyse(group[0][2].article)
            doc = Document.from_analysed(analysed)
            cache: TermHits = {}
            for rule_id, rank, pending in group:
                done[rule_id, rank] = sample_of(
                    terms_of[rule_id], analysed, pending.time, pending.matched, doc=doc, cache=cache
                )


def sample_of(
    rule: Rule | Sequence[Term],
    article: Article | AnalysedArticle,
    time: datetime,
    matched: tuple[str, ...],
    *,
    doc: Document | None = None,
    cache: TermHits | None = None,
) -> Sample:
    """The headline of ``article`` and a body snippet, with ``rule``'s positive hits marked.

    When several rules are explained on one article, pass its :class:`AnalysedArticle`,
    its ``doc`` and one ``cache`` (see :func:`~newsalert.rules.evaluation.explain.
    positive_hits`; ``rule`` may then be its positive terms): it is normalised and cut
    into spans once, and each term shared by the rules searched once, for all of them.
    """
    analysed = analyse(article)
    article = analysed.article
    spans = {"title": analysed.title.spans, "body": analysed.body.spans}
    title_spans: list[tuple[int, int]] = []
    body_spans: list[tuple[int, int]] = []
    hits = positive_hits(rule, doc or Document.from_analysed(analysed), spans, cache=cache)
    for hit in hits:
        (title_spans if hit.field == "title" else body_spans).append((hit.start, hit.end))
    snippet, snippet_marks = _snippet(article.body, _merge(article.body, body_spans))
    return Sample(
        article_id=article.id,
        title=article.title,
        time=time,
        title_marks=_merge(article.title, title_spans),
        snippet=snippet,
        snippet_marks=snippet_marks,
        matched=matched,
    )


def _snippet(
    body: str, spans: tuple[tuple[int, int], ...]
) -> tuple[str, tuple[tuple[int, int], ...]]:
    """A stretch of ``body`` around its first hit, with the hits inside it re-based."""
    if not spans:
        return "", ()
    first_start = spans[0][0]
    start = max(0, first_start - SNIPPET_CONTEXT)
    end = min(len(body), spans[0][1] + 2 * SNIPPET_CONTEXT)
    # Cut at whitespace so words are whole.
    if start > 0:
        space = body.find(" ", start, first_start)
        start = space + 1 if space != -1 else start
    if end < len(body):
        space = body.rfind(" ", spans[0][1], end)
        end = space if space != -1 else end
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(body) else ""
    shift = len(prefix) - start
    marks = tuple(
        (max(s, start) + shift, min(e, end) + shift) for s, e in spans if s < end and e > start
    )
    return prefix + body[start:end] + suffix, marks


def marked(text: str, marks: tuple[tuple[int, int], ...], before: str, after: str) -> str:
    """``text`` with ``before``/``after`` around every marked stretch."""
    out: list[str] = []
    position = 0
    for start, end in marks:
        out.append(text[position:start])
        out.append(before + text[start:end] + after)
        position = end
    out.append(text[position:])
    return "".join(out)
