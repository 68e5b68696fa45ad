"""Sample headlines with the matched terms marked, from the rules' ``explain`` offsets."""

from __future__ import annotations

from datetime import datetime

from newsalert.backtest.report import Sample
from newsalert.models import Article
from newsalert.rules import Document, Rule
from newsalert.rules.explain import explain

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


def sample_of(
    rule: Rule,
    article: Article,
    time: datetime,
    matched: tuple[str, ...],
    *,
    doc: Document | None = None,
) -> Sample:
    """The headline of ``article`` and a body snippet, with ``rule``'s positive hits marked."""
    texts = {"title": article.title, "body": article.body}
    explanation = explain(rule, doc or Document.from_article(article), texts)
    title_spans: list[tuple[int, int]] = []
    body_spans: list[tuple[int, int]] = []
    for term in explanation.terms:
        if term.negated or not term.matched:
            continue
        for hit in term.hits:
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
