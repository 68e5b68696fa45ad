"""An immutable, validated collection of rules (what a config file defines)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from operator import attrgetter

from newsalert.gcpause import paused_gc
from newsalert.rules.indexing.anchors import CostFn, heuristic_cost
from newsalert.rules.indexing.index import CompiledRules
from newsalert.rules.language.model import Location, Rule
from newsalert.rules.language.problems import Problem, RuleFileError


class RuleSet:
    """Rules sorted by id; ids are unique. Call :meth:`compile` to match with them."""

    __slots__ = ("_by_id", "_rules")

    def __init__(self, rules: Iterable[Rule] = ()) -> None:
        ordered = tuple(sorted(rules, key=attrgetter("id")))
        by_id = {rule.id: rule for rule in ordered}
        if len(by_id) != len(ordered):
            problems = []
            seen: set[str] = set()
            for rule in ordered:
                if rule.id in seen:
                    where = rule.location or Location("<rules>")
                    problems.append(Problem(where, "duplicate rule id", rule.id))
                seen.add(rule.id)
            raise RuleFileError(problems)
        self._rules = ordered
        self._by_id = by_id

    def __len__(self) -> int:
        return len(self._rules)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self._rules)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._by_id

    def __repr__(self) -> str:
        return f"RuleSet({len(self._rules)} rules)"

    @property
    def rules(self) -> tuple[Rule, ...]:
        """Every rule, sorted by id."""
        return self._rules

    def get(self, rule_id: str) -> Rule | None:
        """The rule called ``rule_id``, or ``None``."""
        return self._by_id.get(rule_id)

    def tags(self) -> frozenset[str]:
        """Every tag any rule carries."""
        return frozenset(tag for rule in self._rules for tag in rule.tags)

    def compile(self, *, cost: CostFn = heuristic_cost) -> CompiledRules:
        """Build the matching index (slow for large rule sets: do it off the hot path)."""
        with paused_gc():
            return CompiledRules(self._rules, cost=cost)
