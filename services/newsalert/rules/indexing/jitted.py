"""The kernels' machine code: numba functions over the arrays of :mod:`.kernels`.

Imported by :mod:`newsalert.rules.indexing.kernels` when a kernel is first called, never
at start-up: numba is large, and processes that never match (the dispatcher) do not load
it. Compiled on first call per signature, or loaded from numba's disk cache; no GIL
while they run. Kernels call each other directly (numba resolves the callee when it
compiles the caller).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

from newsalert.jitcache import cache_where_writable
from newsalert.rules.indexing.arrays import (
    CLAUSE_BITS,
    CLAUSE_MASK,
    NOT_EXACT,
    PROXIMITY_FLAG,
    VETO,
    Bools,
    Document,
    Ints,
    Longs,
    PairArrays,
    PostingArrays,
    ProximityArrays,
    Scratch,
    TokenArrays,
)

_Function = TypeVar("_Function", bound=Callable[..., Any])

#: Odd 64-bit multiplier of the pair hash table (PCG's; below 2**63 so it is an int64).
_HASH_MULTIPLIER = 6364136223846793005


cache_where_writable(numba.config, Path(__file__).parent)  # before the first compile
_JIT = numba.njit(cache=True, nogil=True)


def _kernel(function: _Function) -> _Function:
    """``function`` compiled to machine code on first call (cached on disk, no GIL)."""
    return cast(_Function, _JIT(function))


@_kernel
def _add(key: int, present: Bools, found: Ints, count: int) -> int:
    """Record ``key`` as present (once); returns the new count of ``found``."""
    if key > 0 and not present[key]:
        present[key] = True
        found[count] = key
        return count + 1
    return count


@_kernel
def _slot(code: int, bits: int) -> int:
    """The home slot of ``code`` in a hash table of ``2 ** bits`` slots (multiplicative
    hashing: the top bits of the wrapped 64-bit product)."""
    slot: int = ((code * _HASH_MULTIPLIER) >> (64 - bits)) & ((1 << bits) - 1)
    return slot


@_kernel
def hash_table(codes: Longs, ids: Ints) -> tuple[Longs, Ints]:
    """An open-addressing table of ``codes`` (all > 0, distinct) -> ``ids``.

    Returns ``(slots, values)``, at most half full; an empty slot holds code 0.
    """
    bits = 1
    while (1 << bits) < 2 * codes.size:
        bits += 1
    slots = np.zeros(1 << bits, dtype=np.int64)
    values = np.zeros(1 << bits, dtype=np.int32)
    for i in range(codes.size):
        at = _slot(codes[i], bits)
        while slots[at] != 0:
            at = (at + 1) & (slots.size - 1)
        slots[at] = codes[i]
        values[at] = ids[i]
    return slots, values


@_kernel
def _lookup(code: int, slots: Longs, values: Ints, bits: int) -> int:
    """The id of ``code`` in a :func:`hash_table` of ``2 ** bits`` slots, 0 when absent."""
    at = _slot(code, bits)
    while True:
        held = slots[at]
        if held == code:
            value: int = values[at]
            return value
        if held == 0:
            return 0
        at = (at + 1) & (slots.size - 1)


@_kernel
def document_keys(
    document: Document, table: TokenArrays, pairs: PairArrays, scratch: Scratch
) -> int:
    """Mark the keys of ``document`` in ``scratch.present`` and list them in
    ``scratch.found``; returns how many.

    A token's keys (its stem, its wildcard prefixes, those of one field only) come from
    its table rows, each counting in its field (or every field). Adjacent known stems are
    looked up as pair codes when the first stem starts some pair key.
    """
    tokens, bounds = document
    stem_of, key_start, keys, key_field = table.stem, table.key_start, table.keys, table.key_field
    heads, slots, values, size = pairs
    present, found = scratch.present, scratch.found
    count = 0
    fields = bounds.size - 1
    bits = 1
    while (1 << bits) < slots.size:
        bits += 1
    for field in range(fields):
        previous = 0
        for i in range(bounds[field], bounds[field + 1]):
            token = tokens[i]
            for entry in range(key_start[token], key_start[token + 1]):
                where = key_field[entry]
                if where < 0 or where == field:
                    count = _add(keys[entry], present, found, count)
            stem = stem_of[token]
            if previous > 0 and stem > 0 and heads[previous]:
                code = (previous * size + stem) * (fields + 1)
                count = _add(_lookup(code, slots, values, bits), present, found, count)
                key = _lookup(code + field + 1, slots, values, bits)
                count = _add(key, present, found, count)
            previous = stem
    return count


@_kernel
def clear(scratch: Scratch, count: int) -> None:
    """Undo :func:`document_keys` on ``scratch.present``."""
    for i in range(count):
        scratch.present[scratch.found[i]] = False


@_kernel
def candidate_rules(postings: PostingArrays, scratch: Scratch, count: int) -> Ints:
    """Sorted numbers of the rules whose two anchor clauses both have a key among the
    first ``count`` of ``scratch.found``.

    First clauses are marked, then second clauses collect the marked rules; rules with
    no anchor are added.
    """
    bounds, codes = postings.bounds, postings.codes
    found, marks, touched = scratch.found, scratch.marks, scratch.touched
    touches = 0
    for x in range(count):
        key = 2 * found[x]
        for j in range(bounds[key], bounds[key + 1]):
            rule = codes[j]
            if marks[rule] == 0:
                marks[rule] = 1
                touched[touches] = rule
                touches += 1
    result = np.empty(touches + postings.always.size, dtype=np.int32)
    n = 0
    for x in range(count):
        key = 2 * found[x]
        for j in range(bounds[key + 1], bounds[key + 2]):
            rule = codes[j]
            if marks[rule] == 1:
                marks[rule] = 2
                result[n] = rule
                n += 1
    for x in range(touches):
        marks[touched[x]] = 0
    for rule in postings.always:
        result[n] = rule
        n += 1
    result = result[:n]
    result.sort()
    return result


@_kernel
def _positions(
    wanted: Ints, slot_of: Ints, document: Document, table: TokenArrays, gap: int
) -> tuple[Longs, Longs]:
    """Positions of the ``wanted`` keys (``slot_of[key]``: 1 + the key's place in it).

    Key ``wanted[s]`` occurs at ``positions[starts[s]:starts[s + 1]]``, ascending. A
    token counts under its stem's id and, when its field has stem keys of its own,
    under that field's id of the stem; fields are laid out ``gap + 1`` apart.
    """
    tokens, bounds = document
    stem_of, field_stem = table.stem, table.field_stem
    starts = np.zeros(wanted.size + 1, dtype=np.int64)
    fields = bounds.size - 1
    for field in range(fields):
        for i in range(bounds[field], bounds[field + 1]):
            token = tokens[i]
            slot = slot_of[stem_of[token]]
            if slot:
                starts[slot] += 1
            slot = slot_of[field_stem[field, token]]
            if slot:
                starts[slot] += 1
    for s in range(wanted.size):
        starts[s + 1] += starts[s]
    positions = np.empty(starts[-1], dtype=np.int64)
    filled = starts[:-1].copy()
    base = 0
    for field in range(fields):
        start = bounds[field]
        for i in range(start, bounds[field + 1]):
            token = tokens[i]
            slot = slot_of[stem_of[token]]
            if slot:
                positions[filled[slot - 1]] = base + i - start
                filled[slot - 1] += 1
            slot = slot_of[field_stem[field, token]]
            if slot:
                positions[filled[slot - 1]] = base + i - start
                filled[slot - 1] += 1
        base += bounds[field + 1] - start + gap + 1
    return positions, starts


@_kernel
def _near(a: Longs, b: Longs, distance: int) -> bool:
    """Whether some value of ``a`` is within ``distance`` of some value of ``b`` (both
    ascending): a merge walk."""
    i = 0
    j = 0
    while i < a.size and j < b.size:
        if abs(a[i] - b[j]) <= distance:
            return True
        if a[i] < b[j]:
            i += 1
        else:
            j += 1
    return False


@_kernel
def holding(
    rules: Ints,
    proximity: ProximityArrays,
    document: Document,
    table: TokenArrays,
    slot_of: Ints,
) -> Bools:
    """Whether each of ``rules`` has all its proximity constraints holding in ``document``.

    Only the keys these rules ask about are located (``slot_of``: scratch, one per key
    id, zero, left zero).
    """
    rule_start, key_start, keys = proximity.rule_start, proximity.key_start, proximity.keys
    total = 0
    for rule in rules:
        total += key_start[rule_start[rule + 1]] - key_start[rule_start[rule]]
    wanted = np.empty(total, dtype=np.int32)
    n = 0
    for rule in rules:
        for entry in range(key_start[rule_start[rule]], key_start[rule_start[rule + 1]]):
            key = keys[entry]
            if slot_of[key] == 0:
                wanted[n] = key
                n += 1
                slot_of[key] = n
    wanted = wanted[:n]
    positions, starts = _positions(wanted, slot_of, document, table, proximity.gap)
    held = np.zeros(rules.size, dtype=np.bool_)
    for x in range(rules.size):
        rule = rules[x]
        held[x] = True
        for constraint in range(rule_start[rule], rule_start[rule + 1]):
            start = key_start[constraint]
            middle = start + proximity.lefts[constraint]
            found = False
            for a in range(start, middle):
                slot = slot_of[keys[a]] - 1
                left = positions[starts[slot] : starts[slot + 1]]
                for b in range(middle, key_start[constraint + 1]):
                    slot = slot_of[keys[b]] - 1
                    right = positions[starts[slot] : starts[slot + 1]]
                    if _near(left, right, proximity.distances[constraint]):
                        found = True
                        break
                if found:
                    break
            if not found:
                held[x] = False
                break
    for key in wanted:
        slot_of[key] = 0
    return held


@_kernel
def decide(
    candidates: Ints,
    rows: Ints,
    proximity: ProximityArrays,
    document: Document,
    table: TokenArrays,
    scratch: Scratch,
) -> tuple[Longs, Ints]:
    """Decide the exact ``candidates`` on ``document``, whose keys are in
    ``scratch.present``.

    ``rows`` are :class:`newsalert.rules.indexing.exact.ExactRules` rows. Returns the exact
    rules that fire, ascending, each as ``rule << 16 | mask`` (bit ``l`` of the mask:
    literal ``l`` of its row is present), and the candidates that are not exact (left
    to the compiled checks). Proximity constraints (:func:`holding`) are checked last,
    for the rules whose keys all agree.
    """
    present = scratch.present
    fired = np.empty(candidates.size, dtype=np.int64)
    others = np.empty(candidates.size, dtype=np.int32)
    pending = np.empty(candidates.size, dtype=np.int32)
    pending_masks = np.empty(candidates.size, dtype=np.int64)
    n_fired = 0
    n_others = 0
    n_pending = 0
    width = rows.shape[1] - 1
    for rule in candidates:
        header = rows[rule, 0]
        if header == NOT_EXACT:
            others[n_others] = rule
            n_others += 1
            continue
        satisfied = 0
        mask = 0
        vetoed = False
        for literal in range(width):
            cell = rows[rule, literal + 1]
            if cell == 0:
                break
            if present[cell >> CLAUSE_BITS]:
                mask |= 1 << literal
                clause = cell & CLAUSE_MASK
                if clause == VETO:
                    vetoed = True
                    break
                satisfied |= 1 << clause
        if vetoed or satisfied != (1 << (header & 0xFF)) - 1:
            continue
        if header & PROXIMITY_FLAG:
            pending[n_pending] = rule
            pending_masks[n_pending] = mask
            n_pending += 1
        else:
            fired[n_fired] = (np.int64(rule) << 16) | mask
            n_fired += 1
    if n_pending:
        held = holding(pending[:n_pending], proximity, document, table, scratch.slot_of)
        for x in range(n_pending):
            if held[x]:
                fired[n_fired] = (np.int64(pending[x]) << 16) | pending_masks[x]
                n_fired += 1
        fired[:n_fired].sort()
    return fired[:n_fired], others[:n_others]


@_kernel
def match(
    tokens: Longs,
    bounds: Longs,
    token_stem: Ints,
    token_field_stem: Ints,
    token_key_start: Longs,
    token_keys: Ints,
    token_key_field: npt.NDArray[np.int8],
    pair_first: Bools,
    pair_slots: Longs,
    pair_values: Ints,
    size: int,
    posting_bounds: Longs,
    codes: Ints,
    always: Ints,
    rows: Ints,
    rule_start: Longs,
    constraint_key_start: Longs,
    constraint_keys: Ints,
    lefts: Ints,
    distances: Longs,
    gap: int,
    present: Bools,
    found: Ints,
    marks: npt.NDArray[np.uint8],
    touched: Ints,
    slot_of: Ints,
) -> tuple[Ints, Longs, Ints]:
    """One document through every step: keys, candidates, exact decisions.

    Takes the fields of the structures in the order
    :class:`newsalert.rules.indexing.kernels.Matcher` flattens them (the only caller).
    Returns ``(candidates, fired, others)`` as :func:`candidate_rules` and
    :func:`decide` do; the scratch arrays are left as they were.
    """
    document = Document(tokens, bounds)
    table = TokenArrays(token_stem, token_field_stem, token_key_start, token_keys, token_key_field)
    pairs = PairArrays(pair_first, pair_slots, pair_values, size)
    postings = PostingArrays(posting_bounds, codes, always)
    proximity = ProximityArrays(
        rule_start, constraint_key_start, constraint_keys, lefts, distances, gap
    )
    scratch = Scratch(present, found, marks, touched, slot_of)
    count = document_keys(document, table, pairs, scratch)
    candidates = candidate_rules(postings, scratch, count)
    fired, others = decide(candidates, rows, proximity, document, table, scratch)
    clear(scratch, count)
    return candidates, fired, others
