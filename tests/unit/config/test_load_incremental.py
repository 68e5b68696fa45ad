"""Reloading a rule file item by item gives what a whole-file load gives, faster.

Every test compares :class:`ConfigLoader` (which reuses the rules of unchanged items)
with :func:`load_config` (which parses everything) on the same file: the same rules at
the same locations, or the same problems in the same order. ``loader.report`` tells
whether the item-by-item path was taken.
"""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from newsalert.config import ConfigLoader, load_config, parse_config_text
from newsalert.config.incremental import RULE_FIELDS, moved
from newsalert.config.ruleitems import items_match, split_rule_items
from newsalert.config.yamlmarks import load_with_marks
from newsalert.rules import Document, RuleFileError
from newsalert.rules.language.model import Rule
from newsalert.rulesvc.reload import RuleReloader

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
HEAD = "version: 1\nrules:\n"


def item(n: int, body: str = "all: [word{n}, other thing]") -> str:
    """A block-style rule item ``r<n>`` at indent 0 (``body`` lines indented under it)."""
    lines = body.format(n=n).splitlines()
    return "".join([f"- id: r{n}\n", *(f"  {line}\n" for line in lines)])


def items(count: int) -> list[str]:
    return [item(n) for n in range(count)]


def outcome(load: object) -> tuple[object, ...]:
    """What a load gives: rules with their locations and the rest, or the problems."""
    assert callable(load)
    try:
        config = load()
    except RuleFileError as exc:
        return ("problems", [str(problem) for problem in exc.problems])
    rules = [(rule, rule.location) for rule in config.rules]
    return ("config", rules, config.subscriptions, config.defaults)


class Edits:
    """A config file edited step by step, loaded by one ConfigLoader and checked."""

    def __init__(self, path: Path, text: str, env: dict[str, str] | None = None) -> None:
        self.path = path
        self.env = env or {}
        path.write_text(text, encoding="utf-8")
        self.loader = ConfigLoader(path, self.env)
        self.first = self.load()

    def load(self) -> tuple[object, ...]:
        """Load with the loader, check it equals a whole-file load, return the outcome."""
        got = outcome(self.loader.load)
        assert got == outcome(lambda: load_config(self.path, self.env))
        return got

    def write(self, text: str) -> tuple[object, ...]:
        self.path.write_text(text, encoding="utf-8")
        return self.load()


def rules_of(result: tuple[object, ...]) -> dict[str, Rule]:
    assert result[0] == "config", result
    pairs = result[1]
    assert isinstance(pairs, list)
    return {rule.id: rule for rule, _ in pairs}


def test_an_edited_rule_is_parsed_alone_and_the_others_are_the_same_objects(
    tmp_path: Path,
) -> None:
    rules = items(50)
    edits = Edits(tmp_path / "rules.yaml", HEAD + "".join(rules))
    before = rules_of(edits.first)
    rules[20] = item(20, "all: [changed]")
    after = rules_of(edits.write(HEAD + "".join(rules)))
    assert edits.loader.report.itemised_files == 1
    assert edits.loader.report.items_parsed == 1
    assert after["r20"] is not before["r20"]
    assert after["r20"].positive_terms()[0].text == "changed"
    assert all(after[key] is before[key] for key in before if key != "r20")


def test_added_removed_and_reordered_rules(tmp_path: Path) -> None:
    rules = items(30)
    edits = Edits(tmp_path / "rules.yaml", HEAD + "".join(rules))
    before = rules_of(edits.first)
    rules.insert(5, item(100, "query: summon* NEAR/3 envoy"))  # added: later rules move
    del rules[12]  # removed
    rules[20], rules[3] = rules[3], rules[20]  # reordered
    after = rules_of(edits.write(HEAD + "".join(rules)))
    assert edits.loader.report.itemised_files == 1
    assert edits.loader.report.items_parsed == 1
    assert "r100" in after
    assert "r11" not in after
    for key, rule in after.items():
        if key != "r100":  # a moved rule: new location, same expression object
            assert rule.expr is before[key].expr
    lines = (HEAD + "".join(rules)).splitlines()
    for key, rule in after.items():
        assert rule.location is not None
        assert rule.location.line is not None
        assert lines[rule.location.line - 1] == f"- id: {key}"


