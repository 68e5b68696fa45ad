"""Parse one keyword string (``summoned``, ``ambassador summoned``, ``"a b"``, ``summon*``)."""

from __future__ import annotations

from newsalert.errors import NewsalertError
from newsalert.rules.model import Term, TermMode, Word
from newsalert.text import is_token, stem, tokenize

#: Characters a wildcard needs before its ``*``.
MIN_PREFIX = 3


class KeywordError(NewsalertError):
    """A keyword string cannot be parsed; the message is the one-line reason."""


def parse_words(chunk: str) -> list[Word]:
    """The words of one whitespace-free chunk: a wildcard, or its tokens' stems."""
    if "*" in chunk:
        prefix = chunk[:-1]
        if not chunk.endswith("*") or "*" in prefix:
            raise KeywordError(f"{chunk!r}: '*' is only allowed at the end of a word")
        if not is_token(prefix):
            raise KeywordError(f"{chunk!r}: a wildcard must be one word of letters and digits")
        if len(prefix) < MIN_PREFIX:
            raise KeywordError(
                f"{chunk!r}: a wildcard needs at least {MIN_PREFIX} characters before '*'"
            )
        return [Word(prefix.casefold(), prefix=True)]
    return [Word(stem(token)) for token in tokenize(chunk)]


def make_term(
    text: str, words: list[Word], *, quoted: bool, window: int, fields: tuple[str, ...]
) -> Term:
    """A term of ``words``: one word, a phrase (``quoted``) or a window keyword."""
    if not words:
        raise KeywordError(f"{text!r} contains no word (letters or digits)")
    mode: TermMode = "word" if len(words) == 1 else ("phrase" if quoted else "window")
    return Term(words=tuple(words), mode=mode, window=window, fields=fields, text=text)


def parse_keyword(text: str, *, window: int, fields: tuple[str, ...]) -> Term:
    """Parse a keyword as written in ``all``/``any``/``none``.

    Unquoted words must all occur within ``window`` tokens, in any order; a keyword
    wrapped in double quotes is a phrase. Wildcards (``word*``) may appear anywhere.
    """
    stripped = text.strip()
    if not stripped:
        raise KeywordError("empty keyword")
    quoted = len(stripped) >= 2 and stripped[0] == stripped[-1] == '"'
    inner = stripped[1:-1] if quoted else stripped
    if '"' in inner:
        raise KeywordError(f"{text!r}: double quotes must enclose the whole keyword")
    words: list[Word] = []
    for chunk in inner.split():
        words.extend(parse_words(chunk))
    return make_term(text, words, quoted=quoted, window=window, fields=fields)
