"""A key of the index: what a document must contain for a term to match."""

from __future__ import annotations

from dataclasses import dataclass

from newsalert.rules.indexing.anchors import FIELD_SEP


@dataclass(frozen=True, slots=True)
class Key:
    """A document key: a stem or stem pair (``prefix=False``) or a wildcard prefix.

    With ``field``, the key counts only when it occurs in that field.
    """

    value: str
    prefix: bool = False
    field: str | None = None

    @property
    def name(self) -> str:
        """The key as the index names it (field keys are ``field + FIELD_SEP + value``)."""
        return self.value if self.field is None else self.field + FIELD_SEP + self.value
