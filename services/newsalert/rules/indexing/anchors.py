"""Which words a document must contain for a rule to possibly match (pre-filter clauses).

From a rule's expression we derive *clauses*: sets of stems and wildcard prefixes such
that every document the rule matches contains at least one key of every clause (a
necessary condition, never a sufficient one, so pre-filtering cannot lose a match). The
index keeps the two cheapest clauses per rule, as Lucene's CoveringQuery keeps a
required count: a rule is verified only when both occur. Rules with no clause (only
NOT, e.g.) are verified on every document.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import pairwise

from newsalert.rules.language.model import And, Near, Node, Not, Or, Term
from newsalert.text import Stemmer, tokenize

#: Joins the two stems of a bigram key (never part of a token).
BIGRAM_SEP = "\x00"
#: Joins a field name before a key that counts in that field only (``title`` + SEP + key).
FIELD_SEP = "\x01"
#: How much rarer a phrase's adjacent pair is assumed to be than its rarer word.
_BIGRAM_FACTOR = 0.25

#: How many clauses the index keeps per rule.
MAX_CLAUSES = 2
_KEEP = 4

# Frequent English words: anchoring a rule on them would make it a candidate for
# nearly every article, so they cost far more than an ordinary word.
_COMMON_WORDS = """
the of and to a in is was it for on that with as by he at from his be this are have
had not but or an they which were been has their one its said would who will her she
there all we more also when can after up out no than other into two new year first
only some over what time about could them these our people if him so like any most
may then do made us last just mr many before such back three world between under
get off well much government should now where told week being see make years while
says say because against month day both during way still since take those through
even very does going company market says per cent market firm
"""
COMMON_STEMS: frozenset[str] = frozenset(Stemmer().stems(tokenize(_COMMON_WORDS)))


@dataclass(frozen=True, slots=True)
class Clause:
    """At least one of these stems or wildcard prefixes occurs in a matching document."""

    stems: frozenset[str]
    prefixes: frozenset[str]
    cost: float

    def union(self, other: Clause) -> Clause:
        """The clause satisfied when either clause is."""
        return Clause(self.stems | other.stems, self.prefixes | other.prefixes, 0.0)


CostFn = Callable[[str, bool], float]


def heuristic_cost(key: str, prefix: bool) -> float:
    """Guess how often ``key`` occurs: common words and short prefixes are frequent."""
    if prefix:
        return 100.0 / max(1, len(key) - 1)
    if key in COMMON_STEMS:
        return 200.0
    return max(1.0, 12.0 - len(key))


def frequency_cost(frequencies: Mapping[str, float]) -> CostFn:
    """A cost from known stem document frequencies (prefixes fall back to the heuristic)."""

    def cost(key: str, prefix: bool) -> float:
        if prefix:
            return heuristic_cost(key, prefix)
        return frequencies.get(key, 0.0) + 1e-3 * heuristic_cost(key, prefix)

    return cost


class AnchorExtractor:
    """Derives pre-filter clauses from expressions, with a cost model for choosing."""

    def __init__(self, cost: CostFn = heuristic_cost) -> None:
        self.cost = cost
        # The clauses of each term seen, by identity (the term kept alive beside them):
        # equal keywords of a rule file are one shared Term, so most are seen before.
        self._terms: dict[int, tuple[Term, list[Clause]]] = {}
        # The cost of each stem key priced so far: a rule file prices the same few
        # thousand stems hundreds of thousands of times.
        self._stem_costs: dict[str, float] = {}

    def _stem_cost(self, key: str) -> float:
        cost = self._stem_costs.get(key)
        if cost is None:
            if BIGRAM_SEP in key:
                first, second = key.split(BIGRAM_SEP)
                cost = _BIGRAM_FACTOR * min(self.cost(first, False), self.cost(second, False))
            else:
                cost = self.cost(key, False)
            self._stem_costs[key] = cost
        return cost

    def _priced(self, stems: frozenset[str], prefixes: frozenset[str]) -> Clause:
        total = sum(map(self._stem_cost, stems))
        if prefixes:
            total += sum(self.cost(p, True) for p in prefixes)
        return Clause(stems, prefixes, total)

    def clauses(self, node: Node) -> list[Clause] | None:
        """Necessary clauses of ``node``, cheapest first; ``None`` when there are none."""
        if isinstance(node, Term):
            seen = self._terms.get(id(node))
            if seen is not None and seen[0] is node:
                return seen[1]
            found = [
                self._priced(frozenset(), frozenset({w.value}))
                if w.prefix
                else self._priced(frozenset({w.value}), frozenset())
                for w in node.words
            ]
            if node.mode == "phrase":
                # Adjacent stems of a phrase are adjacent in every matching field: the
                # pair is a much rarer key than either word.
                found.extend(
                    self._priced(frozenset({a.value + BIGRAM_SEP + b.value}), frozenset())
                    for a, b in pairwise(node.words)
                    if not a.prefix and not b.prefix
                )
            best = _best(found)
            self._terms[id(node)] = (node, best)
            return best
        if isinstance(node, And):
            merged: list[Clause] = []
            for child in node.children:
                sub = self.clauses(child)
                if sub is not None:
                    merged.extend(sub)
            return _best(merged) if merged else None
        if isinstance(node, Or):
            return self._either([self.clauses(child) for child in node.children])
        if isinstance(node, Not):
            return None
        if isinstance(node, Near):
            merged = []
            for operand in node.operands:
                sub = self._either([self.clauses(term) for term in operand])
                if sub is not None:
                    merged.extend(sub)
            return _best(merged) if merged else None
        raise TypeError(node)

    def _either(self, children: list[list[Clause] | None]) -> list[Clause] | None:
        # (A and B) or (C and D) implies (A or C) and (B or D): pair the children's
        # i-th cheapest clauses.
        if any(child is None for child in children):
            return None
        lists = [child for child in children if child is not None]
        depth = min(len(child) for child in lists)
        result = []
        for i in range(min(depth, MAX_CLAUSES)):
            # One set per kind, frozen once: folding Clause.union over the children
            # would copy the growing sets once per child (quadratic in wide ORs).
            stems: set[str] = set()
            prefixes: set[str] = set()
            for child in lists:
                stems.update(child[i].stems)
                prefixes.update(child[i].prefixes)
            result.append(self._priced(frozenset(stems), frozenset(prefixes)))
        return _best(result)


def _best(clauses: list[Clause]) -> list[Clause]:
    unique: dict[tuple[frozenset[str], frozenset[str]], Clause] = {}
    for clause in clauses:
        unique.setdefault((clause.stems, clause.prefixes), clause)
    ordered = sorted(unique.values(), key=lambda c: (c.cost, sorted(c.stems), sorted(c.prefixes)))
    return ordered[:_KEEP]
