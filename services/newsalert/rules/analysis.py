"""Per-rule analysis for the index, remembered from one compile to the next.

Compiling a rule set derives, for every rule, its anchor clauses
(:mod:`newsalert.rules.anchors`), its key form and the terms a match of it lists
(:mod:`newsalert.rules.exact`): about 5 s for 100,000 rules, most of a compile. A
reload of an edited file gets the very same ``Node`` objects back for the rules that
did not change (the loader reuses unchanged rules), so their analysis is looked up by
identity instead of being derived again, and a reload costs little more than the rules
that changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from newsalert.rules.anchors import AnchorExtractor, Clause, CostFn
from newsalert.rules.exact import KeyForm, key_form, matched_terms
from newsalert.rules.key import Key
from newsalert.rules.model import Node

#: Anchor clauses kept per rule (the index uses the two cheapest).
_CLAUSES = 2


@dataclass(frozen=True, slots=True)
class Analysis:
    """What the index needs to know about one rule expression."""

    clauses: tuple[Clause, ...]
    form: KeyForm | None
    #: The form's keys, row order (empty without a form).
    literals: tuple[Key, ...]
    #: Positive terms with the row column of their key (empty without a form).
    terms: tuple[tuple[str, int], ...]


class AnalysisCache:
    """Analyses of the expressions of the last compile, by object identity."""

    def __init__(self) -> None:
        self._entries: dict[int, tuple[Node, CostFn, Analysis]] = {}

    def analyse(self, exprs: Sequence[Node], cost: CostFn) -> list[Analysis]:
        """The analysis of each of ``exprs`` (derived again only for new objects).

        Keeps only these expressions afterwards, so memory follows the live rule set.
        Safe under concurrent compiles: the cache is swapped whole; at worst an entry
        is derived twice.
        """
        known = self._entries
        entries: dict[int, tuple[Node, CostFn, Analysis]] = {}
        extractor = AnchorExtractor(cost)
        result = []
        for expr in exprs:
            entry = known.get(id(expr))
            if entry is not None and entry[0] is expr and entry[1] is cost:
                analysis = entry[2]
            else:
                clauses = extractor.clauses(expr) or []
                form = key_form(expr)
                analysis = Analysis(
                    tuple(clauses[:_CLAUSES]),
                    form,
                    () if form is None else form.literal_keys(),
                    () if form is None else matched_terms(expr, form),
                )
            entries[id(expr)] = (expr, cost, analysis)
            result.append(analysis)
        self._entries = entries
        return result


#: The process-wide cache used by :class:`newsalert.rules.index.CompiledRules`.
ANALYSES = AnalysisCache()
