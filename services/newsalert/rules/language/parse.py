"""Turn the ``rules:`` and ``defaults:`` YAML of a config file into :class:`Rule` objects.

Parsing never stops at the first problem: each one is appended to a list with its file,
line, column, rule id and reason, and the caller raises them all together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Protocol

from newsalert.rules.language.keywords import KeywordError, keyword_terms, parse_keyword
from newsalert.rules.language.limits import MAX_DISTANCE, MAX_NESTING, MAX_TERMS_PER_RULE, shown
from newsalert.rules.language.model import (
    DEFAULT_WINDOW,
    FIELDS,
    And,
    Location,
    Node,
    Not,
    Or,
    Rule,
    iter_terms,
)
from newsalert.rules.language.problems import Problem
from newsalert.rules.language.query import QuerySyntaxError, parse_query
from newsalert.sizedcache import SizedCache, text_bytes

RULE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
RULE_KEYS = frozenset(
    {"id", "title", "all", "any", "none", "query", "fields", "window", "languages", "sources"}
    | {"tags"}
)
GROUP_KEYS = ("all", "any", "none")
DEFAULT_KEYS = frozenset({"window", "fields"})
_ABSENT = object()
_FIELD_TUPLES: dict[tuple[str, ...], tuple[str, ...]] = {}
#: Bytes of valid rules kept (by mapping repr and defaults) before the cache is emptied;
#: a rule is estimated at a few times its repr.
RULE_CACHE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Defaults:
    """Values rules inherit unless they set their own."""

    window: int = DEFAULT_WINDOW
    fields: tuple[str, ...] = FIELDS


class Positions(Protocol):
    """Where the values of a loaded document were written (the config loader's marks)."""

    def of(self, container: object, key: object) -> tuple[int | None, int | None]:
        """(line, column) of ``container[key]``; ``(None, None)`` when unknown."""
        ...


_rule_cache: SizedCache[tuple[str, Defaults], Rule] = SizedCache(RULE_CACHE_BYTES)


class RuleParser:
    """Parses rule mappings of one file, collecting problems into ``problems``."""

    def __init__(self, file: str, problems: list[Problem], marks: Positions | None = None) -> None:
        self.file = file
        self.problems = problems
        self.marks = marks

    def where(self, container: object, key: object) -> Location:
        """The location of ``container[key]`` in this file (line/column when known)."""
        if self.marks is None:
            return Location(self.file)
        return Location(self.file, *self.marks.of(container, key))

    def problem(self, container: object, key: object, reason: str, item: str | None) -> None:
        """Record a problem located at ``container[key]``."""
        self.problems.append(Problem(self.where(container, key), reason, item))

    def defaults(self, raw: object, parent: object, inherited: Defaults | None = None) -> Defaults:
        """Parse the ``defaults:`` mapping over ``inherited`` (an earlier file's defaults).

        A key the mapping sets wins, whatever its value (even the built-in default); a key
        it leaves out keeps the inherited value. Problems are recorded and the inherited
        value is kept for the key at fault.
        """
        base = inherited or Defaults()
        if raw is None:
            return base
        if not isinstance(raw, dict):
            self.problem(parent, "defaults", "defaults must be a mapping", None)
            return base
        for key in raw:
            if key not in DEFAULT_KEYS:
                self.problem(raw, key, f"unknown defaults key {shown(key)}", None)
        window = self.window(raw, base.window, None)
        fields = self.fields(raw, base.fields, None)
        return Defaults(window=window, fields=fields)

    def window(self, raw: dict[Any, Any], fallback: int, item: str | None) -> int:
        """The ``window`` of ``raw``: an integer from 1 to :data:`MAX_DISTANCE`."""
        value = raw.get("window", fallback)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DISTANCE:
            reason = f"window must be an integer from 1 to {MAX_DISTANCE}, not {shown(value)}"
            self.problem(raw, "window", reason, item)
            return fallback
        return value

    def fields(
        self, raw: dict[Any, Any], fallback: tuple[str, ...], item: str | None
    ) -> tuple[str, ...]:
        """The ``fields`` of ``raw``: a non-empty list of known field names."""
        value = raw.get("fields")
        if value is None:
            return fallback
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            self.problem(raw, "fields", "fields must be a non-empty list", item)
            return fallback
        unknown = [v for v in value if v not in FIELDS]
        if unknown:
            known = ", ".join(FIELDS)
            reason = f"unknown field(s) {shown(unknown)} (known: {known})"
            self.problem(raw, "fields", reason, item)
            return fallback
        fields = tuple(dict.fromkeys(value))
        # One tuple object per distinct value: rules and terms share it.
        return _FIELD_TUPLES.setdefault(fields, fields)

    def strings(self, raw: dict[Any, Any], key: str, item: str | None) -> tuple[str, ...]:
        """A list of non-empty strings (a single string is accepted as a list of one)."""
        value = raw.get(key)
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.problem(raw, key, f"{key} must be a list of non-empty strings", item)
            return ()
        return tuple(value)

    def rule(
        self,
        raw: object,
        parent: object,
        index: int,
        defaults: Defaults,
        number: int | None = None,
    ) -> Rule | None:
        """Parse one rule mapping, ``parent[index]``; ``None`` when it has problems (all recorded).

        ``number`` is the rule's 1-based place in its file's list, for messages about a
        rule without a valid id (default ``index + 1``: ``parent`` is that whole list).

        A valid rule depends only on its mapping and the defaults, so valid rules are
        cached by the mapping's ``repr`` (unambiguous for YAML's types): reloading a file
        where most rules are unchanged re-validates only the changed ones. A cached rule
        gets this file's location for its id. Invalid rules are never cached.
        """
        number = index + 1 if number is None else number
        if not isinstance(raw, dict):
            self.problem(parent, index, f"rule #{number} must be a mapping", None)
            return None
        key = (repr(raw), defaults)
        cached = _rule_cache.get(key)
        if cached is not None:
            location = self.where(raw, "id")
            return cached if cached.location == location else replace(cached, location=location)
        rule = self._parse_rule(raw, number, defaults, len(key[0]))
        if rule is not None:
            _rule_cache.put(key, rule, text_bytes(key[0]) * 3)
        return rule

    def _parse_rule(
        self, raw: dict[Any, Any], number: int, defaults: Defaults, written: int
    ) -> Rule | None:
        # written: the length of the rule's repr, which spends at least two characters
        # on every keyword or query term.
        before = len(self.problems)
        rule_id = raw.get("id")
        if not isinstance(rule_id, str) or not RULE_ID.match(rule_id):
            reason = f"id {shown(rule_id)} must match [a-z0-9][a-z0-9_-]{{0,63}}"
            self.problem(raw, "id", reason, f"rule #{number}")
            rule_id = None
        item = rule_id or f"rule #{number}"
        if not RULE_KEYS.issuperset(raw):
            for key in raw:
                if key not in RULE_KEYS:
                    self.problem(raw, key, f"unknown rule key {shown(key)}", item)
        title = raw.get("title")
        if title is not None and not isinstance(title, str):
            self.problem(raw, "title", "title must be a string", item)
        # Absent (or null) keys take the (already validated) defaults without a check.
        window = (
            defaults.window
            if raw.get("window") is None
            else self.window(raw, defaults.window, item)
        )
        fields = (
            defaults.fields
            if raw.get("fields") is None
            else self.fields(raw, defaults.fields, item)
        )
        if "all" not in raw and "any" not in raw and "query" not in raw:
            self.problem(raw, "id", "a rule needs at least one of all, any, query", item)
        parts = self.group(raw, window, fields, item)
        query = raw.get("query", _ABSENT)
        if query is not _ABSENT:
            if not isinstance(query, str):
                self.problem(raw, "query", "query must be a string", item)
            else:
                try:
                    parts.append(parse_query(query, window=window, fields=fields))
                except QuerySyntaxError as exc:
                    self.problem(raw, "query", f"query: {exc}", item)
        tags = self.strings(raw, "tags", item) if "tags" in raw else ()
        languages = self.folded(raw, "languages", item) if "languages" in raw else ()
        sources = self.folded(raw, "sources", item) if "sources" in raw else ()
        if len(self.problems) > before or rule_id is None or not parts:
            return None
        expr = parts[0] if len(parts) == 1 else And(tuple(parts))
        terms = sum(1 for _ in iter_terms(expr)) if written > 2 * MAX_TERMS_PER_RULE else 0
        if terms > MAX_TERMS_PER_RULE:
            reason = f"{terms:,} keywords and query terms, more than the limit"
            reason += f" ({MAX_TERMS_PER_RULE:,})"
            self.problem(raw, "id", reason, item)
            return None
        return Rule(
            id=rule_id,
            expr=expr,
            title=title,
            tags=tags,
            fields=fields,
            window=window,
            languages=languages,
            sources=sources,
            location=self.where(raw, "id"),
        )

    def folded(self, raw: dict[Any, Any], key: str, item: str | None) -> tuple[str, ...]:
        """:meth:`strings`, case-folded (languages and sources)."""
        return tuple(v.casefold() for v in self.strings(raw, key, item))

    def group(
        self,
        raw: dict[Any, Any],
        window: int,
        fields: tuple[str, ...],
        item: str,
        depth: int = 0,
    ) -> list[Node]:
        """The nodes of the ``all``/``any``/``none`` keys of a rule or nested group.

        ``depth`` counts the groups around ``raw``; more than :data:`MAX_NESTING` is a
        problem (the expression would outgrow the recursive code that reads it).
        """
        parts: list[Node] = []
        terms = keyword_terms(window, fields)
        for key in GROUP_KEYS:
            value = raw.get(key, _ABSENT)
            if value is _ABSENT:
                continue
            if not isinstance(value, list) or not value:
                self.problem(raw, key, f"{key} must be a non-empty list", item)
                continue
            if len(value) > MAX_TERMS_PER_RULE:
                reason = f"{len(value):,} items, more than the limit ({MAX_TERMS_PER_RULE:,})"
                self.problem(raw, key, reason, item)
                continue
            good: list[Node] = []
            failed = False
            for i, entry in enumerate(value):
                # A keyword seen before (in any rule) is one dict lookup.
                node: Node | None = terms.get(entry) if isinstance(entry, str) else None
                if node is None:
                    node = self.item(value, i, window, fields, item, depth)
                    if node is None:
                        failed = True
                        continue
                good.append(node)
            if failed:
                continue
            if key == "all":
                parts.append(good[0] if len(good) == 1 else And(tuple(good)))
            elif key == "any":
                parts.append(good[0] if len(good) == 1 else Or(tuple(good)))
            else:
                parts.append(Not(good[0] if len(good) == 1 else Or(tuple(good))))
        return parts

    def item(
        self,
        items: list[Any],
        index: int,
        window: int,
        fields: tuple[str, ...],
        item: str,
        depth: int = 0,
    ) -> Node | None:
        """One keyword string or nested group."""
        value = items[index]
        if isinstance(value, str):
            try:
                return parse_keyword(value, window=window, fields=fields)
            except KeywordError as exc:
                self.problem(items, index, str(exc), item)
                return None
        if isinstance(value, dict):
            unknown = [key for key in value if key not in GROUP_KEYS]
            if unknown or not value:
                self.problem(items, index, "a nested group has only all/any/none keys", item)
                return None
            if depth >= MAX_NESTING:
                reason = f"groups nested more than {MAX_NESTING} levels deep"
                self.problem(items, index, reason, item)
                return None
            before = len(self.problems)
            parts = self.group(value, window, fields, item, depth + 1)
            if len(self.problems) > before or not parts:
                return None
            return parts[0] if len(parts) == 1 else And(tuple(parts))
        reason = f"a keyword must be a string or a group, not {shown(value)}"
        self.problem(items, index, reason, item)
        return None
