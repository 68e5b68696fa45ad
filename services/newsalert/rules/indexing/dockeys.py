"""Which of an index's keys a document contains: stems, stem pairs, wildcard prefixes.

Every key the index knows has an integer id (:class:`KeySpace`). News vocabulary
repeats, so what a *token* contributes is worked out once, the first time it is seen,
and kept in a token table of flat arrays (:class:`TokenTable`): its stem's id, the ids
of its keys (stem, wildcard prefixes, and those counting in one field only) and, per
field, the id of its stem as a key of that field. A document is then its token
indexes (one dict probe per token) and the compiled kernels
(:mod:`newsalert.rules.indexing.kernels`) read everything else from the arrays: keys present,
adjacent stem pairs (as integer codes in a hash table), positions.
Wildcard prefixes are found with one Aho-Corasick automaton over every prefix of the
rule set.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from itertools import chain, filterfalse
from typing import TypeVar

import ahocorasick
import numpy as np
import numpy.typing as npt

from newsalert.rules.evaluation.document import Document, FieldText
from newsalert.rules.indexing import kernels
from newsalert.rules.indexing.anchors import BIGRAM_SEP, FIELD_SEP
from newsalert.rules.language.model import FIELDS
from newsalert.sizedcache import ENTRY_OVERHEAD
from newsalert.text import Stemmer

#: Tokens learned before the table starts over (bounded memory on endless vocabularies).
_TABLE_LIMIT = 200_000
#: Estimated bytes of a table (its tokens and arrays) before it starts over: long
#: tokens must not hold more memory than many short ones.
_TABLE_BYTES = 32 * 1024 * 1024
#: Rows a new token table starts with (it doubles when full).
_TABLE_CAPACITY = 4096
_NONE: tuple[str, ...] = ()
_FIELD_NUMBER = {name: number for number, name in enumerate(FIELDS)}
#: Field of a token key that counts in every field.
_EVERY_FIELD = -1


class TokenTable:
    """What each learned token contributes to a document, in arrays the kernels read.

    Token ``t`` (``index[token]``): ``stem[t]``, the id of its stem as a key of every
    field (0: not a key); ``field_stem[f, t]``, its stem's id as a key of field ``f``
    only; its key ids ``keys[key_start[t]:key_start[t + 1]]``, each with the field it
    counts in (``key_field``, -1: every field). Row 0 is all zeros and has no keys: it
    is the row of every token that contributes nothing (its stem is no key, it starts
    no wildcard prefix), most of the tokens a news stream brings (numbers, names), so
    those cost a dict entry and no rows. Tokens are only ever added; a token's index is
    published (``index``) after its rows are written, and arrays that grow are copied
    before they are swapped in, so a reader that looked up its tokens first and read
    the arrays after sees every row it needs.
    """

    __slots__ = (
        "bytes",
        "entries",
        "field_stem",
        "index",
        "key_field",
        "key_start",
        "keys",
        "prefixes",
        "rows",
        "stem",
    )

    def __init__(self, capacity: int) -> None:
        self.index: dict[str, int] = {}
        self.prefixes: dict[str, tuple[str, ...]] = {}
        self.stem: npt.NDArray[np.int32] = np.zeros(capacity, dtype=np.int32)
        self.field_stem: npt.NDArray[np.int32] = np.zeros((len(FIELDS), capacity), dtype=np.int32)
        self.key_start: npt.NDArray[np.int64] = np.zeros(capacity + 1, dtype=np.int64)
        self.keys: npt.NDArray[np.int32] = np.zeros(2 * capacity, dtype=np.int32)
        self.key_field: npt.NDArray[np.int8] = np.zeros(2 * capacity, dtype=np.int8)
        self.entries = 0
        #: Rows in use (row 0 is the shared row of the tokens that contribute nothing).
        self.rows = 1
        #: Estimated bytes of the learned tokens (dict entries, strings, prefix tuples)
        #: and of the arrays.
        self.bytes = self._array_bytes()

    def _array_bytes(self) -> int:
        arrays = (self.stem, self.field_stem, self.key_start, self.keys, self.key_field)
        return sum(array.nbytes for array in arrays)

    def add(
        self,
        token: str,
        prefixes: tuple[str, ...],
        stem_id: int,
        field_stems: Sequence[int],
        keys: Sequence[tuple[int, int]],
    ) -> None:
        """Append ``token``'s rows (callers hold the learning lock)."""
        number = self.rows
        before = self._array_bytes()
        if number + 1 >= self.stem.size:
            grown = 2 * self.stem.size
            self.stem = _grown(self.stem, grown)
            self.field_stem = np.concatenate(
                (self.field_stem, np.zeros_like(self.field_stem)), axis=1
            )
            self.key_start = _grown(self.key_start, grown + 1)
        if self.entries + len(keys) > self.keys.size:
            grown = 2 * (self.keys.size + len(keys))
            self.keys = _grown(self.keys, grown)
            self.key_field = _grown(self.key_field, grown)
        self.stem[number] = stem_id
        self.field_stem[:, number] = field_stems
        for key_id, field in keys:
            self.keys[self.entries] = key_id
            self.key_field[self.entries] = field
            self.entries += 1
        self.key_start[number + 1] = self.entries
        self.rows = number + 1
        self.prefixes[token] = prefixes
        self.index[token] = number
        self.bytes += self._array_bytes() - before + _token_bytes(token, prefixes)

    def add_inert(self, token: str) -> None:
        """Give ``token``, which contributes nothing, the shared row 0 (callers hold the
        learning lock)."""
        self.prefixes[token] = _NONE
        self.index[token] = 0
        self.bytes += _token_bytes(token, _NONE)

    @property
    def arrays(self) -> kernels.TokenArrays:
        """The table's arrays as the kernels take them (read after looking tokens up)."""
        return kernels.TokenArrays(
            self.stem, self.field_stem, self.key_start, self.keys, self.key_field
        )


