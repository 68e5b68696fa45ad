"""Reuse the rules of unchanged rule items when a config file is loaded again.

After an analyst edits one rule, parsing the whole file again is mostly wasted work.
:class:`ItemMemory` remembers, for one file's last good load, the text of each item of
its ``rules:`` list (cut by :mod:`newsalert.config.ruleitems`) and the :class:`Rule` it
produced. An unchanged item gets that very ``Rule`` back (moved to its new line), so the
compile reuses its analysis too; a changed item is parsed alone with its real line
numbers. A remembered rule depends only on its item's text, the file's name and the
defaults (items hold no anchors or aliases): the caller checks the defaults and keeps
one memory per file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from newsalert.config.ruleitems import RuleItems
from newsalert.config.yamlmarks import Marks, load_with_marks
from newsalert.rules.language.model import Location, Rule
from newsalert.rules.language.parse import Defaults, RuleParser
from newsalert.rules.language.problems import Problem

#: One item of a file's rules list: ``(parser, list, index in it, 1-based place in the
#: file's list)`` to parse, or a ``Rule`` reused from an earlier load of the same text.
RawRule = tuple[RuleParser, list[Any], int, int] | Rule

#: Above this share of changed items the file is parsed whole: parsing items one by one
#: costs more per rule, so past this share it is slower than one whole parse
#: (figures in docs/benchmarks.md).
MAX_CHANGED_SHARE = 0.3


class ItemMemory:
    """The rules one file's items produced in its last good load, by item text."""

    __slots__ = ("_rules", "defaults", "file")

    def __init__(
        self, file: str, defaults: Defaults, items: RuleItems, rules: Sequence[Rule]
    ) -> None:
        #: The file these items came from (every remembered location names it).
        self.file = file
        #: The defaults the rules were parsed with: other defaults, other rules.
        self.defaults = defaults
        self._rules: dict[str, tuple[Rule, int]] = dict(
            zip(items.items, zip(rules, items.lines, strict=True), strict=True)
        )

    def __len__(self) -> int:
        return len(self._rules)

    def changed(self, items: RuleItems) -> int:
        """About how many of ``items`` were not seen in the last load (repeats count once)."""
        return len(items.items) - len(self._rules.keys() & items.items)

    def resolve(self, items: RuleItems, problems: list[Problem]) -> list[RawRule] | None:
        """The raw rules of ``items``: remembered rules, and the other items parsed alone.

        ``None`` when an unseen item is not exactly one well-formed list item on its own
        (a YAML error, repeated keys, or a cut that is not right): the whole file must
        then be parsed, which reports YAML problems exactly as a first load does.
        Problems of the new items' rules are appended to ``problems`` by their parsers.
        """
        known = self._rules
        result: list[RawRule] = []
        for number, (text, line) in enumerate(zip(items.items, items.lines, strict=True), 1):
            hit = known.get(text)
            if hit is not None:
                rule, old_line = hit
                result.append(rule if old_line == line else moved(rule, line - old_line))
                continue
            parsed = _parse_item(text, line)
            if parsed is None:
                return None
            value, marks = parsed
            result.append((RuleParser(self.file, problems, marks), value, 0, number))
        return result


def _parse_item(text: str, line: int) -> tuple[list[Any], Marks] | None:
    try:
        value, marks = load_with_marks(text, line_offset=line)
    except yaml.YAMLError:
        return None
    if not isinstance(value, list) or len(value) != 1 or marks.repeated_keys(value):
        return None
    return value, marks


#: The fields of a rule, in order (:func:`moved` copies them all; a test keeps it true).
RULE_FIELDS = (
    "id",
    "expr",
    "title",
    "tags",
    "fields",
    "window",
    "languages",
    "sources",
    "location",
)


def moved(rule: Rule, lines: int) -> Rule:
    """``rule`` written ``lines`` lines further down: the same values, expression included.

    Calls the constructor directly: ``dataclasses.replace`` is slower, and one line added
    near the top of a large file moves every rule below it.
    """
    where = rule.location
    if where is None or where.line is None:
        return rule
    return Rule(
        rule.id,
        rule.expr,
        rule.title,
        rule.tags,
        rule.fields,
        rule.window,
        rule.languages,
        rule.sources,
        Location(where.file, where.line + lines, where.column),
    )
