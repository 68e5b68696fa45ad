"""What the matcher reads of an article: per-field tokens, stems and lazy indexes.

The tokens and stems are the article's :class:`~newsalert.analysed.AnalysedArticle`
(shared with dedupe and explanations); the indexes over them belong to matching.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import compress

from newsalert.analysed import AnalysedArticle, AnalysedText, analyse
from newsalert.models import Article
from newsalert.rules.language.model import FIELDS
from newsalert.text import Stemmer

#: Shared empty result (callers never mutate position lists).
_NO_POSITIONS: list[int] = []


@dataclass(slots=True)
class FieldText:
    """The tokens of one field and, built on first use, lookup structures over them."""

    analysed: AnalysedText = field(repr=False)
    text: str
    tokens: list[str]
    _stems: list[str] | None = field(default=None, repr=False)
    _stem_set: frozenset[str] | None = field(default=None, repr=False)
    _token_set: frozenset[str] | None = field(default=None, repr=False)
    _stem_positions: dict[str, list[int]] | None = field(default=None, repr=False)
    _indexed: frozenset[str] | set[str] | None = field(default=None, repr=False)
    _wanted: set[str] | None = field(default=None, repr=False)
    _prefix_positions: dict[str, list[int]] = field(default_factory=dict, repr=False)
    _sorted_tokens: list[str] | None = field(default=None, repr=False)

    @classmethod
    def of(cls, text: str | AnalysedText, stemmer: Stemmer | None = None) -> FieldText:
        """The field of ``text`` (analysed now, with ``stemmer``, unless it already is)."""
        analysed = text if isinstance(text, AnalysedText) else AnalysedText(text, stemmer=stemmer)
        return cls(analysed, analysed.text, analysed.tokens)

    @property
    def stemmer(self) -> Stemmer:
        """The stemmer of the field's analysis (the index stems tokens new to it with it)."""
        return self.analysed.stemmer

    @property
    def stems(self) -> list[str]:
        """The stem of each token, in order (computed on first use: the index works
        from tokens and needs stems only to verify some rules)."""
        if self._stems is None:
            self._stems = self.analysed.stems
        return self._stems

    @property
    def stem_set(self) -> frozenset[str]:
        """Every distinct stem of the field."""
        if self._stem_set is None:
            self._stem_set = frozenset(self.stems)
        return self._stem_set

    @property
    def token_set(self) -> frozenset[str]:
        """Every distinct case-folded token of the field."""
        if self._token_set is None:
            self._token_set = frozenset(self.tokens)
        return self._token_set

    def stem_positions(self, stem: str) -> list[int]:
        """Sorted token positions whose stem is ``stem``."""
        index = self._stem_positions
        if index is None:
            wanted = self._wanted
            index = self._index_positions(wanted if wanted and stem in wanted else None)
        elif self._indexed is not None and stem not in self._indexed:
            index = self._index_positions(None)
        return index.get(stem, _NO_POSITIONS)

    def index_positions(self, wanted: set[str]) -> None:
        """Index only the positions of ``wanted`` stems, on first use.

        A matcher that knows which stems its candidate rules will ask positions for
        indexes only those, at C speed for the other tokens: a full index costs a
        Python step per token. Asking for a stem outside ``wanted`` falls back to the
        full index, so this is only ever an optimisation.
        """
        if self._stem_positions is None:
            self._wanted = wanted

    def _index_positions(self, wanted: set[str] | None) -> dict[str, list[int]]:
        index: dict[str, list[int]] = {}
        stems = self.stems
        positions: Iterable[int] = range(len(stems))
        if wanted is not None:
            positions = compress(positions, map(wanted.__contains__, stems))
        for position in positions:
            value = stems[position]
            bucket = index.get(value)
            if bucket is None:
                index[value] = [position]
            else:
                bucket.append(position)
        self._stem_positions = index
        self._indexed = wanted
        return index

    def prefix_positions(self, prefix: str) -> list[int]:
        """Sorted token positions whose (unstemmed) token starts with ``prefix``."""
        found = self._prefix_positions.get(prefix)
        if found is None:
            # The distinct tokens with the prefix sit together in sorted order: only they
            # are tested in Python, then the positions of those tokens are picked in C.
            # (Explaining samples asks for dozens of prefixes per article.)
            distinct = self._sorted_tokens
            if distinct is None:
                distinct = self._sorted_tokens = sorted(self.token_set)
            start = end = bisect_left(distinct, prefix)
            while end < len(distinct) and distinct[end].startswith(prefix):
                end += 1
            if start == end:
                found = _NO_POSITIONS
            else:
                tokens = self.tokens
                wanted = frozenset(distinct[start:end])
                found = list(compress(range(len(tokens)), map(wanted.__contains__, tokens)))
            self._prefix_positions[prefix] = found
        return found


@dataclass(slots=True)
class Document:
    """What the matcher sees of an article: its text fields, language and source.

    ``language`` and ``source`` are case-folded (``None`` when the article has none).
    """

    id: str
    fields: dict[str, FieldText]
    language: str | None = None
    source: str | None = None

    @classmethod
    def from_article(
        cls, article: Article | AnalysedArticle, stemmer: Stemmer | None = None
    ) -> Document:
        """Normalise ``article`` once; every rule then reads the same tokens.

        ``stemmer``: the stemmer of a caller that matches many articles (see
        :class:`~newsalert.analysed.AnalysedArticle`); not used when ``article`` is
        analysed already.
        """
        return cls.from_analysed(analyse(article, stemmer))

    @classmethod
    def from_analysed(cls, analysed: AnalysedArticle) -> Document:
        """The document of an analysed article (its tokens and stems, not cut again)."""
        article = analysed.article
        return cls(
            id=article.id,
            fields={"title": FieldText.of(analysed.title), "body": FieldText.of(analysed.body)},
            language=article.language.casefold() if article.language else None,
            source=article.source.casefold() if article.source else None,
        )

    @classmethod
    def from_text(
        cls,
        *,
        title: str = "",
        body: str = "",
        id: str = "",
        language: str | None = None,
        source: str | None = None,
        stemmer: Stemmer | None = None,
    ) -> Document:
        """A document from raw field texts (tests, ``rules explain --text``)."""
        stemmer = Stemmer() if stemmer is None else stemmer
        return cls(
            id=id,
            fields={"title": FieldText.of(title, stemmer), "body": FieldText.of(body, stemmer)},
            language=language.casefold() if language else None,
            source=source.casefold() if source else None,
        )

    def all_stems(self) -> set[str]:
        """Distinct stems over every field."""
        result: set[str] = set()
        for name in FIELDS:
            text = self.fields.get(name)
            if text is not None:
                result.update(text.stems)
        return result

    def all_bigrams(self, separator: str, heads: frozenset[str] | None = None) -> set[str]:
        """Adjacent stem pairs (``a + separator + b``) of every field.

        With ``heads``, only the pairs whose first stem is one of them (the pairs an
        index can know), selected at C speed.
        """
        result: set[str] = set()
        for name in FIELDS:
            text = self.fields.get(name)
            if text is not None and len(text.stems) > 1:
                pairs: Iterator[tuple[str, str]] = zip(text.stems, text.stems[1:], strict=False)
                if heads is not None:
                    pairs = compress(pairs, map(heads.__contains__, text.stems))
                result.update(map(separator.join, pairs))
        return result

    def all_tokens(self) -> set[str]:
        """Distinct case-folded tokens over every field."""
        result: set[str] = set()
        for name in FIELDS:
            text = self.fields.get(name)
            if text is not None:
                result.update(text.tokens)
        return result
