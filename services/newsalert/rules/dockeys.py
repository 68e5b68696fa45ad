"""Which of an index's keys a document contains: stems, stem pairs, wildcard prefixes.

Every key the index knows has an integer id (:class:`KeySpace`). A document's keys are
found from its *distinct tokens*: news vocabulary repeats, so each token's key ids (the
id of its stem, the ids of the wildcard prefixes it starts with) are computed once and
cached, and a document costs one dict probe per distinct token and per token (its stem
id), plus one per adjacent pair of known stems (as an integer code). Wildcard
prefixes are found with one Aho-Corasick automaton over every prefix of the rule set.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import chain

import ahocorasick
import numpy as np
import numpy.typing as npt

from newsalert.rules.anchors import BIGRAM_SEP, FIELD_SEP
from newsalert.rules.document import Document, FieldText
from newsalert.rules.proximity import Layout
from newsalert.text import stem

#: Cached tokens before the caches are emptied (bounded memory on endless vocabularies).
_CACHE_LIMIT = 200_000
_NONE: tuple[str, ...] = ()
#: Reads of the caches before giving up (each failed read learns the tokens first).
_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class DocKeys:
    """What a document contains of a key space.

    ``ids``: the known keys present, each once (``id_set``: the same as a set).
    ``positions``: for each non-empty field, the id of each token's stem (0 when
    unknown), in token order; ``field_positions``: the same with the ids of the field's
    own stem keys, for the fields that have some.
    """

    ids: npt.NDArray[np.int64]
    id_set: set[int]
    positions: dict[str, npt.NDArray[np.int64]]
    field_positions: dict[str, npt.NDArray[np.int64]]


def _token_key_ids(
    stem_id: int, prefixes: Iterable[str], prefix_ids: Mapping[str, int]
) -> tuple[int, ...]:
    """A token's key ids: its stem's (``stem_id``, 0 = none) and its known prefixes'."""
    ids = [stem_id]
    ids.extend(prefix_ids.get(prefix, 0) for prefix in prefixes)
    return tuple(filter(None, ids))


class _FieldKeys:
    """Keys that count in one field only: stems, stem pair codes, wildcard prefixes."""

    __slots__ = ("_token_stem", "_tokens", "pairs", "prefixes", "stems")

    def __init__(self) -> None:
        self.stems: dict[str, int] = {}
        self.pairs: dict[int, int] = {}
        self.prefixes: dict[str, int] = {}
        self._tokens: dict[str, tuple[int, ...]] = {}
        self._token_stem: dict[str, int] = {}

    def positions(self, tokens: list[str]) -> npt.NDArray[np.int64]:
        """The id of each token's stem as a key of this field (0 when not one)."""
        cache = self._token_stem
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        try:
            return np.fromiter(map(cache.__getitem__, tokens), dtype=np.int64, count=len(tokens))
        except KeyError:
            # Computed, then cached: never read back (another thread may empty the cache).
            ids = [self.stems.get(stem(token), 0) for token in tokens]
            cache.update(zip(tokens, ids, strict=True))
            return np.array(ids, dtype=np.int64)

    def ids(self, tokens: Iterable[str], token_prefixes: Mapping[str, tuple[str, ...]]) -> set[int]:
        """Ids of this field's keys among ``tokens`` (whose prefixes are known)."""
        cache = self._tokens
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        found: set[int] = set()
        for token in tokens:
            ids = cache.get(token)
            if ids is None:
                stem_id = self.stems.get(stem(token), 0)
                ids = cache[token] = _token_key_ids(stem_id, token_prefixes[token], self.prefixes)
            found.update(ids)
        return found