def test_an_edit_with_an_error_names_its_line_and_column(tmp_path: Path) -> None:
    rules = items(40)
    edits = Edits(tmp_path / "rules.yaml", HEAD + "".join(rules))
    rules[1] = item(1, "title: moves the rest down\nall: [word1]")
    rules[33] = item(33, "all:\n- fine\n- 'ab*'")
    text = HEAD + "".join(rules)
    result = edits.write(text)
    assert edits.loader.report.itemised_files == 1
    line = text.splitlines().index("  - 'ab*'") + 1
    assert result == (
        "problems",
        [f"{edits.path}:{line}:5: r33: 'ab*': a wildcard needs at least 3 characters before '*'"],
    )
    rules[33] = item(33)  # fixed: live again, everything but the fixed rule reused
    rules_of(edits.write(HEAD + "".join(rules)))
    assert edits.loader.report.items_parsed == 1


def test_a_duplicate_id_in_an_edit_is_reported_at_the_second_rule(tmp_path: Path) -> None:
    rules = items(20)
    edits = Edits(tmp_path / "rules.yaml", HEAD + "".join(rules))
    rules[15] = item(4, "any: [again]")
    text = HEAD + "".join(rules)
    result = edits.write(text)
    line = text.splitlines().index("- id: r4", 12) + 1  # the second one
    assert result == ("problems", [f"{edits.path}:{line}:7: r4: duplicate rule id"])
    assert edits.loader.report.itemised_files == 1


def test_changed_defaults_reparse_every_rule(tmp_path: Path) -> None:
    rules = items(20)
    edits = Edits(tmp_path / "rules.yaml", "defaults:\n  window: 5\n" + HEAD + "".join(rules))
    assert {rule.window for rule in rules_of(edits.first).values()} == {5}
    changed = rules_of(edits.write("defaults:\n  window: 7\n" + HEAD + "".join(rules)))
    assert edits.loader.report.whole_files == 1
    assert {rule.window for rule in changed.values()} == {7}


def test_subscriptions_are_checked_against_the_new_rules(tmp_path: Path) -> None:
    env = {"SECRET": SECRET}
    subs = (
        "subscriptions:\n- id: desk\n  url: https://hooks.example.com/a\n"
        "  secret: ${SECRET}\n  rules: [r3, r7]\n"
    )
    rules = items(12)
    edits = Edits(tmp_path / "rules.yaml", HEAD + "".join(rules) + subs, env)
    assert edits.first[0] == "config"
    rules[2] = item(2, "title: one more line\nall: [x2]")  # the subscriptions move down
    del rules[7]
    text = HEAD + "".join(rules) + subs
    result = edits.write(text)
    assert edits.loader.report.itemised_files == 1
    line = text.splitlines().index("  rules: [r3, r7]") + 1
    assert result == ("problems", [f"{edits.path}:{line}:10: desk: unknown rule id 'r7'"])
    fixed = subs.replace("[r3, r7]", "[r3]")
    result = edits.write(HEAD + "".join(rules) + fixed)
    assert result[0] == "config"
    assert edits.loader.report.itemised_files == 1


