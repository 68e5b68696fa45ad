"""A JSON Schema of the config file, for editors and CI linters (``schemas/config.schema.json``).

The loader in ``newsalert.config`` is the authority (it also checks the query syntax,
duplicate ids and references); this model describes the file's shape so a YAML language
server can complete and flag it while an analyst types.
"""

from __future__ import annotations

from typing import Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from newsalert.subscriptions import Subscription

Field_ = Literal["title", "body"]
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

    window: int = Field(8, ge=1, description="Proximity window for multi-word keywords, in tokens.")
    fields: list[Field_] = Field(["title", "body"], description="Fields rules look in.")


class RuleDoc(BaseModel):
    """One watch rule (see docs/rules.md). Needs at least one of all, any, query."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    title: str | None = None
    all: list[Item] | None = Field(None, description="Every item must match.")
    any: list[Item] | None = Field(None, description="At least one item must match.")
    none: list[Item] | None = Field(None, description="No item may match.")
    query: str | None = Field(
        None, description='Boolean query: AND OR NOT ( ) NEAR/n field: "phrase" word*.'
    )
    fields: list[Field_] | None = None
    window: int | None = Field(None, ge=1)
    languages: list[str] | None = None
    sources: list[str] | None = None
    tags: list[str] | None = None


class ConfigFile(BaseModel):
    """The rules-and-subscriptions file."""

    model_config = ConfigDict(extra="forbid", title="newsalert config")

    version: Literal[1] = 1
    defaults: Defaults | None = None
    rules: list[RuleDoc] = Field(default_factory=list)
    subscriptions: list[Subscription] = Field(default_factory=list)


Group.model_rebuild()
