"""Rules decided by which keys a document contains (and two-word proximities), in bulk.

Many rules need no token positions: ``all``/``any``/``none`` lists, wildcards, two-word
phrases (exactly the presence of an adjacent stem pair, which the index keys). Such a
rule is a conjunction of *clauses* (each an OR of keys: stems, stem pairs, wildcard
prefixes, of every field or of one) and a set of *negative* keys; two-word windows and
two-operand NEARs add proximity constraints (:mod:`newsalert.rules.indexing.proximity`).
:class:`ExactRules` keeps them in fixed-width rows, decided for all candidates of a
document in one compiled pass (:func:`newsalert.rules.indexing.kernels.decide`). The rest
(longer windows and phrases, NEAR chains, NOT over a conjunction, more than
``MAX_LITERALS`` keys) is left to the compiled checks (:mod:`newsalert.rules.evaluation.program`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np

from newsalert.rules.indexing.anchors import BIGRAM_SEP
from newsalert.rules.indexing.arrays import BoolArray, IntArray
from newsalert.rules.indexing.kernels import CLAUSE_BITS, NOT_EXACT, PROXIMITY_FLAG, VETO
from newsalert.rules.indexing.key import Key
from newsalert.rules.indexing.proximity import IdProximity, Proximity, ProximityTable
from newsalert.rules.language.model import FIELDS, And, Near, Node, Not, Term, iter_terms, or_terms

_ALL_FIELDS = frozenset(FIELDS)
#: Rules with more keys than this are verified by their compiled checks instead.
MAX_LITERALS = 16


@dataclass(frozen=True, slots=True)
class KeyForm:
    """A rule as clauses of keys: every clause has a key present, no negative key is."""

    clauses: tuple[tuple[Key, ...], ...]
    negatives: tuple[Key, ...]
    proximities: tuple[Proximity, ...] = ()

    def literals(self) -> int:
        """How many keys the clauses and negatives list in all."""
        return sum(map(len, self.clauses)) + len(self.negatives)

    def literal_keys(self) -> tuple[Key, ...]:
        """The keys in the order of an :class:`ExactRules` row: clause by clause, then
        the negatives."""
        return (*chain.from_iterable(self.clauses), *self.negatives)

    def one_key_clauses(self) -> bool:
        """Whether every clause is one key (then every positive term occurred when the
        rule fires)."""
        return all(len(clause) == 1 for clause in self.clauses)


def matched_terms(expr: Node, form: KeyForm) -> tuple[tuple[str, int], ...]:
    """Each positive term of ``expr`` (written order, no repeats), as written, with the
    row column of its key: the term is listed in a match when that literal is present.

    A window keyword has no key (column -1: always listed): it is a proximity
    constraint, which holds whenever the rule fires.
    """
    columns: dict[Key, int] = {}
    for column, key in enumerate(form.literal_keys()):
        columns.setdefault(key, column)
    return tuple(
        (term.text, -1 if key is None else columns.get(key, -1))
        for term in dict.fromkeys(iter_terms(expr, negated=False))
        for key in (term_key(term),)
    )


def term_key(term: Term) -> Key | None:
    """The key whose presence is exactly ``term`` matching, or ``None`` when there is none."""
    keyed, field = _key_field(term)
    if not keyed:
        return None
    words = term.words
    if len(words) == 1:
        return Key(words[0].value, words[0].prefix, field)
    if term.mode == "phrase" and len(words) == 2 and not (words[0].prefix or words[1].prefix):
        return Key(words[0].value + BIGRAM_SEP + words[1].value, field=field)
    return None


def key_form(node: Node) -> KeyForm | None:
    """The key form of ``node``, or ``None`` when matching it needs more than key presence."""
    form = _Collector()
    if not form.collect(node) or not form.clauses:
        return None
    found = KeyForm(
        tuple(form.clauses), tuple(dict.fromkeys(form.negatives)), tuple(form.proximities)
    )
    # Long keyword lists are left to the compiled checks: every exact rule takes a row
    # as wide as the widest one.
    return found if found.literals() <= MAX_LITERALS else None


def term_proximity(term: Term) -> Proximity | None:
    """A window keyword of two distinct stems as a proximity constraint, else ``None``."""
    keyed, field = _key_field(term)
    if term.mode != "window" or not keyed:
        return None
    words = tuple(dict.fromkeys(term.words))
    if len(words) != 2 or words[0].prefix or words[1].prefix:
        return None
    # Two distinct stems cover a range last - first <= window - 1 exactly when some
    # pair of their occurrences is at most window - 1 apart.
    return Proximity(
        (Key(words[0].value, field=field),), (Key(words[1].value, field=field),), term.window - 1
    )


def near_proximity(node: Near) -> Proximity | None:
    """A two-operand NEAR of one-word stems as a proximity constraint, else ``None``.

    Every term must look in the same fields (all of them, or one): the chain then
    holds in a field exactly when the constraint does.
    """
    if len(node.operands) != 2:
        return None
    sides: list[tuple[Key, ...]] = []
    for operand in node.operands:
        keys = [term_key(term) if term.mode == "word" else None for term in operand]
        if any(key is None or key.prefix for key in keys):
            return None
        sides.append(tuple(dict.fromkeys(key for key in keys if key is not None)))
    if len({key.field for side in sides for key in side}) != 1:
        return None
    return Proximity(sides[0], sides[1], node.distances[0])


def _key_field(term: Term) -> tuple[bool, str | None]:
    """``(True, None)`` for a term of every field, ``(True, name)`` for one field only,
    ``(False, None)`` otherwise (no key can stand for it)."""
    fields = set(term.fields)
    if fields >= _ALL_FIELDS:
        return True, None
    if len(fields) == 1:
        return True, next(iter(fields))
    return False, None


class _Collector:
    def __init__(self) -> None:
        self.clauses: list[tuple[Key, ...]] = []
        self.negatives: list[Key] = []
        self.proximities: list[Proximity] = []

    def collect(self, node: Node) -> bool:
        if isinstance(node, And):
            return all(self.collect(child) for child in node.children)
        if isinstance(node, Not):
            keys = _disjunction(node.child)
            if keys is None:
                return False
            self.negatives.extend(keys)
            return True
        keys = _disjunction(node)
        if keys is not None:
            self.clauses.append(keys)
            return True
        proximity = None
        if isinstance(node, Term):
            proximity = term_proximity(node)
        elif isinstance(node, Near):
            proximity = near_proximity(node)
        if proximity is None:
            return False
        # The stems must occur at all: cheap clauses that spare most position work.
        self.clauses.append(proximity.left)
        self.clauses.append(proximity.right)
        self.proximities.append(proximity)
        return True


def _disjunction(node: Node) -> tuple[Key, ...] | None:
    """The keys of ``node`` when it is a term or an OR of (ORs of) terms with keys."""
    keys = [term_key(term) for term in or_terms(node) or ()]
    if not keys or None in keys:
        return None
    return tuple(dict.fromkeys(key for key in keys if key is not None))


#: Key ids must fit a row cell beside the clause bits.
_MAX_KEY_ID = (1 << (31 - CLAUSE_BITS)) - 1


def exact_row(form: KeyForm | None, key_id: Callable[[Key], int]) -> tuple[int, ...]:
    """The :class:`ExactRules` row of a rule with key form ``form`` (``None``: not exact)."""
    if form is None:
        return (NOT_EXACT,)
    cells = [len(form.clauses) | (PROXIMITY_FLAG if form.proximities else 0)]
    for column, keys in (*enumerate(form.clauses), (VETO, form.negatives)):
        for key in keys:
            number = key_id(key)
            if number > _MAX_KEY_ID:
                raise ValueError(f"too many keys for the exact rule rows: {number}")
            cells.append(number << CLAUSE_BITS | column)
    return tuple(cells)


class ExactRules:
    """Key forms of rules, one fixed-width row each, for the compiled kernels.

    Row ``r`` of ``rows`` (:func:`exact_row`, padded with zeros) starts with a header:
    ``NOT_EXACT``, or the number of clauses, ``| PROXIMITY_FLAG`` when the rule has
    proximity constraints (``proximity``). Then come its literals (0 ends the row), each
    ``key id << CLAUSE_BITS | clause``: the clause's column, or ``VETO`` for a negative
    key. Rule ``r`` fires when all its clauses have a key present, no negative key is,
    and its proximity constraints hold: :func:`newsalert.rules.indexing.kernels.decide`. One row
    holds all a decision reads, so a candidate costs one or two cache lines.
    """

    __slots__ = ("proximity", "rows")

    def __init__(
        self, rows: Sequence[tuple[int, ...]], proximities: Sequence[Sequence[IdProximity]]
    ) -> None:
        width = max(map(len, rows), default=1)
        padding = (0,) * width
        cells: list[int] = []
        for row in rows:
            cells += row
            cells += padding[len(row) :]
        self.rows: IntArray = np.array(cells, dtype=np.int32).reshape(len(rows), width)
        self.proximity = ProximityTable(proximities)

    @property
    def exact(self) -> BoolArray:
        """Which rules are exact."""
        exact: BoolArray = self.rows[:, 0] != NOT_EXACT
        return exact

    def __len__(self) -> int:
        return int(self.exact.sum())