@pytest.mark.parametrize(
    "text",
    [
        # The rules list in flow style.
        "version: 1\nrules: [{id: r0, all: [a]}, {id: r1, all: [b]}]\n",
        # An anchor in one item and an alias in another.
        "rules:\n- id: r0\n  all: &words [alpha, beta]\n- id: r1\n  any: *words\n",
        # Two documents.
        "rules:\n- id: r0\n  all: [a]\n---\nrules:\n- id: r1\n  all: [b]\n",
        # Windows line breaks.
        "rules:\r\n- id: r0\r\n  all: [a]\r\n- id: r1\r\n  all: [b]\r\n",
        # A line at the items' indentation that is no item (a quoted title's second line).
        'rules:\n  - id: r0\n    title: "a\n  title"\n    all: [a]\n  - id: r1\n    all: [b]\n',
        # A quoted title whose second line looks like an item.
        'rules:\n- id: r0\n  title: "a\n- b"\n  all: [a]\n- id: r1\n  all: [b]\n',
        # The rules key written twice (a duplicate key).
        "rules:\n- id: r0\n  all: [a]\nrules:\n- id: r1\n  all: [b]\n",
    ],
)
def test_files_not_in_the_plain_shape_are_parsed_whole(tmp_path: Path, text: str) -> None:
    edits = Edits(tmp_path / "rules.yaml", text)
    edits.write(text.replace("[a]", "[c]").replace("[b]", "[d]") + "# edited\n")
    assert edits.loader.report.itemised_files == 0
    assert edits.loader.report.whole_files == 1


@pytest.mark.parametrize(
    "after", ["...\n", "---\nrules: []\n", "...\n%YAML 1.1\n---\nversion: 1\n", "--- x\n"]
)
def test_document_markers_after_the_list_end_it(tmp_path: Path, after: str) -> None:
    rules = items(12)
    edits = Edits(tmp_path / "rules.yaml", HEAD + "".join(rules))
    rules[3] = item(3, "all: [edited]")
    edits.write(HEAD + "".join(rules) + after)  # asserts the same outcome as load_config
    rules[4] = item(4, "all: [edited]")
    edits.write(HEAD + "".join(rules) + after)


def test_a_yaml_error_in_an_edit_is_reported_by_a_whole_parse(tmp_path: Path) -> None:
    rules = items(20)
    edits = Edits(tmp_path / "rules.yaml", HEAD + "".join(rules))
    rules[9] = "- id: r9\n  all: [unclosed\n"
    result = edits.write(HEAD + "".join(rules))
    assert result[0] == "problems"
    assert edits.loader.report.whole_files == 1
    rules[9] = "- id: r9\n  all: [x]\n  all: [y]\n"
    result = edits.write(HEAD + "".join(rules))
    assert result[0] == "problems"
    assert "duplicate key 'all'" in str(result[1])


