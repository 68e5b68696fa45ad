"""A JSON Schema of the config file, for editors and CI linters (``schemas/config.schema.json``).

The loader in ``newsalert.config`` is the authority (it also checks the query syntax,
duplicate ids and references); this model describes the file's shape so a YAML language
server can complete and flag it while an analyst types. Its defaults, field names and id
pattern are taken from the parser's tables; ``tests/unit/config/test_config_schema.py`` checks
that the key sets of both agree and that both accept and refuse the same shapes.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator

from newsalert.rules.language.model import DEFAULT_WINDOW, FIELDS
from newsalert.rules.language.parse import RULE_ID
from newsalert.subscriptions import Subscription

Field_ = Literal["title", "body"]
#: One field or a non-empty list of them (the loader reads a lone string as a list of one).
Fields = Field_ | Annotated[list[Field_], Field(min_length=1)]
NonEmpty = Annotated[str, Field(min_length=1)]
#: Tags, languages, sources: one non-empty string or a list of them.
Strings = NonEmpty | list[NonEmpty]
Item = Union[str, "Group"]


class Group(BaseModel):
    """A nested group of keywords inside ``all``/``any``/``none``."""

    model_config = ConfigDict(extra="forbid")

    all: list[Item] | None = None
    any: list[Item] | None = None
    none: list[Item] | None = None


class Defaults(BaseModel):
    """Defaults every rule inherits."""

    model_config = ConfigDict(extra="forbid")

    window: int = Field(
        DEFAULT_WINDOW, ge=1, description="Proximity window for multi-word keywords, in tokens."
    )
    fields: Fields = Field(
        list(FIELDS),  # type: ignore[arg-type]  # FIELDS holds exactly the Literal's values
        description="Fields rules look in.",
    )


class RuleDoc(BaseModel):
    """One watch rule (see docs/rules.md). Needs at least one of all, any, query."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=RULE_ID.pattern)
    title: str | None = None
    all: list[Item] | None = Field(None, description="Every item must match.")
    any: list[Item] | None = Field(None, description="At least one item must match.")
    none: list[Item] | None = Field(None, description="No item may match.")
    query: str | None = Field(
        None, description='Boolean query: AND OR NOT ( ) NEAR/n field: "phrase" word*.'
    )
    fields: Fields | None = None
    window: int | None = Field(None, ge=1)
    languages: Strings | None = None
    sources: Strings | None = None
    tags: Strings | None = None


class ConfigFile(BaseModel):
    """The rules-and-subscriptions file."""

    model_config = ConfigDict(extra="forbid", title="newsalert config")

    version: Literal[1] = 1
    defaults: Defaults | None = None
    rules: list[RuleDoc] = Field(default_factory=list)
    subscriptions: list[Subscription] = Field(default_factory=list)

    @field_validator("version", mode="before")
    @classmethod
    def _integer_version(cls, value: object) -> object:
        """``true`` equals ``1`` in Python, not in YAML: refuse it as the loader does."""
        if type(value) is not int:
            raise ValueError(f"version must be the integer 1, not {value!r}")
        return value


Group.model_rebuild()
