"""The compiled rule index: pre-filter by anchor words, verify only the candidates.

Matching one document costs a few C-level set operations over its distinct stems and
adjacent stem pairs, the wildcard prefixes of its tokens (Aho-Corasick, cached per
token), and a verification of the candidate rules only. Rules without anchors are
verified every time and counted (:attr:`CompiledRules.unindexed`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import ahocorasick
import numpy as np

from newsalert.rules.anchors import BIGRAM_SEP, AnchorExtractor, Clause, CostFn, heuristic_cost
from newsalert.rules.document import Document
from newsalert.rules.model import Rule
from newsalert.rules.postings import Postings
from newsalert.rules.program import Check, FastEvaluation, TermTable
from newsalert.rules.results import RuleMatch

_PREFIX_CACHE_LIMIT = 200_000


@dataclass(frozen=True, slots=True)
class IndexStats:
    """Shape of a compiled index."""

    rules: int
    two_clause: int
    one_clause: int
    unindexed: int
    stem_keys: int
    prefix_keys: int


class CompiledRules:
    """A rule set compiled for matching; safe to share between threads.

    Immutable apart from a per-token cache of wildcard-prefix hits (plain dict
    operations, atomic under the GIL; a lost entry is simply recomputed).

    :meth:`match` returns exactly what brute-force evaluation of every rule returns
    (tested against :mod:`newsalert.rules.oracle`), sorted by rule id.
    """

    def __init__(self, rules: Iterable[Rule], *, cost: CostFn = heuristic_cost) -> None:
        self._rules: tuple[Rule, ...] = tuple(sorted(rules, key=lambda r: r.id))
        self._by_id = {rule.id: rule for rule in self._rules}
        table = TermTable()
        self._checks: tuple[Check, ...] = tuple(table.compile(r.expr) for r in self._rules)
        self._positive = tuple(
            tuple(
                (term.text, table.intern(term), table.any_field_stem(term))
                for term in rule.positive_terms()
            )
            for rule in self._rules
        )
        self._table = table
        self._filtered = frozenset(
            number for number, rule in enumerate(self._rules) if rule.languages or rule.sources
        )
        extractor = AnchorExtractor(cost)
        entries: list[tuple[int, Clause, Clause]] = []
        single = 0
        always: list[int] = []
        for number, rule in enumerate(self._rules):
            clauses = extractor.clauses(rule.expr)
            if not clauses:
                always.append(number)
            elif len(clauses) > 1:
                entries.append((number, clauses[0], clauses[1]))
            else:
                # Required count 2 over the same clause twice: a candidate as soon as
                # its only clause occurs, with no special case on the hot path.
                entries.append((number, clauses[0], clauses[0]))
                single += 1
        self._postings = Postings(len(self._rules), entries)
        # First stems of the indexed stem pairs: only those pairs of a document are built.
        self._bigram_heads = frozenset(
            sys.intern(key.split(BIGRAM_SEP)[0])
            for key in self._postings.stem_keys
            if BIGRAM_SEP in key
        )
        self._always = np.array(always, dtype=np.int32)
        # Every wildcard of every rule goes into one automaton: its hits both select
        # candidates and answer one-word wildcard terms during verification.
        self._automaton: ahocorasick.Automaton | None = None
        self._prefix_cache: dict[str, tuple[str, ...]] = {}
        if table.prefixes:
            automaton = ahocorasick.Automaton()
            for prefix in table.prefixes:
                automaton.add_word(" " + prefix, prefix)
            automaton.make_automaton()
            self._automaton = automaton
        self.stats = IndexStats(
            rules=len(self._rules),
            two_clause=len(entries) - single,
            one_clause=single,
            unindexed=len(always),
            stem_keys=len(self._postings.stem_keys),
            prefix_keys=len(self._postings.prefix_keys),
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
        return len(self._always)

    def rule(self, rule_id: str) -> Rule:
        """The rule called ``rule_id`` (``KeyError`` when absent)."""
        return self._by_id[rule_id]

    def _token_prefixes(self, token: str) -> tuple[str, ...]:
        """The rule set's wildcard prefixes that ``token`` starts with (cached)."""
        found = self._prefix_cache.get(token)
        if found is None:
            assert self._automaton is not None
            found = tuple({value for _, value in self._automaton.iter(" " + token)})
            if len(self._prefix_cache) >= _PREFIX_CACHE_LIMIT:
                self._prefix_cache.clear()
            self._prefix_cache[token] = found
        return found

    def _field_prefixes(self, doc: Document) -> dict[str, set[str]]:
        if self._automaton is None:
            return {}
        # News vocabulary repeats: a per-token cache of automaton hits is several times
        # cheaper than running the automaton over every article's tokens.
        cache, result = self._prefix_cache, {}
        for name, text in doc.fields.items():
            if not text.tokens:
                continue
            try:
                result[name] = set().union(*map(cache.__getitem__, text.token_set))
            except KeyError:
                result[name] = set().union(*map(self._token_prefixes, text.token_set))
        return result

    def _candidates(self, stems: set[str], field_prefixes: dict[str, set[str]]) -> list[int]:
        prefixes: set[str] = set().union(*field_prefixes.values())
        found = self._postings.candidates(stems, prefixes)
        if len(self._always):
            found = np.union1d(found, self._always)
        result: list[int] = found.tolist()
        return result

    def _keys(self, doc: Document, stems: set[str]) -> set[str]:
        if not self._bigram_heads:
            return stems
        return stems | doc.all_bigrams(BIGRAM_SEP, self._bigram_heads)

    def candidates(self, doc: Document) -> list[int]:
        """Numbers (positions in :attr:`rules`) of the rules worth verifying on ``doc``."""
        stems = doc.all_stems()
        return self._candidates(self._keys(doc, stems), self._field_prefixes(doc))

    def match(self, doc: Document) -> list[RuleMatch]:
        """Every rule that fires on ``doc``, sorted by rule id."""
        stems = doc.all_stems()
        field_prefixes = self._field_prefixes(doc)
        numbers = self._candidates(self._keys(doc, stems), field_prefixes)
        return self._verify(doc, stems, field_prefixes, numbers)

    def match_without_index(self, doc: Document) -> list[RuleMatch]:
        """Like :meth:`match` but verifies every rule (the no-pre-filter baseline)."""
        stems = doc.all_stems()
        return self._verify(doc, stems, self._field_prefixes(doc), range(len(self._rules)))

    def _verify(
        self,
        doc: Document,
        stems: set[str],
        field_prefixes: dict[str, set[str]],
        numbers: Iterable[int],
    ) -> list[RuleMatch]:
        """The rules among ``numbers`` (ascending) that fire on ``doc``."""
        evaluation = FastEvaluation(doc, self._table, stems, field_prefixes)
        rules = self._rules
        checks = self._checks
        filtered = self._filtered
        language, source = doc.language, doc.source
        matches: list[RuleMatch] = []
        for number in numbers:
            if number in filtered and not rules[number].accepts_meta(language, source):
                continue
            if checks[number](evaluation):
                rule = rules[number]
                positive = self._positive[number]
                matched = tuple(
                    text
                    for text, term, value in positive
                    if (value in stems if value is not None else evaluation.term(term))
                )
                matches.append(RuleMatch(rule.id, rule.title, rule.tags, matched))
        return matches
