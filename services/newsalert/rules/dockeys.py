"""Which of an index's keys a document contains: stems, stem pairs, wildcard prefixes.

Every key the index knows has an integer id (:class:`KeySpace`). A document's keys are
found from its *distinct tokens*: news vocabulary repeats, so each token's key ids (the
id of its stem, the ids of the wildcard prefixes it starts with) are computed once and
cached, and a document costs one dict probe per distinct token plus one per adjacent
stem pair whose first stem heads some indexed pair. Wildcard prefixes are found with
one Aho-Corasick automaton over every prefix of the rule set.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from itertools import chain, compress, pairwise

import ahocorasick
import numpy as np
import numpy.typing as npt

from newsalert.rules.anchors import BIGRAM_SEP
from newsalert.rules.document import Document
from newsalert.rules.proximity import Layout
from newsalert.text import stem

#: Cached tokens before the caches are emptied (bounded memory on endless vocabularies).
_CACHE_LIMIT = 200_000
_NONE: tuple[str, ...] = ()


class KeySpace:
    """Key ids of an index, and the document -> key ids step (cached per token).

    ``stem_ids`` maps stems and stem pairs (``a + BIGRAM_SEP + b``) to ids,
    ``prefix_ids`` wildcard prefixes to ids (ids > 0). ``prefixes`` are every wildcard
    prefix verification may ask about (a superset of ``prefix_ids``' keys). Safe to
    share between threads: the caches only gain entries (dict operations are atomic
    under the GIL; a lost entry is simply recomputed).
    """

    __slots__ = (
        "_automaton",
        "_heads",
        "_pair_ids",
        "_prefix_ids",
        "_stem_ids",
        "_token_stem",
        "_tokens",
    )

    def __init__(
        self,
        stem_ids: Mapping[str, int],
        prefix_ids: Mapping[str, int],
        prefixes: Iterable[str] = (),
    ) -> None:
        self._stem_ids = stem_ids
        self._prefix_ids = prefix_ids
        # Pairs are probed as tuples of interned stems: no string is built per pair.
        self._pair_ids: dict[tuple[str, str], int] = {}
        for key, key_id in stem_ids.items():
            if BIGRAM_SEP in key:
                first, second = key.split(BIGRAM_SEP)
                # Document stems are interned (newsalert.text): probes hit on identity.
                self._pair_ids[sys.intern(first), sys.intern(second)] = key_id
        self._heads = frozenset(first for first, _ in self._pair_ids)
        self._automaton: ahocorasick.Automaton | None = None
        every_prefix = set(prefixes) | set(prefix_ids)
        if every_prefix:
            automaton = ahocorasick.Automaton()
            for prefix in every_prefix:
                automaton.add_word(" " + prefix, prefix)
            automaton.make_automaton()
            self._automaton = automaton
        # token -> (key ids of the token, wildcard prefixes the token starts with)
        self._tokens: dict[str, tuple[tuple[int, ...], tuple[str, ...]]] = {}
        # token -> id of its stem (0 when the index does not know the stem)
        self._token_stem: dict[str, int] = {}

    def _token(self, token: str) -> tuple[tuple[int, ...], tuple[str, ...]]:
        found = self._tokens.get(token)
        if found is None:
            prefixes = _NONE
            if self._automaton is not None:
                prefixes = tuple({value for _, value in self._automaton.iter(" " + token)})
            stem_id = self._stem_ids.get(stem(token), 0)
            ids = [stem_id]
            ids.extend(self._prefix_ids.get(prefix, 0) for prefix in prefixes)
            found = (tuple(filter(None, ids)), prefixes)
            if len(self._tokens) >= _CACHE_LIMIT:
                self._tokens.clear()
                self._token_stem.clear()
            self._tokens[token] = found
            self._token_stem[token] = stem_id
        return found

    def _tokens_of(self, tokens: Iterable[str]) -> list[tuple[tuple[int, ...], tuple[str, ...]]]:
        try:
            return list(map(self._tokens.__getitem__, tokens))
        except KeyError:
            return list(map(self._token, tokens))

    def ids(self, doc: Document) -> list[int]:
        """Ids of the known keys ``doc`` contains, each once, in no particular order."""
        texts = [text for text in doc.fields.values() if text.tokens]
        tokens: Iterable[str] = (
            texts[0].token_set if len(texts) == 1 else set().union(*(t.token_set for t in texts))
        )
        found = set(chain.from_iterable(ids for ids, _ in self._tokens_of(tokens)))
        if self._pair_ids:
            heads, pair_ids = self._heads, self._pair_ids
            for text in texts:
                stems = text.stems
                pairs = compress(pairwise(stems), map(heads.__contains__, stems))
                found.update(filter(None, map(pair_ids.get, pairs)))
        return list(found)

    def field_prefixes(self, doc: Document) -> dict[str, set[str]]:
        """For each field, the known wildcard prefixes some token of it starts with."""
        if self._automaton is None:
            return {}
        return {
            name: set(chain.from_iterable(p for _, p in self._tokens_of(text.token_set)))
            for name, text in doc.fields.items()
            if text.tokens
        }

    def layout(self, doc: Document, gap: int) -> Layout:
        """The document's known stems by position, fields ``gap`` + 1 or more apart."""
        parts: list[npt.NDArray[np.int32]] = []
        coordinates: list[npt.NDArray[np.int64]] = []
        offset = 0
        for text in doc.fields.values():
            tokens = text.tokens
            if not tokens:
                continue
            try:
                ids = list(map(self._token_stem.__getitem__, tokens))
            except KeyError:
                self._tokens_of(tokens)
                ids = [self._token_stem.get(token, 0) for token in tokens]
            parts.append(np.array(ids, dtype=np.int32))
            coordinates.append(np.arange(offset, offset + len(tokens), dtype=np.int64))
            offset += len(tokens) + gap + 1
        if not parts:
            return Layout(np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64), 1)
        keys = np.concatenate(parts)
        positions = np.concatenate(coordinates)
        known = np.flatnonzero(keys)
        order = known[np.argsort(keys[known], kind="stable")]
        return Layout(keys[order], positions[order], offset)
