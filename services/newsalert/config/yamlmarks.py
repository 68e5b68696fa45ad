"""Load YAML fast while still being able to say where each value was written.

Config errors must name the line and column, and a repeated key is a mistake; PyYAML's
``safe_load`` forgets positions and silently keeps the last of two equal keys. Here
libyaml builds the node tree (which carries every position) and :func:`load_with_marks`
turns it into plain ``dict``/``list`` objects in one tight loop, remembering which node
each container came from; :meth:`Marks.of` reads a position only when one is asked for.

The result equals ``SafeLoader``'s (YAML 1.1 types, anchors, aliases, merge keys, tags),
except that a duplicate key is recorded, an unhashable key becomes its ``str``, and a
document nesting deeper than ``max_depth`` or whose aliases would expand it by more than
``max_alias_nodes`` nodes ("billion laughs") is refused (:class:`YAMLLimitError`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import yaml
from yaml.error import MarkedYAMLError
from yaml.nodes import CollectionNode, MappingNode, Node, ScalarNode, SequenceNode

from newsalert.rules.language.limits import MAX_ALIAS_NODES, MAX_YAML_DEPTH

_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_VALUE = "tag:yaml.org,2002:value"

Position = tuple[int | None, int | None]
_BUILDING = object()  # a node whose value is being built (seen again: it contains itself)

#: libyaml when PyYAML was built with it (much faster), else pure Python.
_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# First characters of a plain scalar that some implicit type (bool, int, null, ...) may
# start with; ``None`` would mean a resolver for every first character.
_TYPED_FIRST: frozenset[str | None] = frozenset(_Base.yaml_implicit_resolvers)


class _Loader(_Base):  # type: ignore[valid-type,misc]
    """The safe loader, resolving most plain scalars (ordinary words) without a regex."""

    def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
        """As PyYAML resolves (this loader adds no path resolvers), quicker for strings."""
        if (
            kind is ScalarNode
            and None not in _TYPED_FIRST
            and (not implicit[0] or (value and value[0] not in _TYPED_FIRST))
        ):
            return _STR  # quoted, or plain starting with no type's first character
        return super().resolve(kind, value, implicit)  # type: ignore[no-any-return]


def _position(node: Node, line_offset: int = 0) -> tuple[int, int]:
    return node.start_mark.line + 1 + line_offset, node.start_mark.column + 1


class YAMLLimitError(MarkedYAMLError):
    """The document is well-formed but too deep or expands too much (with a position)."""

    def __init__(self, problem: str, node: Node) -> None:
        super().__init__(None, None, problem, node.start_mark)


def _children(node: Node) -> list[Node]:
    if type(node) is SequenceNode:
        return node.value  # type: ignore[no-any-return]
    if type(node) is MappingNode:
        return [child for pair in node.value for child in pair]
    return []


def check_expansion(root: Node, max_alias_nodes: int) -> None:
    """Raise :class:`YAMLLimitError` when aliases expand ``root`` by more than the limit.

    One pass over the composed node graph (each node once, iteratively): the expanded
    size of a node is one plus that of its children, counted again wherever an alias
    repeats them. A subtree whose expanded size exceeds every node seen so far plus the
    limit proves the whole document does, so a bomb is refused at its innermost layer
    that crosses the limit, before anything is built.
    """
    sizes: dict[int, int] = {}  # id(node) -> expanded size; 0 while being walked
    stack: list[tuple[Node, Iterator[Node]]] = [(root, iter(_children(root)))]
    sizes[id(root)] = 0
    while stack:
        node, pending = stack[-1]
        child = next(pending, None)
        if child is not None:
            if id(child) not in sizes:
                sizes[id(child)] = 0
                stack.append((child, iter(_children(child))))
            continue
        stack.pop()
        # A node inside itself counts once here; the builder reports it.
        size = 1 + sum(sizes[id(child)] or 1 for child in _children(node))
        sizes[id(node)] = size
        if size > len(sizes) + max_alias_nodes:
            raise YAMLLimitError(
                f"aliases expand this value to more than {max_alias_nodes:,} extra values"
                " (the limit)",
                node,
            )


class Marks:
    """Where the mappings and lists of one loaded document were written.

    Holds the document's node tree (dropped with this object) and looks positions up
    on demand. Containers are known by identity, so they must stay alive (they do:
    they are parts of the loaded document).
    """

    __slots__ = ("_key", "_nodes", "duplicates", "line_offset")

    def __init__(
        self,
        nodes: dict[int, Node],
        duplicates: dict[int, list[tuple[Any, int, int]]],
        key: Callable[[Node], Any] | None,
        line_offset: int = 0,
    ) -> None:
        # No reference back from the builder to this object: the node tree must be freed
        # by reference counting with it (a cycle would wait for the cyclic collector,
        # or forever once a big config is frozen out of it).
        self._nodes = nodes
        self._key = key
        #: Added to every line: the parsed text started on this 0-based line of its file.
        self.line_offset = line_offset
        #: id(mapping) -> [(key, line, column)] of each repeated key, in written order.
        self.duplicates = duplicates

    @classmethod
    def unknown(cls) -> Marks:
        """Marks that know no position (a document that could not be parsed)."""
        return cls({}, {}, None)

    def node(self, container: object) -> Node | None:
        """The node ``container`` was built from, when it came from this document."""
        return self._nodes.get(id(container))

    def of(self, container: object, key: object) -> Position:
        """(line, column) of ``container[key]``; of ``container`` itself when absent.

        ``(None, None)`` when ``container`` did not come from this document.
        """
        node = self._nodes.get(id(container))
        if node is None:
            return None, None
        if type(node) is MappingNode and self._key is not None:
            pairs = node.value
            # With repeated keys the last one wins, as it does for the value.
            for key_node, value_node in (
                reversed(pairs) if id(container) in self.duplicates else pairs
            ):
                if type(key_node) is ScalarNode and key_node.tag == _STR:
                    if key_node.value == key:
                        return _position(value_node, self.line_offset)
                elif self._key(key_node) == key:
                    return _position(value_node, self.line_offset)
        elif type(node) is SequenceNode and isinstance(key, int) and 0 <= key < len(node.value):
            return _position(node.value[key], self.line_offset)
        return _position(node, self.line_offset)

    def repeated_keys(self, document: object) -> list[tuple[Any, int, int]]:
        """Every repeated key of mappings reachable from ``document``, in document order.

        Only mappings still part of the document count (a repeated key whose mapping was
        itself overwritten by a later equal key is not reported twice).
        """
        found: list[tuple[Any, int, int]] = []
        if self.duplicates:
            self._walk(document, found, set())
        return found

    def _walk(self, value: object, found: list[tuple[Any, int, int]], seen: set[int]) -> None:
        if isinstance(value, dict | list):
            if id(value) in seen:  # an alias: shared, and may be recursive
                return
            seen.add(id(value))
        if isinstance(value, dict):
            found.extend(self.duplicates.get(id(value), ()))
            for item in value.values():
                self._walk(item, found, seen)
        elif isinstance(value, list):
            for item in value:
                self._walk(item, found, seen)


class _Builder:
    """Builds Python objects from a composed node tree, as ``SafeConstructor`` would."""

    def __init__(
        self,
        loader: yaml.SafeLoader,
        shared: bool,
        line_offset: int = 0,
        max_depth: int = MAX_YAML_DEPTH,
    ) -> None:
        self.loader = loader
        self.line_offset = line_offset
        # Containers being built, innermost last: bounded so that this recursive
        # builder, and every recursive reader of the result, stays far from the
        # interpreter's recursion limit.
        self.depth = 0
        self.max_depth = max_depth
        # Only a document with anchors can reuse a node; then each node is built once
        # (PyYAML semantics: an alias is the same object), a node inside itself is an
        # error (as PyYAML's constructor makes it), merge keys may appear.
        self.memo: dict[Node, Any] | None = {} if shared else None
        self.nodes: dict[int, Node] = {}
        self.duplicates: dict[int, list[tuple[Any, int, int]]] = {}

    def value(self, node: Node) -> Any:
        """The Python value of any node."""
        kind = type(node)
        tag = node.tag
        if kind is ScalarNode:
            if tag == _STR:
                return node.value
            return self._constructed(node)
        if isinstance(node, CollectionNode):
            self.depth += 1
            if self.depth > self.max_depth:
                raise YAMLLimitError(f"nested more than {self.max_depth} levels deep", node)
            try:
                return self._collection(node)
            finally:
                self.depth -= 1
        return self.loader.construct_object(node, deep=True)

    def _collection(self, node: Node) -> Any:
        kind = type(node)
        tag = node.tag
        if kind is MappingNode and tag == _MAP:
            return self.mapping(node)  # type: ignore[arg-type]
        if kind is SequenceNode and tag == _SEQ:
            return self.sequence(node)  # type: ignore[arg-type]
        # Explicit tags such as !!set or !!omap, and unknown ones (an error): PyYAML's.
        return self._constructed(node)

    def _constructed(self, node: Node) -> Any:
        # PyYAML's constructors raise plain Python errors on some malformed input
        # (``!!int ''``: IndexError; an integer over Python's digit limit: ValueError):
        # they become YAML errors with the node's position.
        try:
            return self.loader.construct_object(node, deep=True)
        except (ValueError, IndexError, TypeError, OverflowError) as exc:
            reason = f"cannot read this {str(node.tag).rpartition(':')[2]}"
            if isinstance(node.value, str):
                reason += f" ({len(node.value):,} characters)"
            raise yaml.constructor.ConstructorError(None, None, reason, node.start_mark) from exc

    def key(self, node: Node) -> Any:
        """A mapping key: as :meth:`value`, ``=`` is a string, unhashable keys are str."""
        if type(node) is ScalarNode and node.tag in (_STR, _VALUE):
            return node.value
        key = self.value(node)
        try:
            hash(key)
        except TypeError:
            key = str(key)
        return key

    def mapping(self, node: MappingNode) -> dict[Any, Any]:
        """A mapping node as a dict (merge keys applied, duplicates recorded)."""
        memo = self.memo
        if memo is not None:
            if node in memo:
                return self._built(node, memo)  # type: ignore[no-any-return]
            memo[node] = _BUILDING
            self.loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        self.nodes[id(result)] = node
        value = self.value
        for key_node, value_node in node.value:
            if type(key_node) is ScalarNode and key_node.tag == _STR:
                key = key_node.value
            else:
                key = self.key(key_node)
            if type(value_node) is ScalarNode and value_node.tag == _STR:
                result[key] = value_node.value
            else:
                result[key] = value(value_node)
        if len(result) != len(node.value):
            self._record_duplicates(result, node)
        if memo is not None:
            memo[node] = result
        return result

    @staticmethod
    def _built(node: Node, memo: dict[Node, Any]) -> Any:
        done = memo[node]
        if done is _BUILDING:
            raise yaml.constructor.ConstructorError(
                None, None, "found unconstructable recursive node", node.start_mark
            )
        return done

    def _record_duplicates(self, result: dict[Any, Any], node: MappingNode) -> None:
        seen: set[Any] = set()
        repeated = []
        for key_node, _ in node.value:
            key = self.key(key_node)
            if key in seen:
                repeated.append((key, *_position(key_node, self.line_offset)))
            seen.add(key)
        self.duplicates[id(result)] = repeated

    def sequence(self, node: SequenceNode) -> list[Any]:
        """A sequence node as a list."""
        memo = self.memo
        if memo is not None:
            if node in memo:
                return self._built(node, memo)  # type: ignore[no-any-return]
            memo[node] = _BUILDING
            result: list[Any] = [self.value(child) for child in node.value]
            memo[node] = result
        else:
            value = self.value
            result = [
                child.value if type(child) is ScalarNode and child.tag == _STR else value(child)
                for child in node.value
            ]
        self.nodes[id(result)] = node
        return result


def load_with_marks(
    text: str,
    *,
    line_offset: int = 0,
    max_depth: int = MAX_YAML_DEPTH,
    max_alias_nodes: int = MAX_ALIAS_NODES,
) -> tuple[Any, Marks]:
    """Parse one YAML document: (value, where its parts were written).

    Raises :class:`yaml.YAMLError` (with ``problem_mark``) on malformed input, as
    ``yaml.safe_load`` does, and :class:`YAMLLimitError` past ``max_depth`` levels of
    nesting or ``max_alias_nodes`` values added by aliases. An empty document is
    ``None``. ``line_offset``: ``text`` is a part of a file starting on that 0-based
    line; every reported line is shifted by it (the error's ``problem_mark`` is not).
    """
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, Marks.unknown()
        shared = "&" in text or "<<" in text or "!" in text
        if _may_have_alias(text):  # no alias, no expansion
            check_expansion(root, max_alias_nodes)
        builder = _Builder(loader, shared, line_offset, max_depth)
        value = builder.value(root)
        key = partial(_fresh_key, loader, shared)
        return value, Marks(builder.nodes, builder.duplicates, key, line_offset)
    finally:
        loader.dispose()


# What may come right before an alias: whitespace and line breaks (YAML 1.1 knows NEL,
# LS and PS too), flow indicators, and ":" (a flow value after a quoted key). A false
# positive only costs one walk of the node graph.
_BEFORE_ALIAS = " \t\r\n\x85\u2028\u2029[{,:"


def _may_have_alias(text: str) -> bool:
    # An alias "*name" starts a node, so it follows one of _BEFORE_ALIAS (the "*" of a
    # wildcard keyword such as summon* follows a letter). One str.find
    # per "*": a rule file may hold thousands of wildcards.
    at = text.find("*")
    while at != -1:
        if at == 0 or text[at - 1] in _BEFORE_ALIAS:
            return True
        at = text.find("*", at + 1)
    return False


def _fresh_key(loader: yaml.SafeLoader, shared: bool, node: Node) -> Any:
    # A key rebuilt to find a position: by a throwaway builder, so that the containers of
    # a complex key are not registered as the document's (their ids are soon reused).
    return _Builder(loader, shared).key(node)