def test_a_directory_reloads_only_the_changed_file_item_by_item(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(HEAD + "".join(items(10)))
    more = [item(n) for n in range(10, 20)]
    (tmp_path / "b.yaml").write_text("rules:\n" + "".join(more))
    loader = ConfigLoader(tmp_path)
    first = outcome(loader.load)
    more[4] = item(14, "none: [absent]\nall: [present]")
    (tmp_path / "b.yaml").write_text("rules:\n" + "".join(more))
    second = outcome(loader.load)
    assert second == outcome(lambda: load_config(tmp_path))
    assert loader.report.itemised_files == 2
    assert loader.report.items_parsed == 1
    assert rules_of(first)["r3"] is rules_of(second)["r3"]


def test_the_cut_gives_back_the_text(tmp_path: Path) -> None:
    text = (
        "# rules of the desk\nversion: 1\nrules:  # all of them\n  # first\n"
        "  - {id: a, all: [envoy]}\n\n  - id: b\n    title: |\n      two\n      lines\n"
        "    all:\n    - x\n  # between\n  -\n    id: c\n    all: [y]\nsubscriptions: []\n"
    )
    cut = split_rule_items(text)
    assert cut is not None
    assert cut.indent == 2
    assert cut.head + "".join(cut.items) + cut.tail == text
    assert [text.splitlines()[line].lstrip()[:1] for line in cut.lines] == ["-", "-", "-"]
    assert cut.tail == "subscriptions: []\n"
    skeleton = yaml.safe_load(cut.skeleton())
    assert skeleton == {"version": 1, "rules": None, "subscriptions": []}
    assert cut.rules_line == 2
    document, marks = load_with_marks(text)
    node = marks.node(document["rules"])
    assert node is not None
    assert items_match(cut, node)


def test_comments_and_blank_lines_around_the_items_keep_the_item_path(tmp_path: Path) -> None:
    head = "# the desk's rules\n\nversion: 1\nrules:  # all of them\n\n  # the first:\n"
    rules = [textwrap.indent(text, "  ") + "\n  # next\n" for text in items(10)]
    edits = Edits(tmp_path / "rules.yaml", head + "".join(rules) + "# end\n")
    rules[6] = textwrap.indent(item(6, "any: [other]"), "  ")
    edits.write(head + "".join(rules) + "# end\n")
    assert edits.loader.report.itemised_files == 1
    assert edits.loader.report.items_parsed == 1


def test_a_cut_that_is_not_the_parsers_items_is_not_trusted() -> None:
    text = 'rules:\n- id: a\n  title: "x\n- y"\n  all: [z]\n- id: b\n  all: [w]\n'
    cut = split_rule_items(text)
    assert cut is not None
    assert len(cut.items) == 3  # the line '- y"' looks like an item
    document, marks = load_with_marks(text)
    assert len(document["rules"]) == 2
    node = marks.node(document["rules"])
    assert node is not None
    assert not items_match(cut, node)


def test_moved_copies_every_field_of_a_rule() -> None:
    assert tuple(field.name for field in dataclasses.fields(Rule)) == RULE_FIELDS
    text = HEAD + "- id: a\n  all: [x]\n  title: t\n  tags: [k]\n  window: 3\n"
    rule = parse_config_text(text).rules.rules[0]
    assert rule.location is not None
    assert rule.location.line == 3
    shifted = moved(rule, 4)
    assert shifted == rule
    assert shifted.expr is rule.expr
    assert shifted.location == dataclasses.replace(rule.location, line=7)


# Rule items of every shape the cut must handle (at indent 0; indented as a whole later).
SHAPES = [
    "all: [word{n}, other thing]",
    "any:\n- alpha{n}\n- all: [beta, gamma]\nnone: [delta]",
    "query: (summon* OR envoy{n}) NEAR/3 embassy",
    'title: "a title\n  on two lines"\nall: [x{n}]',
    "title: |\n  block\n  scalar\nall: [y{n}]",
    "all: [z{n}]  # a comment\n# a comment line\nwindow: 4",
    "fields: [title]\nall: [w{n}]\nlanguages: [EN]\ntags: [t]",
    "window: 0\nall: [bad{n}]",  # invalid rule
    "all: ['ab*']",  # invalid keyword
    "all: [unclosed{n}",  # invalid YAML
    "all: [a]\nall: [b]",  # repeated key
]


# Whole items, for shapes the cut could get wrong.
RAW_SHAPES = [
    "- {{id: r{n}, all: [flow{n}]}}\n",
    "-\n  id: r{n}\n  all: [alone{n}]\n",
    '- id: r{n}\n  title: "looks like\n- an item"\n  all: [q{n}]\n',
    "- id: r{n}\n  all: [k{n}]\n  title: |+\n    kept\n\n",
    "- id: r{n}\n  all: [c{n}]\n# a comment at column 0\n  none: [d{n}]\n",
    "- id: r{n}\n  title: plain\n    continued\n  all: [p{n}]\n",
    "- ? id\n  : r{n}\n  all: [e{n}]\n",
    "- id: r{n}\n  all: &w{n} [a{n}]\n  any: *w{n}\n",
    "- id: r{n}\n  all: [t{n}]\t# after a tab\n",
    "- id: r{n}\n  title: 'AT&T *not* an alias'\n  all: [s{n}]\n",
]


def shaped(n: int, shape: int) -> str:
    if shape >= len(SHAPES):
        return RAW_SHAPES[shape - len(SHAPES)].format(n=n)
    return item(n, SHAPES[shape])


HEADS = [
    HEAD,
    "# notes\nversion: 1\ndefaults:\n  window: 6\nrules:\n",
    "---\nrules:  # the rules\n",
]
TAILS = [
    "",
    "\n# the end\n",
    "subscriptions:\n- id: desk\n  url: https://hooks.example.com/a\n"
    "  secret: ${SECRET}\n  rules: [r1, 'tag:t']\n",
    "...\n",
    "---\nversion: 1\n",
]
edit_steps = st.lists(
    st.tuples(
        st.sampled_from(["replace", "insert", "delete", "swap", "blank", "head", "tail", "indent"]),
        st.integers(0, 10_000),
        st.integers(0, len(SHAPES) + len(RAW_SHAPES) - 1),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=60, deadline=None)
@given(steps=edit_steps, size=st.integers(1, 25))
def test_item_by_item_reload_equals_a_whole_load_after_random_edits(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[str, int, int]], size: int
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "rules.yaml"
    valid = [0, 1, 2, 3, 4, 5, 6, *range(len(SHAPES), len(SHAPES) + len(RAW_SHAPES))]
    rules = [shaped(n, valid[n % len(valid)]) for n in range(size)]
    head, tail, indent = HEADS[0], TAILS[0], 0
    fresh = size

    def render() -> str:
        body = textwrap.indent("".join(rules), " " * indent) if indent else "".join(rules)
        return head + body + tail

    edits = Edits(path, render(), {"SECRET": SECRET})
    for op, at, shape in steps:
        where = at % (len(rules) + 1)
        if op == "replace" and rules:
            rules[where % len(rules)] = shaped(where % len(rules), shape)
        elif op == "insert":
            rules.insert(where, shaped(fresh, shape))
            fresh += 1
        elif op == "delete" and rules:
            del rules[where % len(rules)]
        elif op == "swap" and len(rules) > 1:
            i, j = where % len(rules), at % len(rules)
            rules[i], rules[j] = rules[j], rules[i]
        elif op == "blank" and rules:
            rules[where % len(rules)] += "\n" if shape % 2 else "# note\n"
        elif op == "head":
            head = HEADS[at % len(HEADS)]
        elif op == "tail":
            tail = TAILS[at % len(TAILS)]
        elif op == "indent":
            indent = 2 - indent
        edits.write(render())  # asserts the loader's outcome equals load_config's


async def test_the_reloader_reloads_item_by_item_and_keeps_the_last_good_set(
    tmp_path: Path,
) -> None:
    rules = items(30)
    path = tmp_path / "rules.yaml"
    path.write_text(HEAD + "".join(rules), encoding="utf-8")
    reloader = RuleReloader(path, env={})
    rules[7] = item(7, "all: [envoy]")
    path.write_text(HEAD + "".join(rules), encoding="utf-8")
    assert await reloader.check()
    assert reloader.last_timing.report.itemised_files == 1
    assert reloader.last_timing.report.items_parsed == 1
    doc = Document.from_text(body="the envoy was summoned")
    assert [match.rule_id for match in reloader.compiled.match(doc)] == ["r7"]
    rules[9] = item(9, "query: '(envoy'")
    text = HEAD + "".join(rules)
    path.write_text(text, encoding="utf-8")
    assert not await reloader.check()
    assert reloader.last_timing.report.itemised_files == 1
    error = reloader.last_error
    assert isinstance(error, RuleFileError)
    (problem,) = error.problems
    assert problem.item == "r9"
    assert problem.location.line == text.splitlines().index("  query: '(envoy'") + 1
    assert [match.rule_id for match in reloader.compiled.match(doc)] == ["r7"]
