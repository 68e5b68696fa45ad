"""What matching returns: one :class:`RuleMatch` per rule that fired."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RuleMatch:
    """A rule fired on a document.

    ``matched`` lists the rule's positive keywords/terms, as the rule wrote them, that
    occur in the document (terms under NOT/``none`` are never listed).
    """

    rule_id: str
    title: str | None
    tags: tuple[str, ...]
    matched: tuple[str, ...]
