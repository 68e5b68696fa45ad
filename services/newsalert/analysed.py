"""An article's text analysed once, for matching, dedupe and explanations alike.

:class:`AnalysedArticle` is built at the edge (the pipeline both the matcher and the
backtest feed) and handed to the rules (their :class:`~newsalert.rules.Document`), the
dedupe store (exact digests, edge sentences, fingerprint) and explanations. It holds the
two cuts of :mod:`newsalert.text`, each exactly as its consumer defines it: per field,
the matching tokens, their stems and their character spans; and the dedupe sentences of
the body (of the title when the body is empty), whose words are also what the body hash
covers. Each part is computed on first use and then kept, so an article the store skips
as a redelivery is never tokenised, and one only matched is never cut into sentences;
where the two cuts agree (ASCII text without underscores), the body's tokens are the
words of its sentences instead of a second pass over the text.

Stems come from the :class:`~newsalert.text.Stemmer` the builder passes: the article
pipeline owns one for the life of the matcher or the backtest run, so news vocabulary is
stemmed once, not once per article. An article analysed without one gets a fresh stemmer
of its own (the same stems, computed anew).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from newsalert.models import Article
from newsalert.text import (
    Sentence,
    Stemmer,
    sentences,
    token_spans,
    tokenize,
    tokens_of_sentences,
)


class AnalysedText:
    """One field's text cut for matching. The lists are shared: never mutate them.

    Each part is computed on first use and then fixed (slots rather than
    ``functools.cached_property``, whose lock costs more than the work for short texts).
    """

    __slots__ = ("_spans", "_stems", "_tokens", "stemmer", "text")

    def __init__(
        self, text: str, tokens: list[str] | None = None, stemmer: Stemmer | None = None
    ) -> None:
        """``tokens``: the tokens when already known (equal to ``tokenize(text)``);
        ``stemmer``: the stemmer of whoever analyses many texts (else a fresh one)."""
        self.text = text
        self.stemmer = Stemmer() if stemmer is None else stemmer
        self._tokens = tokens
        self._stems: list[str] | None = None
        self._spans: list[tuple[str, int, int]] | None = None

    @property
    def tokens(self) -> list[str]:
        """:func:`~newsalert.text.tokenize` of the text."""
        if self._tokens is None:
            self._tokens = tokenize(self.text)
        return self._tokens

    @property
    def stems(self) -> list[str]:
        """The stem of each token, in order."""
        if self._stems is None:
            self._stems = self.stemmer.stems(self.tokens)
        return self._stems

    @property
    def spans(self) -> list[tuple[str, int, int]]:
        """:func:`~newsalert.text.token_spans` of the text (offsets for explanations)."""
        if self._spans is None:
            self._spans = token_spans(self.text)
        return self._spans


class AnalysedArticle:
    """An :class:`Article` with its text cut for matching and dedupe (each part once)."""

    __slots__ = ("_body", "_sentences", "_title", "article", "stemmer")

    def __init__(self, article: Article, stemmer: Stemmer | None = None) -> None:
        """``stemmer``: the stemmer of whoever analyses many articles (else a fresh one)."""
        self.article = article
        self.stemmer = Stemmer() if stemmer is None else stemmer
        self._title: AnalysedText | None = None
        self._body: AnalysedText | None = None
        self._sentences: tuple[Sentence, ...] | None = None

    @property
    def title(self) -> AnalysedText:
        """The title, cut for matching."""
        if self._title is None:
            self._title = AnalysedText(self.article.title, stemmer=self.stemmer)
        return self._title

    @property
    def body(self) -> AnalysedText:
        """The body, cut for matching.

        When its dedupe sentences were cut already (the pipeline checks dedupe before it
        matches), the tokens are taken from them where the two cuts agree.
        """
        if self._body is None:
            body, cut = self.article.body, self._sentences
            known = tokens_of_sentences(body, cut) if cut is not None and body else None
            self._body = AnalysedText(body, known, self.stemmer)
        return self._body

    @property
    def sentences(self) -> tuple[Sentence, ...]:
        """Dedupe's sentences of the body, or of the title when the body is empty."""
        if self._sentences is None:
            article = self.article
            self._sentences = tuple(sentences(article.body or article.title))
        return self._sentences

    def body_words(self) -> Iterator[str] | None:
        """The body's words as the exact-duplicate body hash normalises them.

        :func:`~newsalert.text.sentences` splits only at whitespace, so the words of the
        body's sentences in order are exactly the words
        :func:`~newsalert.dedupe.canonical.normalised_text` finds. ``None`` when the body
        is empty (the sentences then came from the title).
        """
        return itertools.chain.from_iterable(self.sentences) if self.article.body else None


def analyse(article: Article | AnalysedArticle, stemmer: Stemmer | None = None) -> AnalysedArticle:
    """``article`` analysed (itself when it already is) with ``stemmer`` (see
    :class:`AnalysedArticle`)."""
    if isinstance(article, AnalysedArticle):
        return article
    return AnalysedArticle(article, stemmer)