class KeySpace:
    """Key ids of an index, and the document -> key ids step (cached per token).

    ``stem_ids`` maps stems and stem pairs (``a + BIGRAM_SEP + b``) to ids (both stems
    of every pair must have an id too), ``prefix_ids`` wildcard prefixes to ids (all ids
    > 0 and < ``size``). ``prefixes`` are every wildcard prefix verification may ask
    about (a superset of ``prefix_ids``' keys). Safe to share between threads: the
    caches only gain entries (dict operations are atomic under the GIL; a lost entry
    is simply recomputed).
    """

    __slots__ = (
        "_automaton",
        "_fields",
        "_pair_ids",
        "_prefix_ids",
        "_size",
        "_stem_ids",
        "_token_ids",
        "_token_prefixes",
        "_token_stem",
    )

    def __init__(
        self,
        stem_ids: Mapping[str, int],
        prefix_ids: Mapping[str, int],
        size: int,
        prefixes: Iterable[str] = (),
    ) -> None:
        self._stem_ids = stem_ids
        self._prefix_ids = prefix_ids
        self._size = size
        # Keys of one field only: per field, its stems, pair codes and prefixes.
        self._fields: dict[str, _FieldKeys] = {}
        # A pair of adjacent stems is the code ``first id * size + second id``.
        self._pair_ids: dict[int, int] = {}
        for key, key_id in stem_ids.items():
            name, _, value = key.rpartition(FIELD_SEP)
            keys = self._fields.setdefault(name, _FieldKeys()) if name else None
            if BIGRAM_SEP in value:
                first, second = value.split(BIGRAM_SEP)
                code = stem_ids[first] * size + stem_ids[second]
                (self._pair_ids if keys is None else keys.pairs)[code] = key_id
            elif keys is not None:
                keys.stems[value] = key_id
        every_prefix = set(prefixes)
        for key, key_id in prefix_ids.items():
            name, _, value = key.rpartition(FIELD_SEP)
            every_prefix.add(value)
            if name:
                self._fields.setdefault(name, _FieldKeys()).prefixes[value] = key_id
        self._automaton: ahocorasick.Automaton | None = None
        if every_prefix:
            automaton = ahocorasick.Automaton()
            for prefix in every_prefix:
                automaton.add_word(" " + prefix, prefix)
            automaton.make_automaton()
            self._automaton = automaton
        # Per token: the ids of its keys (its stem, the wildcard prefixes it starts
        # with), those prefixes, and its stem's id (0 when unknown).
        self._token_ids: dict[str, tuple[int, ...]] = {}
        self._token_prefixes: dict[str, tuple[str, ...]] = {}
        self._token_stem: dict[str, int] = {}

    def _learn(self, tokens: Iterable[str]) -> None:
        """Fill the per-token caches for ``tokens``."""
        if len(self._token_ids) >= _CACHE_LIMIT:
            self._token_ids.clear()
            self._token_prefixes.clear()
            self._token_stem.clear()
        for token in tokens:
            if token in self._token_ids:
                continue
            prefixes = self._prefixes_of(token)
            stem_id = self._stem_ids.get(stem(token), 0)
            self._token_prefixes[token] = prefixes
            self._token_stem[token] = stem_id
            self._token_ids[token] = _token_key_ids(stem_id, prefixes, self._prefix_ids)

    def _prefixes_of(self, token: str) -> tuple[str, ...]:
        """The wildcard prefixes ``token`` starts with (uncached)."""
        if self._automaton is None:
            return _NONE
        return tuple({value for _, value in self._automaton.iter(" " + token)})

    def scan(self, doc: Document) -> DocKeys:
        """The known keys of ``doc``."""
        texts = {name: text for name, text in doc.fields.items() if text.tokens}
        tokens: set[str] = set()
        for text in texts.values():
            tokens.update(text.tokens)
        fields = [(keys, texts[name]) for name, keys in self._fields.items() if name in texts]
        for attempt in range(_ATTEMPTS):
            try:
                found = set(chain.from_iterable(map(self._token_ids.__getitem__, tokens)))
                positions = {
                    name: self._stem_positions(text.tokens) for name, text in texts.items()
                }
                for keys, text in fields:
                    found.update(keys.ids(set(text.tokens), self._token_prefixes))
                break
            except KeyError:
                # A token seen for the first time, or caches emptied meanwhile by another
                # thread at their size limit: learn the tokens and read again.
                if attempt == _ATTEMPTS - 1:
                    raise
                self._learn(tokens)
        if self._pair_ids:
            for stems in positions.values():
                found.update(self._pairs(stems, self._pair_ids))
        field_positions = {}
        for name, keys in self._fields.items():
            if name in texts:
                if keys.pairs:
                    found.update(self._pairs(positions[name], keys.pairs))
                if keys.stems:
                    field_positions[name] = keys.positions(texts[name].tokens)
        ids = np.fromiter(found, dtype=np.int64, count=len(found))
        return DocKeys(ids, found, positions, field_positions)

    def _pairs(self, stems: npt.NDArray[np.int64], pair_ids: dict[int, int]) -> Iterable[int]:
        """Ids of the known stem pairs among adjacent ``stems`` (stem ids by position)."""
        if stems.size < 2:
            return ()
        # Only pairs of two known stems can be keys: a vectorised filter first, then
        # one dict probe per remaining pair.
        first, second = stems[:-1], stems[1:]
        codes = (first * self._size + second)[(first > 0) & (second > 0)]
        return filter(None, map(pair_ids.get, codes.tolist()))

    def _stem_positions(self, tokens: list[str]) -> npt.NDArray[np.int64]:
        return np.fromiter(
            map(self._token_stem.__getitem__, tokens), dtype=np.int64, count=len(tokens)
        )

    def field_prefixes(self, text: FieldText) -> set[str]:
        """The known wildcard prefixes some token of the field ``text`` starts with."""
        if self._automaton is None:
            return set()
        tokens = text.token_set
        try:
            return set(chain.from_iterable(map(self._token_prefixes.__getitem__, tokens)))
        except KeyError:
            self._learn(tokens)
            # Computed, not read back from the cache (another thread may empty it).
            return set(chain.from_iterable(map(self._prefixes_of, tokens)))

    @staticmethod
    def layout(keys: DocKeys, gap: int) -> Layout:
        """The document's known stems by position, fields ``gap`` + 1 or more apart.

        A field's positions are listed under its stems' ids, and again under the ids of
        its own stem keys when it has some.
        """
        if not keys.positions:
            return Layout(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), 1)
        parts = []
        coordinates = []
        offset = 0
        for name, stems in keys.positions.items():
            where = np.arange(offset, offset + stems.size, dtype=np.int64)
            parts.append(stems)
            coordinates.append(where)
            own = keys.field_positions.get(name)
            if own is not None:
                parts.append(own)
                coordinates.append(where)
            offset += stems.size + gap + 1
        stems = np.concatenate(parts)
        positions = np.concatenate(coordinates)
        known = np.flatnonzero(stems)
        order = known[np.argsort(stems[known], kind="stable")]
        return Layout(stems[order], positions[order], offset)
