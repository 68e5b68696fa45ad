"""Loading many rules: positions of rules and errors, parse caches, the GC freeze."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
import yaml

from newsalert.config import load_config, loader, parse_config_text
from newsalert.rules import RuleFileError, RuleSet
from newsalert.rules.language.caches import ParseCaches
from newsalert.rules.language.keywords import KeywordError, parse_keyword
from newsalert.rules.language.query import QuerySyntaxError, parse_query

FIELDS = ("title", "body")


def many_rules(count: int) -> list[dict[str, object]]:
    """Rules of every shape the loader handles: keywords, groups, queries, filters."""
    rules: list[dict[str, object]] = []
    for n in range(count):
        rule: dict[str, object] = {"id": f"r{n:05d}"}
        shape = n % 4
        if shape == 0:
            rule["all"] = [f"word{n % 97}", f"other{n % 13} thing"]
        elif shape == 1:
            rule["any"] = [f'"phrase {n % 31}"', {"all": [f"nest{n % 7}", "deep*"]}]
            rule["none"] = ["excluded"]
        elif shape == 2:
            rule["query"] = f"(alpha{n % 11} OR beta) NEAR/4 gamma NOT title:delta{n % 5}"
        else:
            rule["all"] = ["plain"]
            rule["fields"] = ["title"]
            rule["window"] = 3 + n % 5
            rule["languages"] = ["EN"]
            rule["tags"] = ["t"]
        rules.append(rule)
    return rules


def dump(rules: list[dict[str, object]]) -> str:
    return yaml.safe_dump({"version": 1, "rules": rules}, sort_keys=False)


def line_of(text: str, needle: str) -> int:
    """1-based line of the only line of ``text`` that contains ``needle``."""
    (line,) = [i for i, row in enumerate(text.splitlines(), 1) if needle in row]
    return line


def test_every_rule_knows_the_line_and_column_of_its_id(tmp_path: Path) -> None:
    text = dump(many_rules(400))
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    assert len(config.rules) == 400
    for rule in config.rules:
        assert rule.location is not None
        assert rule.location.file == str(path)
        assert rule.location.line == line_of(text, f"id: {rule.id}")
        assert rule.location.column == text.splitlines()[rule.location.line - 1].index(rule.id) + 1


def test_errors_deep_in_a_big_file_name_file_rule_line_and_column(tmp_path: Path) -> None:
    rules = many_rules(3000)
    rules[1234]["all"] = ["ok", "ab*"]  # wildcard too short
    rules[2345]["query"] = "(unclosed OR"
    rules[2900]["window"] = 0
    rules[2999]["colour"] = "red"
    text = dump(rules)
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RuleFileError) as info:
        load_config(path)
    by_item = {p.item: p for p in info.value.problems}
    assert set(by_item) == {"r01234", "r02345", "r02900", "r02999"}
    ids_line = {item: line_of(text, f"id: {item}") for item in by_item}
    wildcard = by_item["r01234"].location
    wildcard_line = line_of(text, "- ab*")
    assert (wildcard.file, wildcard.line) == (str(path), wildcard_line)
    assert wildcard.column == text.splitlines()[wildcard_line - 1].index("ab*") + 1
    assert by_item["r02345"].location.line == line_of(text, "(unclosed OR")
    assert "query: column" in by_item["r02345"].reason
    assert by_item["r02900"].location.line == line_of(text, "window: 0")
    assert by_item["r02999"].location.line == line_of(text, "colour: red")
    for item, problem in by_item.items():
        assert problem.location.line is not None
        assert problem.location.line > ids_line[item]  # inside that rule, after its id
        assert str(problem).startswith(f"{path}:{problem.location.line}:")


def test_a_rule_fixed_after_an_error_loads_like_a_fresh_one() -> None:
    bad = "version: 1\nrules:\n  - id: a\n    all: ['ab*']\n"
    for _ in range(2):  # the failure is not cached: it is reported every time
        with pytest.raises(RuleFileError, match="at least 3 characters"):
            parse_config_text(bad)
    fixed = parse_config_text(bad.replace("ab*", "abc*"))
    assert [rule.id for rule in fixed.rules] == ["a"]


def test_cached_keywords_and_queries_equal_fresh_parses() -> None:
    caches = ParseCaches()
    term = parse_keyword("Ambassador summoned", window=5, fields=FIELDS, caches=caches)
    assert parse_keyword("Ambassador summoned", window=5, fields=FIELDS, caches=caches) is term
    fresh = parse_keyword("Ambassador summoned", window=5, fields=FIELDS)
    assert fresh == term
    assert fresh is not term  # no memo given: nothing shared with an earlier parse
    other = parse_keyword("Ambassador summoned", window=6, fields=FIELDS, caches=caches)
    assert other.window == 6
    assert (term.mode, term.text, [w.value for w in term.words]) == (
        "window",
        "Ambassador summoned",
        ["ambassador", "summon"],
    )
    title_only = parse_keyword("Ambassador summoned", window=5, fields=("title",))
    assert title_only.fields == ("title",)
    node = parse_query("a NEAR/2 (b OR c)", window=8, fields=FIELDS, caches=caches)
    assert parse_query("a NEAR/2 (b OR c)", window=8, fields=FIELDS, caches=caches) is node
    for _ in range(2):
        with pytest.raises(KeywordError):
            parse_keyword("x*", window=8, fields=FIELDS, caches=caches)
        with pytest.raises(QuerySyntaxError):
            parse_query("a NEAR/2", window=8, fields=FIELDS, caches=caches)


def test_equal_rules_in_one_file_share_their_terms() -> None:
    config = parse_config_text(
        "version: 1\nrules:\n  - {id: a, all: [envoy, 'military ties']}\n"
        "  - {id: b, any: [envoy, 'military ties']}\n"
    )
    a, b = config.rules.get("a"), config.rules.get("b")
    assert a is not None
    assert b is not None
    assert a.positive_terms()[0] is b.positive_terms()[0]


def test_a_big_config_is_frozen_out_of_the_cyclic_gc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(dump(many_rules(8)), encoding="utf-8")
    monkeypatch.setattr(loader, "FREEZE_RULES", 5)
    before = gc.get_freeze_count()
    try:
        config = load_config(path)
        assert gc.get_freeze_count() > before
        assert gc.isenabled()
    finally:
        gc.unfreeze()
    monkeypatch.setattr(loader, "FREEZE_RULES", 9)
    load_config(path)
    assert gc.get_freeze_count() == 0
    assert len(config.rules) == 8


def test_a_reloaded_rule_takes_its_new_position_and_the_current_defaults() -> None:
    rule = "  - {id: a, all: ['alpha omega']}\n"
    first = parse_config_text("version: 1\nrules:\n" + rule, source="one.yaml")
    moved = parse_config_text(
        "version: 1\ndefaults: {window: 3}\n\nrules:\n  - {id: b, all: [x]}\n" + rule,
        source="two.yaml",
    )
    a1, a2 = first.rules.get("a"), moved.rules.get("a")
    assert a1 is not None
    assert a2 is not None
    assert a1.location is not None
    assert a2.location is not None
    assert (a1.location.file, a1.location.line) == ("one.yaml", 3)
    assert (a2.location.file, a2.location.line) == ("two.yaml", 6)
    assert (a1.window, a2.window) == (8, 3)
    assert a2.positive_terms()[0].window == 3
    again = parse_config_text("version: 1\nrules:\n" + rule, source="one.yaml")
    assert again.rules.get("a") == a1


def test_loading_leaves_no_reference_cycles() -> None:
    # A big config is frozen out of the cyclic GC right after loading; anything the load
    # left in a cycle (the YAML node tree, say) would then never be freed.
    text = dump(many_rules(50))
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        gc.collect()
        config = parse_config_text(text)
        assert len(config.rules) == 50
        assert gc.collect() == 0
    finally:
        if was_enabled:
            gc.enable()


def test_a_rule_set_refuses_repeated_ids_naming_each_repeat() -> None:
    config = parse_config_text(dump(many_rules(3)))
    rules = list(config.rules)
    with pytest.raises(RuleFileError) as info:
        RuleSet([*rules, rules[1], rules[2], rules[1]])
    assert [p.item for p in info.value.problems] == ["r00001", "r00001", "r00002"]
    assert all("duplicate rule id" in p.reason for p in info.value.problems)
    assert [rule.id for rule in RuleSet(reversed(rules))] == ["r00000", "r00001", "r00002"]