def _token_bytes(token: str, prefixes: tuple[str, ...]) -> int:
    # The token string, its entries in ``index`` and ``prefixes``, the prefix tuple.
    return sys.getsizeof(token) + 2 * ENTRY_OVERHEAD + sys.getsizeof(prefixes)


_Array = TypeVar("_Array", npt.NDArray[np.int8], npt.NDArray[np.int32], npt.NDArray[np.int64])


def _grown(array: _Array, size: int) -> _Array:
    result: _Array = np.zeros(size, dtype=array.dtype)
    result[: array.size] = array
    return result


class KeySpace:
    """Key ids of an index, and documents as token indexes into a shared token table.

    ``stem_ids`` maps stems and stem pairs (``a + BIGRAM_SEP + b``) to ids, field keys
    named ``field + FIELD_SEP + value`` (both stems of every pair must have an id of
    their own), ``prefix_ids`` wildcard prefixes to ids (all ids > 0 and < ``size``).
    ``prefixes`` are every wildcard prefix verification may ask about (a superset of
    ``prefix_ids``' keys). Safe to share between threads: tokens are learned under a
    lock, and a full table is replaced by a fresh one, never emptied in place.
    """

    __slots__ = (
        "_automaton",
        "_field_prefixes",
        "_field_stems",
        "_key_stems",
        "_lock",
        "_prefix_ids",
        "_stem_ids",
        "pairs",
        "table",
    )

    def __init__(
        self,
        stem_ids: Mapping[str, int],
        prefix_ids: Mapping[str, int],
        size: int,
        prefixes: Iterable[str] = (),
    ) -> None:
        self._stem_ids: dict[str, int] = {}
        self._prefix_ids: dict[str, int] = {}
        fields = len(FIELDS)
        self._field_stems: list[dict[str, int]] = [{} for _ in FIELDS]
        self._field_prefixes: list[dict[str, int]] = [{} for _ in FIELDS]
        pairs: dict[int, int] = {}
        for key, key_id in stem_ids.items():
            name, _, value = key.rpartition(FIELD_SEP)
            field = _FIELD_NUMBER[name] if name else _EVERY_FIELD
            if BIGRAM_SEP in value:
                first, second = value.split(BIGRAM_SEP)
                code = (stem_ids[first] * size + stem_ids[second]) * (fields + 1)
                pairs[code + field + 1] = key_id
            elif name:
                self._field_stems[field][value] = key_id
            else:
                self._stem_ids[value] = key_id
        every_prefix = set(prefixes)
        for key, key_id in prefix_ids.items():
            name, _, value = key.rpartition(FIELD_SEP)
            every_prefix.add(value)
            if name:
                self._field_prefixes[_FIELD_NUMBER[name]][value] = key_id
            else:
                self._prefix_ids[value] = key_id
        codes = np.fromiter(pairs, dtype=np.int64, count=len(pairs))
        slots, values = kernels.hash_table(
            codes, np.fromiter(pairs.values(), dtype=np.int32, count=len(pairs))
        )
        heads = np.zeros(size, dtype=np.bool_)
        heads[codes // (fields + 1) // size] = True
        self.pairs = kernels.PairArrays(heads, slots, values, size)
        self._automaton: ahocorasick.Automaton | None = None
        if every_prefix:
            automaton = ahocorasick.Automaton()
            for prefix in every_prefix:
                automaton.add_word(" " + prefix, prefix)
            automaton.make_automaton()
            self._automaton = automaton
        #: Every stem that is a key of some field (a token whose stem is none of these and
        #: that starts no wildcard prefix gets the shared row 0).
        self._key_stems = frozenset(self._stem_ids).union(*self._field_stems)
        self._lock = threading.Lock()
        self.table = TokenTable(_TABLE_CAPACITY)

    def _learn(self, table: TokenTable, tokens: Iterable[str], stemmer: Stemmer) -> None:
        """Add the rows of ``tokens`` not yet in ``table`` (stemmed with the stemmer of
        the document they come from: the index keeps no stems of its own)."""
        with self._lock:
            for token in tokens:
                if token in table.index:
                    continue
                prefixes = self._prefixes_of(token)
                value = stemmer.stem(token)
                if not prefixes and value not in self._key_stems:
                    table.add_inert(token)
                    continue
                stem_id = self._stem_ids.get(value, 0)
                keys = [(stem_id, _EVERY_FIELD)] if stem_id else []
                keys.extend(
                    (self._prefix_ids[prefix], _EVERY_FIELD)
                    for prefix in prefixes
                    if prefix in self._prefix_ids
                )
                field_stems = []
                for field, (own_stems, own_prefixes) in enumerate(
                    zip(self._field_stems, self._field_prefixes, strict=True)
                ):
                    own = own_stems.get(value, 0)
                    field_stems.append(own)
                    if own:
                        keys.append((own, field))
                    keys.extend(
                        (own_prefixes[prefix], field)
                        for prefix in prefixes
                        if prefix in own_prefixes
                    )
                table.add(token, prefixes, stem_id, field_stems, keys)

    def _prefixes_of(self, token: str) -> tuple[str, ...]:
        """The wildcard prefixes ``token`` starts with (uncached)."""
        if self._automaton is None:
            return _NONE
        return tuple({value for _, value in self._automaton.iter(" " + token)})

    def tokens(self, doc: Document) -> tuple[TokenTable, kernels.Document]:
        """``doc`` as token indexes of a table: ``(table, document)``."""
        table = self.table
        if len(table.index) >= _TABLE_LIMIT or table.bytes >= _TABLE_BYTES:
            table = self.table = TokenTable(_TABLE_CAPACITY)
        words: list[str] = []
        ends = [0]
        for name in FIELDS:
            text = doc.fields.get(name)
            if text is not None:
                words += text.tokens
            ends.append(len(words))
        bounds = np.array(ends, dtype=np.int64)
        try:
            indexes = np.fromiter(map(table.index.__getitem__, words), np.int64, len(words))
        except KeyError:
            for name in FIELDS:
                text = doc.fields.get(name)
                if text is not None:
                    # Only the new tokens reach Python: the filter runs in C.
                    new = list(filterfalse(table.index.__contains__, text.tokens))
                    self._learn(table, new, text.stemmer)
            indexes = np.fromiter(map(table.index.__getitem__, words), np.int64, len(words))
        return table, kernels.Document(indexes, bounds)

    def field_prefixes(self, text: FieldText) -> set[str]:
        """The known wildcard prefixes some token of the field ``text`` starts with."""
        if self._automaton is None:
            return set()
        tokens = text.token_set
        table = self.table
        try:
            return set(chain.from_iterable(map(table.prefixes.__getitem__, tokens)))
        except KeyError:
            self._learn(table, tokens, text.stemmer)
            return set(chain.from_iterable(map(table.prefixes.__getitem__, tokens)))
