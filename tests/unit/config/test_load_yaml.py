"""The fast YAML loader: same values as PyYAML, same positions as a marking constructor."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import yaml
from yaml.nodes import MappingNode, SequenceNode

from newsalert.config import yamlmarks
from newsalert.config.yamlmarks import Marks, load_with_marks

Position = tuple[int | None, int | None]


class _Reference(yaml.SafeLoader):
    """PyYAML's own constructor recording each value's position (the slow, obvious way)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.positions: dict[int, dict[Any, Position] | list[Position]] = {}
        self.own: dict[int, Position] = {}
        self.repeated: list[tuple[Any, int, int]] = []


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _reference_mapping(loader: _Reference, node: MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    result: dict[Any, Any] = {}
    marks: dict[Any, Position] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            key = str(key)
        if key in result:
            loader.repeated.append((key, *_mark(key_node)))
        result[key] = loader.construct_object(value_node, deep=True)
        marks[key] = _mark(value_node)
    loader.positions[id(result)] = marks
    loader.own[id(result)] = _mark(node)
    return result


def _reference_sequence(loader: _Reference, node: SequenceNode) -> list[Any]:
    result = [loader.construct_object(child, deep=True) for child in node.value]
    loader.positions[id(result)] = [_mark(child) for child in node.value]
    loader.own[id(result)] = _mark(node)
    return result


_Reference.add_constructor("tag:yaml.org,2002:map", _reference_mapping)
_Reference.add_constructor("tag:yaml.org,2002:seq", _reference_sequence)


def reference(text: str) -> tuple[Any, _Reference]:
    loader = _Reference(text)
    try:
        return loader.get_single_data(), loader
    finally:
        loader.dispose()


def assert_same_positions(new: Any, marks: Marks, old: Any, ref: _Reference) -> None:
    """Every container of the two documents (walked in parallel) has the same marks."""
    assert type(new) is type(old)
    if isinstance(old, dict | list) and id(old) not in ref.positions:
        # Built by PyYAML's own constructor for an explicit tag (!!omap): no marks.
        assert marks.of(new, 0) == (None, None)
        assert new == old
    elif isinstance(old, dict):
        expected = ref.positions[id(old)]
        assert isinstance(expected, dict)
        assert marks.of(new, object()) == ref.own[id(old)]
        for key in old:
            assert marks.of(new, key) == expected[key], key
            assert_same_positions(new[key], marks, old[key], ref)
    elif isinstance(old, list):
        expected_items = ref.positions[id(old)]
        assert isinstance(expected_items, list)
        assert marks.of(new, len(old)) == ref.own[id(old)]
        for index, item in enumerate(old):
            assert marks.of(new, index) == expected_items[index]
            assert_same_positions(new[index], marks, item, ref)
    else:
        assert new == old


DOCUMENTS = [
    "version: 1\nrules:\n  - id: a\n    all: [x, 'y z', \"w\"]\n    window: 3\n",
    "rules:\n- id: b\n  any:\n  - one\n  - {all: [two, three]}\n  none: [four]\n",
    "a: yes\nb: No\nc: on\nd: ~\ne: null\nf: 0x1F\ng: 010\nh: 1_000\ni: 1:30\nj: 3.5\n",
    "k: .inf\nl: 1e3\nm: 2001-12-14\nn: 2001-12-14t21:59:43.10-05:00\no: ''\np:\nq: -7\n",
    "base: &b {window: 4, fields: [title]}\nrule:\n  <<: *b\n  window: 9\n  id: c\n",
    "list: &l [a, b]\nsame: *l\nmerged: {<<: [{x: 1}, {y: 2}], z: 3}\n",
    "tagged: !!str 123\nset: !!set {a, b}\nomap: !!omap [{a: 1}, {b: 2}]\nint: !!int '7'\n",
    "? [a, b]\n: complex key\n? {k: v}\n: mapping key\n=: value key\n1: int key\n",
    "- plain\n- 'quoted'\n- |\n  block\n  text\n- >\n  folded\n  text\n- [nested, [deeper]]\n",
    "text: 'AT&T and ! marks'\nother: [x]\n",
    "",
    "# only a comment\n",
]


@pytest.mark.parametrize("text", DOCUMENTS)
def test_values_equal_the_reference_and_safe_load(text: str) -> None:
    value, _ = load_with_marks(text)
    assert value == reference(text)[0]
    if "? [a, b]" not in text:  # safe_load refuses unhashable keys; the loader names them
        assert value == yaml.safe_load(text)


def test_an_unhashable_key_becomes_its_text() -> None:
    value, _ = load_with_marks(DOCUMENTS[7])
    assert value["['a', 'b']"] == "complex key"
    assert value["{'k': 'v'}"] == "mapping key"
    assert value["="] == "value key"


@pytest.mark.parametrize("text", DOCUMENTS)
def test_positions_equal_the_reference_constructor(text: str) -> None:
    value, marks = load_with_marks(text)
    old, ref = reference(text)
    assert_same_positions(value, marks, old, ref)


def test_types_follow_yaml_1_1_as_pyyaml_does() -> None:
    value, _ = load_with_marks(DOCUMENTS[2] + DOCUMENTS[3])
    assert value["a"] is True
    assert value["c"] is True
    assert value["d"] is None
    assert value["g"] == 8
    assert value["h"] == 1000
    assert value["i"] == 90
    assert value["l"] == "1e3"
    assert value["m"] == datetime.date(2001, 12, 14)


def test_an_alias_is_the_same_object() -> None:
    value, _ = load_with_marks("list: &l [a, b]\nsame: *l\nmap: &m {k: v}\nagain: [*m]\n")
    assert value["list"] is value["same"]
    assert value["again"][0] is value["map"]


@pytest.mark.parametrize(
    "text",
    ["&a [1, *a]\n", "&m {k: *m}\n", "rules:\n  - id: a\n    all: &g [x, {any: *g}]\n"],
)
def test_a_node_inside_itself_is_an_error_as_before(text: str) -> None:
    with pytest.raises(yaml.constructor.ConstructorError) as ours:
        load_with_marks(text)
    with pytest.raises(yaml.constructor.ConstructorError) as theirs:
        reference(text)
    assert ours.value.problem == theirs.value.problem
    assert ours.value.problem == "found unconstructable recursive node"
    mine, reference_mark = ours.value.problem_mark, theirs.value.problem_mark
    assert mine is not None
    assert reference_mark is not None
    assert (mine.line, mine.column) == (reference_mark.line, reference_mark.column)


def test_duplicate_keys_are_recorded_in_document_order_with_positions() -> None:
    text = "a: 1\nb:\n  x: 1\n  y: 2\n  x: 3\na: 2\nc: [{k: 1, k: 2}]\n"
    value, marks = load_with_marks(text)
    _, ref = reference(text)
    assert value == {"a": 2, "b": {"x": 3, "y": 2}, "c": [{"k": 2}]}
    assert marks.repeated_keys(value) == [("a", 6, 1), ("x", 5, 3), ("k", 7, 12)]
    assert sorted(marks.repeated_keys(value)) == sorted(ref.repeated)
    # The last of repeated keys gives the position, as it gives the value.
    assert marks.of(value, "a") == (6, 4)


def test_a_repeated_key_inside_an_overwritten_value_is_not_reported() -> None:
    value, marks = load_with_marks("r:\n  a: 1\n  a: 2\nr: {b: 1}\n")
    assert value == {"r": {"b": 1}}
    assert marks.repeated_keys(value) == [("r", 4, 1)]


def test_containers_not_from_the_document_have_no_position() -> None:
    value, marks = load_with_marks("a: [1]\n")
    assert marks.of({"a": [1]}, "a") == (None, None)
    assert marks.of(value, "a") == (1, 4)
    assert Marks.unknown().of(value, "a") == (None, None)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: [x\n", 2),
        ("a: !!nonsense x\n", 1),
        ("a: =\n", 1),
        ("--- 1\n--- 2\n", 2),
        ("a: *undefined\n", 1),
    ],
)
def test_errors_are_pyyaml_errors_with_a_position(text: str, line: int) -> None:
    with pytest.raises(yaml.YAMLError) as ours:
        load_with_marks(text)
    with pytest.raises(yaml.YAMLError) as theirs:
        yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value)
    mark = getattr(ours.value, "problem_mark", None)
    assert mark is not None
    assert mark.line + 1 == line


@pytest.mark.parametrize(
    "scalar",
    [
        "word",
        "Word",
        "yes",
        "No",
        "on",
        "OFF",
        "~",
        "",
        "null",
        "Null",
        "123",
        "-1",
        ".5",
        "0x1F",
        "1_000",
        "1:30",
        "2001-12-14",
        "=",
        "<<",
        "true",
        "False",
        "x1",
        "éclair",
        ".inf",
        "+3",
        "y",
        "n",
        "ordinary",
        "trade",
    ],
)
def test_scalars_resolve_to_the_tags_pyyaml_gives_them(scalar: str) -> None:
    ours = yamlmarks._Loader("")
    theirs = yaml.SafeLoader("")
    try:
        for implicit in ((True, False), (False, True)):
            expected = theirs.resolve(yaml.ScalarNode, scalar, implicit)  # type: ignore[no-untyped-call]
            assert ours.resolve(yaml.ScalarNode, scalar, implicit) == expected
    finally:
        ours.dispose()
        theirs.dispose()
