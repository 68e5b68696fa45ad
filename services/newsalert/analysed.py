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
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

from newsalert.models import Article
from newsalert.text import (
    Sentence,
    sentences,
    stems,
    token_spans,
    tokenize,
    tokens_of_sentences,
)


@dataclass(frozen=True)
class AnalysedText:
    """One field's text cut for matching. The lists are shared: never mutate them."""

    text: str
    #: The tokens when already known (equal to ``tokenize(text)``).
    known_tokens: list[str] | None = field(default=None, repr=False, compare=False)

    @cached_property
    def tokens(self) -> list[str]:
        """:func:`~newsalert.text.tokenize` of the text."""
        return tokenize(self.text) if self.known_tokens is None else self.known_tokens

    @cached_property
    def stems(self) -> list[str]:
        """The stem of each token, in order."""
        return stems(self.tokens)

    @cached_property
    def spans(self) -> list[tuple[str, int, int]]:
        """:func:`~newsalert.text.token_spans` of the text (offsets for explanations)."""
        return token_spans(self.text)


@dataclass(frozen=True)
class AnalysedArticle:
    """An :class:`Article` with its text cut for matching and dedupe (each part once)."""

    article: Article

    @cached_property
    def title(self) -> AnalysedText:
        """The title, cut for matching."""
        return AnalysedText(self.article.title)

    @cached_property
    def body(self) -> AnalysedText:
        """The body, cut for matching.

        When its dedupe sentences were cut already (the pipeline checks dedupe before it
        matches), the tokens are taken from them where the two cuts agree.
        """
        body = self.article.body
        cut: tuple[Sentence, ...] | None = self.__dict__.get("sentences")
        if cut is None or not body:
            return AnalysedText(body)
        return AnalysedText(body, tokens_of_sentences(body, cut))

    @cached_property
    def sentences(self) -> tuple[Sentence, ...]:
        """Dedupe's sentences of the body, or of the title when the body is empty."""
        article = self.article
        return tuple(sentences(article.body or article.title))

    def body_words(self) -> Iterator[str] | None:
        """The body's words as the exact-duplicate body hash normalises them.

        :func:`~newsalert.text.sentences` splits only at whitespace, so the words of the
        body's sentences in order are exactly the words
        :func:`~newsalert.dedupe.canonical.normalised_text` finds. ``None`` when the body
        is empty (the sentences then came from the title).
        """
        return itertools.chain.from_iterable(self.sentences) if self.article.body else None


def analyse(article: Article | AnalysedArticle) -> AnalysedArticle:
    """``article`` analysed (itself when it already is)."""
    return article if isinstance(article, AnalysedArticle) else AnalysedArticle(article)
