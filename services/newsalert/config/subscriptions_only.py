"""The subscriptions of a config, without parsing or compiling its rules (the dispatcher).

The dispatcher needs the subscriptions and, to check their selectors, the rule ids; never
the rules themselves. :func:`load_subscriptions` reads each file's ``rules:`` list as a
stream of YAML events (constant memory, no rule objects), keeping only the rule ids and
where the list is written; the rest of the file (its skeleton, with the list blanked out
character by character so every line and column stays where it was) is parsed as
:mod:`newsalert.config` parses a file, and the subscriptions are validated exactly as
:func:`newsalert.config.load_config` validates them. Problems are raised together as
:class:`~newsalert.rules.RuleFileError` with file, line and column.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import yaml
from yaml.events import (
    CollectionEndEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    MappingStartEvent,
    NodeEvent,
    ScalarEvent,
)

from newsalert.config.loader import (
    declared_version,
    existing_config_files,
    mapping_parser,
    parse_config_yaml,
    read_config_file,
)
from newsalert.config.subscriptions import RawSubscription, validate_subscriptions
from newsalert.rules.language.problems import Problem, RuleFileError
from newsalert.subscriptions import Subscription

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_NOT_NEWLINE = re.compile(r"[^\n]")


class _Frame:
    """One open mapping or sequence of the event stream."""

    __slots__ = ("is_map", "key", "want_key")

    def __init__(self, is_map: bool) -> None:
        self.is_map = is_map
        self.want_key = True
        self.key: str | None = None


def scan_rules(text: str) -> tuple[set[str], tuple[int, int] | None] | None:
    """The ids of the top-level ``rules:`` items and the character span of that list.

    ``None`` when the text is not one well-formed YAML document (the caller then parses
    it whole, which reports the problem).
    """
    ids: set[str] = set()
    span: tuple[int, int] | None = None
    stack: list[_Frame] = []
    rules: _Frame | None = None
    documents = 0
    try:
        for event in yaml.parse(text, Loader=_LOADER):
            if isinstance(event, DocumentStartEvent):
                documents += 1
                if documents > 1:
                    return None
            if isinstance(event, CollectionEndEvent):
                frame = stack.pop()
                if frame is rules:
                    span = (span[0] if span else 0, _index(event.end_mark))
                continue
            if not isinstance(event, NodeEvent):
                continue
            key, is_value = None, False
            if stack and stack[-1].is_map:
                parent = stack[-1]
                if parent.want_key:
                    parent.key = event.value if isinstance(event, ScalarEvent) else None
                else:
                    key, is_value = parent.key, True
                parent.want_key = not parent.want_key
            depth = len(stack)
            if is_value and depth == 1 and key == "rules" and span is None:
                span = (_index(event.start_mark), _index(event.end_mark))
            elif is_value and depth == 3 and key == "id" and isinstance(event, ScalarEvent):
                ids.update((event.value,) if stack[1] is rules else ())
            if isinstance(event, CollectionStartEvent):
                stack.append(_Frame(isinstance(event, MappingStartEvent)))
                if depth == 1 and is_value and key == "rules":
                    rules = stack[-1]
    except yaml.YAMLError:
        return None
    return ids, span


def _index(mark: object) -> int:
    # Events of a parsed text always carry marks; their index counts characters.
    index = getattr(mark, "index", None)
    if not isinstance(index, int):
        raise yaml.YAMLError("an event without a position")
    return index


def _skeleton(text: str, span: tuple[int, int] | None) -> str:
    # The rules list becomes blanks: "rules:" is then null, every other mark unchanged.
    if span is None:
        return text
    start, end = span
    return text[:start] + _NOT_NEWLINE.sub(" ", text[start:end]) + text[end:]


def load_subscriptions(
    path: str | Path, env: Mapping[str, str] | None = None
) -> tuple[Subscription, ...]:
    """The validated subscriptions of the config at ``path``; raises ``RuleFileError``."""
    problems: list[Problem] = []
    rule_ids: set[str] = set()
    raw_subs: list[RawSubscription] = []
    for file in existing_config_files(Path(path)):
        name = str(file)
        text = read_config_file(file, problems)
        if text is None:
            continue
        scanned = scan_rules(text)
        found: list[Problem] = []
        if scanned is not None:
            ids, span = scanned
            document, marks = parse_config_yaml(_skeleton(text, span), name, found)
        if scanned is None or found:  # parse it whole: its own problems, in its own words
            found = []
            document, marks = parse_config_yaml(text, name, found)
            items = document.get("rules") if isinstance(document, dict) else None
            ids = {r["id"] for r in items or () if isinstance(r, dict) and "id" in r}
        problems.extend(found)
        rule_ids.update(str(rule_id) for rule_id in ids)
        if document is None:
            continue
        parser = mapping_parser(name, document, marks, problems)
        if parser is None or not isinstance(document, dict):
            continue
        declared_version(parser, document, 1)
        subscriptions = document.get("subscriptions")
        if subscriptions is not None and not isinstance(subscriptions, list):
            parser.problem(document, "subscriptions", "subscriptions must be a list", None)
        elif subscriptions:
            raw_subs.extend((name, marks, subscriptions, i) for i in range(len(subscriptions)))
    result = validate_subscriptions(raw_subs, env or {}, rule_ids, problems)
    if problems:
        raise RuleFileError(problems)
    return result
