"""The compiled rule index: candidates by anchor keys, then exact decisions in bulk.

Matching one document:

1. its tokens become indexes into a token table (:mod:`newsalert.rules.indexing.dockeys`), which
   knows each token's key ids (stems, wildcard prefixes, of every field or one);
2. one compiled kernel (:func:`newsalert.rules.indexing.kernels.match`) finds the keys present
   (adjacent stem pairs included), the candidates (the rules whose two cheapest
   necessary clauses both have a key present, from flat postings arrays:
   :mod:`newsalert.rules.indexing.postings`), and decides the candidates whose match depends on
   key presence and two-word proximities alone (most rules: :mod:`newsalert.rules.indexing.exact`);
3. the other candidates are verified one by one with compiled checks
   (:mod:`newsalert.rules.evaluation.verify`).

Rules without anchors are candidates on every document and counted
(:attr:`CompiledRules.unindexed`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import numpy as np
import numpy.typing as npt

from newsalert.rules.evaluation.document import Document
from newsalert.rules.evaluation.results import RuleMatch
from newsalert.rules.evaluation.verify import Verifier
from newsalert.rules.indexing import kernels
from newsalert.rules.indexing.analysis import ANALYSES, Analysis
from newsalert.rules.indexing.anchors import CostFn, heuristic_cost
from newsalert.rules.indexing.dockeys import KeySpace, TokenTable
from newsalert.rules.indexing.exact import ExactRules
from newsalert.rules.indexing.postings import Postings
from newsalert.rules.language.model import Rule

#: How an exact rule's match is built: one shared object when every positive term
#: necessarily occurred, else ``(term as written, literal column or -1 = always)`` to
#: test against the kernel's mask of the literals present.
_MatchPlan = RuleMatch | tuple[tuple[str, int], ...] | None


class _Scratch(threading.local):
    """Per-thread scratch arrays of the kernels (left zeroed after every call)."""

    def __init__(self, keys: int, rules: int) -> None:
        self.arrays = kernels.Scratch.of(keys, rules)


@dataclass(frozen=True, slots=True)
class _Decided:
    """What the kernel said of a document: candidates, the exact rules that fired
    (``rule << 16 | mask of its literals present``, ascending), and the rules to verify."""

    candidates: npt.NDArray[np.int32]
    fired: npt.NDArray[np.int64]
    others: list[int]


#: Cached matches of exact rules (per rule and literals present) before starting over.
_MATCH_CACHE_LIMIT = 200_000

#: Matches sort by rule id (C-level key: a document can fire hundreds of rules).
_BY_RULE_ID = attrgetter("rule_id")


@dataclass(frozen=True, slots=True)
class IndexStats:
    """Shape of a compiled index (``stem_keys``, ``prefix_keys``: keys numbered so far,
    those of recently removed rules included)."""

    rules: int
    two_clause: int
    one_clause: int
    unindexed: int
    exact: int
    stem_keys: int
    prefix_keys: int


class CompiledRules:
    """A rule set compiled for matching; safe to share between threads.

    Immutable apart from the key space's token table (tokens are learned under a lock)
    and a cache of exact matches (plain dict operations, atomic under the GIL); each
    thread gets its own kernel scratch arrays.

    :meth:`match` returns exactly what brute-force evaluation of every rule returns
    (tested against :mod:`newsalert.rules.evaluation.oracle`), sorted by rule id.
    """

    def __init__(self, rules: Iterable[Rule], *, cost: CostFn = heuristic_cost) -> None:
        self._rules: tuple[Rule, ...] = tuple(sorted(rules, key=lambda r: r.id))
        self._by_id = {rule.id: rule for rule in self._rules}
        self._filtered = frozenset(
            number for number, rule in enumerate(self._rules) if rule.languages or rule.sources
        )
        analyses, ids = ANALYSES.analyse([rule.expr for rule in self._rules], cost)
        # Every id the analyses use is below size: they were derived before this.
        stem_ids, prefix_ids, size = ids.snapshot()
        self._postings = Postings([analysis.slots for analysis in analyses], size)
        self._exact = ExactRules(
            [analysis.row for analysis in analyses],
            [analysis.proximities for analysis in analyses],
        )
        self._plans: tuple[_MatchPlan, ...] = tuple(map(_match_plan, self._rules, analyses))
        # Per rule number: whether the rule restricts languages or sources.
        self._meta_filtered = np.zeros(max(len(self._rules), 1), dtype=np.bool_)
        self._meta_filtered[list(self._filtered)] = True
        self._verifier = Verifier(
            self._rules,
            (number for number, analysis in enumerate(analyses) if analysis.form is None),
        )
        self._full_verifier: Verifier | None = None
        self._full_lock = threading.Lock()
        # Every wildcard of every rule is known to the key space: its automaton both
        # finds the prefix keys of documents and answers wildcard terms in checks.
        self._keys = KeySpace(stem_ids, prefix_ids, size, sorted(self._verifier.prefixes))
        self._scratch = _Scratch(size, len(self._rules))
        # The index's part of the kernel's arguments, as the plain arrays it takes
        # (cheaper to pass than named tuples), in its order.
        self._index_arrays: tuple[Any, ...] = (
            *self._keys.pairs,
            *self._postings.arrays,
            self._exact.rows,
            *self._exact.proximity.arrays,
        )
        self._match_cache: dict[int, RuleMatch] = {}
        # Compile (or load from the disk cache) the kernels now, off the hot path:
        # a first compile takes seconds.
        self._kernel(Document.from_text())
        single = sum(analysis.single for analysis in analyses)
        self.stats = IndexStats(
            rules=len(self._rules),
            two_clause=len(self._rules) - single - self.unindexed,
            one_clause=single,
            unindexed=self.unindexed,
            exact=len(self._rules) - len(self._verifier),
            stem_keys=len(stem_ids),
            prefix_keys=len(prefix_ids),
        )

    def __len__(self) -> int:
        return len(self._rules)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self._rules)

    @property
    def rules(self) -> tuple[Rule, ...]:
        """Every rule, sorted by id."""
        return self._rules

    @property
    def unindexed(self) -> int:
        """How many rules have no anchor and are verified on every document."""
        return len(self._postings.always)

    def rule(self, rule_id: str) -> Rule:
        """The rule called ``rule_id`` (``KeyError`` when absent)."""
        return self._by_id[rule_id]

    def candidates(self, doc: Document) -> list[int]:
        """Numbers (positions in :attr:`rules`) of the rules worth verifying on ``doc``."""
        found: list[int] = self._kernel(doc).candidates.tolist()
        return found

    def match(self, doc: Document) -> list[RuleMatch]:
        """Every rule that fires on ``doc``, sorted by rule id."""
        decided = self._kernel(doc)
        fired = self._matches(doc, decided)
        checked = self._verify(doc, decided.others)
        if not fired:
            return checked
        if checked:
            # Two ascending runs: the sort merges them in linear time.
            fired.extend(checked)
            fired.sort(key=_BY_RULE_ID)
        return fired

    def check_times(self, doc: Document) -> list[tuple[str, float]]:
        """Seconds each rule verified one by one on ``doc`` takes there, by rule id.

        This is the production path's own per-rule cost: the rules the kernel decides
        in bulk cost no time of their own and are not listed.
        """
        decided = self._kernel(doc)
        timed = self._verifier.timed(doc, decided.others, self._keys.field_prefixes)
        rules = self._rules
        return [(rules[number].id, seconds) for number, seconds in timed]

    def _kernel(self, doc: Document) -> _Decided:
        return self._run_kernel(*self._keys.tokens(doc))

    def _run_kernel(self, table: TokenTable, document: kernels.Document) -> _Decided:
        arguments: tuple[Any, ...] = (
            *document,
            *table.arrays,
            *self._index_arrays,
            *self._scratch.arrays,
        )
        candidates, fired, others = kernels.match(*arguments)
        return _Decided(candidates, fired, others.tolist())

    def _matches(self, doc: Document, decided: _Decided) -> list[RuleMatch]:
        """The matches of the exact rules the kernel decided fired.

        Array work first (dropping the rules whose languages or sources refuse the
        document), then one cache lookup per match: a document can fire hundreds.
        """
        fired = decided.fired
        if not fired.size:
            return []
        numbers = fired >> 16
        if self._filtered:
            restricted = np.flatnonzero(self._meta_filtered[numbers])
            if restricted.size:
                rules, language, source = self._rules, doc.language, doc.source
                refused = [
                    place
                    for place in restricted.tolist()
                    if not rules[int(numbers[place])].accepts_meta(language, source)
                ]
                if refused:
                    fired = np.delete(fired, refused)
        keys: list[int] = fired.tolist()
        cache = self._match_cache
        try:
            return list(map(cache.__getitem__, keys))
        except KeyError:
            if len(cache) >= _MATCH_CACHE_LIMIT:
                cache.clear()
            get = cache.get
            return [get(key) or self._exact_match(key) for key in keys]

    def _exact_match(self, fired: int) -> RuleMatch:
        """The match of ``fired`` (``rule << 16 | mask``), built and cached."""
        number, mask = fired >> 16, fired & 0xFFFF
        plan = self._plans[number]
        if not isinstance(plan, RuleMatch):
            assert plan is not None
            rule = self._rules[number]
            matched = tuple(text for text, bit in plan if bit < 0 or mask >> bit & 1)
            plan = RuleMatch(rule.id, rule.title, rule.tags, matched)
        self._match_cache[fired] = plan
        return plan

    def _verify(self, doc: Document, numbers: list[int]) -> list[RuleMatch]:
        return self._verifier.verify(doc, numbers, self._keys.field_prefixes)

    def match_without_index(self, doc: Document) -> list[RuleMatch]:
        """Like :meth:`match` but checks every rule (the no-pre-filter baseline).

        Compiles a check for every rule on first use (a benchmark baseline only).
        """
        with self._full_lock:
            if self._full_verifier is None:
                self._full_verifier = Verifier(self._rules, range(len(self._rules)))
        numbers = list(range(len(self._rules)))
        return self._full_verifier.verify(doc, numbers, self._keys.field_prefixes)


def _match_plan(rule: Rule, analysis: Analysis) -> _MatchPlan:
    form = analysis.form
    if form is None:
        return None
    if form.one_key_clauses():
        # Every clause is one key: when the rule fires every positive term occurred.
        return RuleMatch(rule.id, rule.title, rule.tags, tuple(text for text, _ in analysis.terms))
    return analysis.terms
