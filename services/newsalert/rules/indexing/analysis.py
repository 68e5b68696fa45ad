"""Per-rule analysis for the index, remembered from one compile to the next.

Compiling a rule set derives, for every rule, its anchor clauses
(:mod:`newsalert.rules.indexing.anchors`), its key form and the terms a match of it lists
(:mod:`newsalert.rules.indexing.exact`), which is most of a compile's work. A
reload of an edited file gets the very same ``Node`` objects back for the rules that
did not change (the loader reuses unchanged rules), so their analysis is looked up by
identity instead of being derived again. Key ids are stable across compiles
(:class:`newsalert.rules.indexing.keyids.KeyIds`), so the analysis holds each rule's arrays
ready (posting slots, exact row, proximity constraints) and a reload costs little more
than the rules that changed plus concatenating arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from newsalert.rules.indexing.anchors import AnchorExtractor, CostFn
from newsalert.rules.indexing.exact import KeyForm, exact_row, key_form, matched_terms
from newsalert.rules.indexing.keyids import KeyIds
from newsalert.rules.indexing.postings import anchor_slots
from newsalert.rules.indexing.proximity import IdProximity
from newsalert.rules.language.model import Node

#: Anchor clauses the index uses per rule (the two cheapest).
_CLAUSES = 2
#: Rules analysed anew under one key numbering, as a multiple of the live rules (plus a
#: slack), before the numbering starts over (keys of removed rules would otherwise pile
#: up).
_RENUMBER_AFTER = 2
_RENUMBER_SLACK = 10_000


@dataclass(frozen=True, slots=True)
class Analysis:
    """What the index needs to know about one rule expression, under a key numbering."""

    form: KeyForm | None
    #: Positive terms with the row column of their key (empty without a form).
    terms: tuple[tuple[str, int], ...]
    #: Anchor posting slots (:func:`newsalert.rules.indexing.postings.anchor_slots`).
    slots: tuple[int, ...]
    #: Whether the rule has a single anchor clause.
    single: bool
    #: The exact row (:func:`newsalert.rules.indexing.exact.exact_row`).
    row: tuple[int, ...]
    proximities: tuple[IdProximity, ...]
    ids: KeyIds


class AnalysisCache:
    """Analyses of the expressions of the last compile, by object identity."""

    def __init__(self) -> None:
        self._entries: dict[int, tuple[Node, CostFn, Analysis]] = {}
        self._ids = KeyIds()
        self._analysed = 0

    def analyse(self, exprs: Sequence[Node], cost: CostFn) -> tuple[list[Analysis], KeyIds]:
        """The analysis of each of ``exprs`` (derived again only for new objects), and
        the key numbering they use.

        Keeps only these expressions afterwards, so memory follows the live rule set.
        Safe under concurrent compiles: the cache is swapped whole; at worst an entry
        is derived twice.
        """
        if self._analysed > _RENUMBER_AFTER * len(exprs) + _RENUMBER_SLACK:
            self._ids, self._analysed = KeyIds(), 0
        ids = self._ids
        known = self._entries
        entries: dict[int, tuple[Node, CostFn, Analysis]] = {}
        extractor = AnchorExtractor(cost)
        result = []
        for expr in exprs:
            entry = known.get(id(expr))
            if entry is not None and entry[0] is expr and entry[1] is cost and entry[2].ids is ids:
                analysis = entry[2]
            else:
                analysis = _analysis(expr, extractor, ids)
                self._analysed += 1
            entries[id(expr)] = (expr, cost, analysis)
            result.append(analysis)
        self._entries = entries
        return result, ids


def _analysis(expr: Node, extractor: AnchorExtractor, ids: KeyIds) -> Analysis:
    clauses = (extractor.clauses(expr) or [])[:_CLAUSES]
    form = key_form(expr)
    return Analysis(
        form=form,
        terms=() if form is None else matched_terms(expr, form),
        slots=anchor_slots(clauses, ids.stem, ids.prefix),
        single=len(clauses) == 1,
        row=exact_row(form, ids.key),
        proximities=() if form is None else tuple(p.ids(ids.key) for p in form.proximities),
        ids=ids,
    )


#: The process-wide cache used by :class:`newsalert.rules.indexing.index.CompiledRules`.
ANALYSES = AnalysisCache()
