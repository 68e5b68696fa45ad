"""Problems found in a config file, and the error that carries all of them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from newsalert.errors import ConfigError
from newsalert.rules.language.model import Location


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem: where (file, line, column), which rule/subscription, and why."""

    location: Location
    reason: str
    item: str | None = None

    def __str__(self) -> str:
        who = f" {self.item}:" if self.item else ""
        return f"{self.location}:{who} {self.reason}"


class RuleFileError(ConfigError):
    """The config file (rules or subscriptions) has one or more problems, all listed.

    ``problems`` holds every problem found, not only the first; ``str(err)`` prints one
    per line.
    """

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the config"
        super().__init__("\n".join([head, *(f"  {p}" for p in self.problems)]))
