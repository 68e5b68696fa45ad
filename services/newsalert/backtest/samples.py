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
from typing import cast

from newsalert.analysed import AnalysedArticle, analyse
from newsalert.gcpause import paused_gc
from newsalert.models import Article
from newsalert.rules import Document, Rule, Term
from newsalert.rules.evaluation.explain import TermHits, positive_hits
from newsalert.text import Stemmer


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
    if len(spans) < 2:
        return tuple(spans)
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
        self,
        rule_of: Callable[[str], Rule | None],
        pending: dict[str, list[PendingSample]],
        stemmer: Stemmer | None = None,
    ) -> None:
        """``stemmer``: the run's (its articles' words are stemmed once), else a fresh one."""
        self._rule_of = rule_of
        self._pending = pending
        self._stemmer = Stemmer() if stemmer is None else stemmer
        self._explained: dict[str, list[Sample]] = {}

    def has(self, rule_id: str) -> bool:
        """True when ``rule_id`` has samples to show."""
        return bool(self._pending.get(rule_id)) and self._rule_of(rule_id) is not None

    def explained(self, rule_ids: Iterable[str]) -> dict[str, list[Sample]]:
        """The samples of ``rule_ids``, explained now unless they already were."""
        asked = list(dict.fromkeys(rule_ids))
        explained = self._explained
        # Grouped by article: each article is normalised and cut into spans once. Each
        # sample is put at its rank in its rule's list.
        by_article: dict[
            int, list[tuple[list[Sample | None], int, tuple[Term, ...], PendingSample]]
        ]
        by_article = {}
        made: list[tuple[str, list[Sample | None]]] = []
        for rule_id in asked:
            pending = self._pending.get(rule_id)
            if rule_id in explained or not pending:
                continue
            rule = self._rule_of(rule_id)
            if rule is None:
                continue
            terms = rule.positive_terms()  # once for all the rule's samples
            slots: list[Sample | None] = [None] * len(pending)
            made.append((rule_id, slots))
            for rank, one in enumerate(pending):
                by_article.setdefault(id(one.article), []).append((slots, rank, terms, one))
        # Hundreds of thousands of acyclic objects when every rule is explained, kept with
        # the result: built with the collector paused, then frozen (newsalert.gcpause).
        with paused_gc(freeze=True):
            for group in by_article.values():
                marks = ArticleMarks(group[0][3].article, self._stemmer)
                for slots, rank, terms, one in group:
                    slots[rank] = marks.sample(terms, one.time, one.matched)
        for rule_id, slots in made:
            explained[rule_id] = cast(list[Sample], slots)  # every slot filled above
        return {r: explained.get(r, []) for r in asked}


class ArticleMarks:
    """One article, analysed once, and where each term asked so far marks it.

    Several rules explained on one article share most of their terms (the rule loader
    shares equal terms): each term is searched once, through one
    :data:`~newsalert.rules.evaluation.explain.TermHits` cache, and its hits are kept as
    the character spans a sample marks, per field.
    """

    def __init__(self, article: Article | AnalysedArticle, stemmer: Stemmer | None = None) -> None:
        """``stemmer``: the run's (see :class:`Samples`), else a fresh one."""
        self.analysed = analyse(article, stemmer)
        self._doc = Document.from_analysed(self.analysed)
        self._spans = {"title": self.analysed.title.spans, "body": self.analysed.body.spans}
        self._hits: TermHits = {}
        # id(term) -> its (title, body) spans; the terms outlive this object (the rules').
        self._marks: dict[int, tuple[list[tuple[int, int]], list[tuple[int, int]]]] = {}

    def sample(self, terms: Sequence[Term], time: datetime, matched: tuple[str, ...]) -> Sample:
        """The sample of a rule whose positive terms (:meth:`Rule.positive_terms`) are
        ``terms``: see :func:`sample_of`."""
        title_spans: list[tuple[int, int]] = []
        body_spans: list[tuple[int, int]] = []
        cached = self._marks
        for term in terms:
            marks = cached.get(id(term))
            if marks is None:
                title: list[tuple[int, int]] = []
                body: list[tuple[int, int]] = []
                for hit in positive_hits((term,), self._doc, self._spans, cache=self._hits):
                    (title if hit.field == "title" else body).append((hit.start, hit.end))
                marks = cached[id(term)] = (title, body)
            title_spans += marks[0]
            body_spans += marks[1]
        article = self.analysed.article
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


def sample_of(
    rule: Rule,
    article: Article | AnalysedArticle,
    time: datetime,
    matched: tuple[str, ...],
) -> Sample:
    """The headline of ``article`` and a body snippet, with ``rule``'s positive hits marked.

    To explain several rules on one article, use one :class:`ArticleMarks`: the article
    is then normalised and cut into spans once, and each term searched once, for all.
    """
    return ArticleMarks(article).sample(rule.positive_terms(), time, matched)


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
