"""Load YAML while remembering where each mapping value and list item was written.

PyYAML's plain ``safe_load`` forgets positions and silently keeps the last of two equal
keys; config errors must name the line and column, and a repeated key is a mistake.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode


class MarkedDict(dict[Any, Any]):
    """A mapping with the 1-based (line, column) of itself and of each value."""

    line: int
    column: int
    marks: dict[Any, tuple[int, int]]
    duplicates: list[tuple[Any, int, int]]


class MarkedList(list[Any]):
    """A list with the 1-based (line, column) of itself and of each item."""

    line: int
    column: int
    marks: list[tuple[int, int]]


def _mark(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


# libyaml's parser is several times faster on 100k-rule files; the constructors below
# are Python either way.
_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _MarkedLoader(_Base):  # type: ignore[valid-type,misc]
    """SafeLoader whose mappings and sequences carry marks."""


def _construct_mapping(loader: _MarkedLoader, node: MappingNode) -> MarkedDict:
    loader.flatten_mapping(node)
    result = MarkedDict()
    result.line, result.column = _mark(node)
    result.marks = {}
    result.duplicates = []
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        value = loader.construct_object(value_node, deep=True)
        try:
            hash(key)
        except TypeError:
            key = str(key)
        if key in result:
            result.duplicates.append((key, *_mark(key_node)))
        result[key] = value
        result.marks[key] = _mark(value_node)
    return result


def _construct_sequence(loader: _MarkedLoader, node: SequenceNode) -> MarkedList:
    result = MarkedList(loader.construct_object(child, deep=True) for child in node.value)
    result.line, result.column = _mark(node)
    result.marks = [_mark(child) for child in node.value]
    return result


_MarkedLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_MarkedLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def load_marked(text: str) -> Any:
    """Parse one YAML document; raises :class:`yaml.YAMLError` on malformed input."""
    return yaml.load(text, Loader=_MarkedLoader)  # noqa: S506 - a SafeLoader subclass


def mark_of(container: object, key: object) -> tuple[int | None, int | None]:
    """(line, column) of ``container[key]`` when known."""
    if isinstance(container, MarkedDict) and key in container.marks:
        return container.marks[key]
    if isinstance(container, MarkedList) and isinstance(key, int) and key < len(container.marks):
        return container.marks[key]
    if isinstance(container, MarkedDict | MarkedList):
        return container.line, container.column
    return None, None
