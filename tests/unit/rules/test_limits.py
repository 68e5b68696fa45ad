"""Rule files past a limit are ordinary problems, found quickly, with a short message."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import yaml

from newsalert.config import load_config, parse_config_text
from newsalert.config import loader as config_module
from newsalert.config.yamlmarks import YAMLLimitError, load_with_marks
from newsalert.rules import Document
from newsalert.rules.language.limits import MAX_ALIAS_NODES, MAX_FILE_BYTES, shown
from newsalert.rules.language.problems import RuleFileError
from newsalert.rulesvc.metrics import RELOAD_FAILING, RELOADS
from newsalert.rulesvc.reload import RuleReloader
from tests.unit.rules.hostile_rules import CASES, HEAD, Hostile, alias_bomb

#: The longest problem line a limit may produce (values are shown cut short).
MAX_MESSAGE = 300


def problems_of(text: str) -> list[str]:
    with pytest.raises(RuleFileError) as caught:
        parse_config_text(text, source="rules.yaml")
    return [str(problem) for problem in caught.value.problems]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_each_limit_is_a_problem_with_its_position(case: Hostile) -> None:
    found = problems_of(case.text)
    where = f"rules.yaml:{case.line}:{case.column}:"
    assert any(p.startswith(where) and case.reason in p for p in found), found
    assert all(len(p) < MAX_MESSAGE for p in found), [p[:MAX_MESSAGE] for p in found]


def test_the_alias_bomb_is_small_and_refused_before_it_is_built() -> None:
    text = alias_bomb() + "rules:\n  - id: bomb\n    all: *i\n"
    assert len(text.encode()) < 500
    started = time.process_time()
    with pytest.raises(YAMLLimitError):
        load_with_marks(text)
    assert problems_of(text)[0].startswith("rules.yaml:7:4: invalid YAML: aliases expand")
    # Refused after composing a few dozen nodes: no billion strings were built.
    assert time.process_time() - started < 5


def test_aliases_within_the_limit_still_load() -> None:
    # A keyword list shared by many rules: the use anchors are for.
    words = ", ".join(f"w{i}" for i in range(200))
    rules = "".join(f"  - id: r{i}\n    any: *words\n" for i in range(100))
    text = f"version: 1\nshared: &words [{words}]\nrules:\n{rules}"
    value, _ = load_with_marks(text)
    assert value["rules"][99]["any"] is value["shared"]
    expanded = 200 * 100
    assert expanded < MAX_ALIAS_NODES


def test_the_expansion_limit_counts_values_added_by_aliases() -> None:
    text = "a: &a [x, y, z]\nb: [*a, *a, *a]\n"  # 3 aliases, 3 x 4 nodes added
    load_with_marks(text, max_alias_nodes=12)
    with pytest.raises(YAMLLimitError):
        load_with_marks(text, max_alias_nodes=6)


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:  # sparse: no disk, and it is never read
        handle.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(RuleFileError) as caught:
        load_config(path)
    assert str(caught.value.problems[0]) == (
        f"{path}: {MAX_FILE_BYTES + 1:,} bytes, more than the limit ({MAX_FILE_BYTES:,})"
    )


def test_too_many_rules_in_one_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config_module, "MAX_RULES_PER_FILE", 2)
    text = HEAD + "  - {id: b, all: [x]}\n  - {id: c, all: [y]}\n"
    assert problems_of(text) == ["rules.yaml:3:3: 3 rules, more than the limit per file (2)"]
    parse_config_text(HEAD + "  - {id: b, all: [x]}\n")


@pytest.mark.parametrize(
    "value",
    ["x" * 10**6, 10**4000, list(range(10**5)), {"k" * 10**5: ["v" * 10**5] * 10}],
    ids=["str", "int", "list", "dict"],
)
def test_shown_values_stay_short(value: object) -> None:
    assert len(shown(value)) < 120


def test_a_wide_or_compiles() -> None:
    # Compiling an OR of tens of thousands of terms is linear (bench/match.py times it).
    terms = " OR ".join(f"w{i}x" for i in range(5000))
    config = parse_config_text(f"version: 1\nrules:\n  - id: wide\n    query: '{terms}'\n")
    compiled = config.rules.compile()
    assert [m.rule_id for m in compiled.match(Document.from_text(body="a w4999x"))] == ["wide"]


async def test_every_limit_on_hot_reload_keeps_the_last_good_rules(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(HEAD)
    reloader = RuleReloader(path, env={})
    good = reloader.compiled
    for case in CASES:
        invalid = RELOADS.labels(result="invalid")._value.get()
        path.write_text(case.text)
        assert not await reloader.check(), case.name
        assert reloader.compiled is good, case.name
        assert RELOAD_FAILING._value.get() == 1, case.name
        assert RELOADS.labels(result="invalid")._value.get() == invalid + 1, case.name
        assert reloader.last_error is not None
        assert f"{path}:{case.line}:{case.column}:" in str(reloader.last_error), case.name
    path.write_text(HEAD + "  - {id: again, all: [summoned]}\n")
    assert await reloader.check()
    assert RELOAD_FAILING._value.get() == 0
    doc = Document.from_text(body="the envoy was summoned")
    assert [m.rule_id for m in reloader.compiled.match(doc)] == ["again", "ok"]


async def test_an_unexpected_error_on_reload_sets_the_failing_gauge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(HEAD)
    reloader = RuleReloader(path, env={})
    good = reloader.compiled

    def broken(self: object) -> None:
        raise OverflowError("injected: a bug while compiling")

    monkeypatch.setattr("newsalert.rules.ruleset.RuleSet.compile", broken)
    path.write_text(HEAD + "  - {id: b, all: [x]}\n")
    assert not await asyncio.wait_for(reloader.check(), 30)
    assert reloader.compiled is good
    assert RELOAD_FAILING._value.get() == 1
    assert "OverflowError: injected" in str(reloader.last_error)


def test_yaml_errors_from_limits_are_yaml_errors() -> None:
    # config.loader reports every yaml.YAMLError with its mark; the limits are ones.
    assert issubclass(YAMLLimitError, yaml.YAMLError)


def test_a_bomb_of_flow_mappings_is_refused_too() -> None:
    # Every alias follows a ":" (a flow value right after a quoted key), none a space.
    layers = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for before, name in zip("abcdefgh", "bcdefghi", strict=True):
        values = ",".join(f'"{k}":*{before}' for k in range(9))
        layers.append(f"{name}: &{name} {{{values}}}")
    text = "\n".join(layers) + "\n"
    assert " *" not in text
    with pytest.raises(YAMLLimitError):
        load_with_marks(text)
