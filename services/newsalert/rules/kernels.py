"""Compiled matching kernels: a document's keys, its candidate rules and their decisions.

The index keeps everything a match needs in flat integer arrays (token table, anchor
postings, key matrices of exact rules, proximity constraints); these functions walk
them in machine code (numba, compiled on first use and cached on disk, GIL released so
matcher threads run in parallel). They are pure: arrays in, arrays out, plus scratch
arrays the caller owns (one set per thread) that every function leaves as it found them.

Conventions shared with the Python side:

* key id 0 is never a key (an empty slot);
* a document is its token indexes (``tokens``), fields one after the other in
  ``FIELDS`` order, field ``f`` spanning ``tokens[bounds[f]:bounds[f + 1]]``;
* an adjacent pair of stems with ids ``a``, ``b`` in field ``f`` is found under the code
  ``(a * size + b) * (fields + 1)`` (a pair key of every field) and that code ``+ f + 1``
  (a pair key of field ``f`` only) in the sorted ``pair_codes``;
* a layout event is ``key << 32 | position``: fields are laid out ``gap + 1`` positions
  apart, so no two tokens of different fields are within any proximity distance.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

from newsalert.rules.arrays import IntArray, OffsetArray

_Function = TypeVar("_Function", bound=Callable[..., Any])

_POSITION_BITS = 32
_POSITION_MASK = (1 << _POSITION_BITS) - 1
#: Exact rule rows (:class:`newsalert.rules.exact.ExactRules`): a literal cell is
#: ``key id << CLAUSE_BITS | clause``; a header is the clause count, with
#: ``PROXIMITY_FLAG`` when the rule has proximity constraints, or ``NOT_EXACT``.
CLAUSE_BITS = 5
_CLAUSE_MASK = (1 << CLAUSE_BITS) - 1
PROXIMITY_FLAG = 1 << 8
NOT_EXACT = -1

Ints = IntArray
Longs = OffsetArray


def _kernel(function: _Function) -> _Function:
    """``function`` compiled to machine code on first call (cached on disk, no GIL)."""
    return cast(_Function, numba.njit(cache=True, nogil=True)(function))


@_kernel
def _add(key: int, present: npt.NDArray[np.bool_], found: Ints, count: int) -> int:
    """Record ``key`` as present (once); returns the new count of ``found``."""
    if key > 0 and not present[key]:
        present[key] = True
        found[count] = key
        return count + 1
    return count


@_kernel
def _add_pairs(
    code: int,
    field: int,
    pair_codes: Longs,
    pair_ids: Ints,
    present: npt.NDArray[np.bool_],
    found: Ints,
    count: int,
) -> int:
    """Add the pair keys of ``code``: of every field (``code``) and of ``field`` only.

    The codes of one stem pair are consecutive (``code``, ``code + 1``, ...): one
    binary search finds them all.
    """
    at = np.searchsorted(pair_codes, code)
    wanted = code + field + 1
    while at < pair_codes.size and pair_codes[at] <= wanted:
        value = pair_codes[at]
        if value in (code, wanted):
            count = _add(pair_ids[at], present, found, count)
        at += 1
    return count


@_kernel
def document_keys(
    tokens: Longs,
    bounds: Longs,
    token_stem: Ints,
    token_key_start: Longs,
    token_keys: Ints,
    token_key_field: npt.NDArray[np.int8],
    pair_first: npt.NDArray[np.bool_],
    pair_codes: Longs,
    pair_ids: Ints,
    size: int,
    present: npt.NDArray[np.bool_],
    found: Ints,
) -> int:
    """Mark the keys of a document in ``present`` and list them in ``found``; returns how many.

    A token's keys (its stem, its wildcard prefixes, those of one field only) are the
    table rows ``token_key_start[t]:token_key_start[t + 1]``, each with the field it
    counts in (-1: every field). Adjacent known stems are looked up as pair codes when
    the first stem starts some pair key (``pair_first``).
    """
    count = 0
    fields = bounds.size - 1
    for field in range(fields):
        previous = 0
        for i in range(bounds[field], bounds[field + 1]):
            token = tokens[i]
            for entry in range(token_key_start[token], token_key_start[token + 1]):
                where = token_key_field[entry]
                if where < 0 or where == field:
                    count = _add(token_keys[entry], present, found, count)
            stem = token_stem[token]
            if previous > 0 and stem > 0 and pair_first[previous]:
                code = (previous * size + stem) * (fields + 1)
                count = _add_pairs(code, field, pair_codes, pair_ids, present, found, count)
            previous = stem
    return count


@_kernel
def clear(present: npt.NDArray[np.bool_], found: Ints, count: int) -> None:
    """Undo :func:`document_keys` on the scratch array ``present``."""
    for i in range(count):
        present[found[i]] = False


@_kernel
def candidate_rules(
    found: Ints,
    count: int,
    offsets: Longs,
    codes: Ints,
    rules: int,
    always: Ints,
    marks: npt.NDArray[np.uint8],
    touched: Ints,
) -> Ints:
    """Sorted numbers of the rules whose two anchor clauses both have a key in ``found``.

    Postings of key ``k`` are ``codes[offsets[k]:offsets[k + 1]]``: a rule number for
    its first clause, rule number + ``rules`` for its second. ``always`` (rules with no
    anchor) are added. ``marks`` (one per rule, zero) and ``touched`` are scratch.
    """
    touches = 0
    for x in range(count):
        key = found[x]
        for j in range(offsets[key], offsets[key + 1]):
            code = codes[j]
            if code < rules:
                rule, bit = code, 1
            else:
                rule, bit = code - rules, 2
            mark = marks[rule]
            if mark == 0:
                touched[touches] = rule
                touches += 1
            marks[rule] = mark | bit
    result = np.empty(touches + always.size, dtype=np.int32)
    n = 0
    for x in range(touches):
        rule = touched[x]
        if marks[rule] == 3:
            result[n] = rule
            n += 1
        marks[rule] = 0
    for rule in always:
        result[n] = rule
        n += 1
    result = result[:n]
    result.sort()
    return result


@_kernel
def layout(
    tokens: Longs, bounds: Longs, token_stem: Ints, token_field_stem: Ints, gap: int
) -> Longs:
    """A document's known stems as sorted events ``key << 32 | position``.

    A token is listed under its stem's id and, when its field has stem keys of its
    own, under that field's id of the stem too.
    """
    events = np.empty(2 * tokens.size, dtype=np.int64)
    n = 0
    base = 0
    for field in range(bounds.size - 1):
        start = bounds[field]
        for i in range(start, bounds[field + 1]):
            position = base + i - start
            token = tokens[i]
            stem = token_stem[token]
            if stem > 0:
                events[n] = (np.int64(stem) << _POSITION_BITS) | position
                n += 1
            own = token_field_stem[field, token]
            if own > 0:
                events[n] = (np.int64(own) << _POSITION_BITS) | position
                n += 1
        base += bounds[field + 1] - start + gap + 1
    events = events[:n]
    events.sort()
    return events


@_kernel
def _near(events: Longs, left: int, right: int, distance: int) -> bool:
    """Whether some occurrence of key ``left`` is within ``distance`` of one of ``right``."""
    i = np.searchsorted(events, np.int64(left) << _POSITION_BITS)
    i_end = np.searchsorted(events, np.int64(left + 1) << _POSITION_BITS)
    j = np.searchsorted(events, np.int64(right) << _POSITION_BITS)
    j_end = np.searchsorted(events, np.int64(right + 1) << _POSITION_BITS)
    while i < i_end and j < j_end:
        a = events[i] & _POSITION_MASK
        b = events[j] & _POSITION_MASK
        if abs(a - b) <= distance:
            return True
        if a < b:
            i += 1
        else:
            j += 1
    return False


@_kernel
def holds(
    rule: int,
    rule_start: Longs,
    key_start: Longs,
    keys: Ints,
    lefts: Ints,
    distances: Longs,
    events: Longs,
) -> bool:
    """Whether every proximity constraint of ``rule`` holds in the laid out document.

    Rule ``r``'s constraints are ``rule_start[r]:rule_start[r + 1]``; constraint ``c``
    lists its keys in ``keys[key_start[c]:key_start[c + 1]]``, the first ``lefts[c]``
    of them on its left side.
    """
    for constraint in range(rule_start[rule], rule_start[rule + 1]):
        start = key_start[constraint]
        middle = start + lefts[constraint]
        distance = distances[constraint]
        found = False
        for a in range(start, middle):
            for b in range(middle, key_start[constraint + 1]):
                if _near(events, keys[a], keys[b], distance):
                    found = True
                    break
            if found:
                break
        if not found:
            return False
    return True


@_kernel
def decide(
    candidates: Ints,
    rows: Ints,
    veto: int,
    present: npt.NDArray[np.bool_],
    rule_start: Longs,
    key_start: Longs,
    keys: Ints,
    lefts: Ints,
    distances: Longs,
    tokens: Longs,
    bounds: Longs,
    token_stem: Ints,
    token_field_stem: Ints,
    gap: int,
) -> tuple[Longs, Ints]:
    """Decide the exact ``candidates`` on the document whose keys are in ``present``.

    ``rows`` are :class:`newsalert.rules.exact.ExactRules` rows. Returns the exact
    rules that fire, ascending, each as ``rule << 16 | mask`` (bit ``l`` of the mask:
    literal ``l`` of its row is present), and the candidates that are not exact (left
    to the compiled checks). The document is laid out for proximity constraints only
    when some rule asks.
    """
    fired = np.empty(candidates.size, dtype=np.int64)
    others = np.empty(candidates.size, dtype=np.int32)
    n_fired = 0
    n_others = 0
    events = np.empty(0, dtype=np.int64)
    laid_out = False
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
                clause = cell & _CLAUSE_MASK
                if clause == veto:
                    vetoed = True
                    break
                satisfied |= 1 << clause
        if vetoed or satisfied != (1 << (header & 0xFF)) - 1:
            continue
        if header & PROXIMITY_FLAG:
            if not laid_out:
                events = layout(tokens, bounds, token_stem, token_field_stem, gap)
                laid_out = True
            if not holds(rule, rule_start, key_start, keys, lefts, distances, events):
                continue
        fired[n_fired] = (np.int64(rule) << 16) | mask
        n_fired += 1
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
    pair_first: npt.NDArray[np.bool_],
    pair_codes: Longs,
    pair_ids: Ints,
    size: int,
    offsets: Longs,
    codes: Ints,
    rules: int,
    always: Ints,
    rows: Ints,
    veto: int,
    rule_start: Longs,
    key_start: Longs,
    keys: Ints,
    lefts: Ints,
    distances: Longs,
    gap: int,
    present: npt.NDArray[np.bool_],
    found: Ints,
    marks: npt.NDArray[np.uint8],
    touched: Ints,
) -> tuple[Ints, Longs, Ints]:
    """One document through every step: keys, candidates, exact decisions.

    Returns ``(candidates, fired, others)`` as :func:`candidate_rules` and
    :func:`decide` do; the scratch arrays are left as they were.
    """
    count = document_keys(
        tokens,
        bounds,
        token_stem,
        token_key_start,
        token_keys,
        token_key_field,
        pair_first,
        pair_codes,
        pair_ids,
        size,
        present,
        found,
    )
    candidates = candidate_rules(found, count, offsets, codes, rules, always, marks, touched)
    fired, others = decide(
        candidates,
        rows,
        veto,
        present,
        rule_start,
        key_start,
        keys,
        lefts,
        distances,
        tokens,
        bounds,
        token_stem,
        token_field_stem,
        gap,
    )
    clear(present, found, count)
    return candidates, fired, others
