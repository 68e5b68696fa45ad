"""Loading the config file: rules, defaults, subscriptions, directories, all problems."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from newsalert.config import load_config, parse_config_text
from newsalert.errors import ConfigError
from newsalert.rules import RuleFileError

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

GOOD = """\
version: 1
defaults:
  window: 6
  fields: [title, body]
rules:
  - id: kr-summons-russia
    title: Seoul summons Russian envoy over military ties
    all: ["ambassador summoned", "military cooperation"]
    tags: [korea, diplomacy]
  - id: nuclear
    query: '("tactical nuclear" OR nuclear NEAR/3 test*) NOT "power plant"'
    fields: [title]
    window: 3
subscriptions:
  - id: asia-desk
    url: https://hooks.example.com/asia
    secret: ${ASIA_DESK_SECRET}
    rules: ["kr-summons-russia", "tag:korea"]
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_loads_rules_defaults_and_subscriptions(tmp_path: Path) -> None:
    path = write(tmp_path, "rules.yaml", GOOD)
    config = load_config(path, env={"ASIA_DESK_SECRET": SECRET})
    assert config.source == path
    assert [r.id for r in config.rules] == ["kr-summons-russia", "nuclear"]
    rule = config.rules.get("kr-summons-russia")
    assert rule is not None
    assert rule.window == 6
    assert rule.tags == ("korea", "diplomacy")
    nuclear = config.rules.get("nuclear")
    assert nuclear is not None
    assert (nuclear.window, nuclear.fields) == (3, ("title",))
    (sub,) = config.subscriptions
    assert sub.secret == SECRET
    assert sub.selects("kr-summons-russia", ())
    assert len(config.rules.compile()) == 2


def test_missing_env_var_is_a_problem_naming_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, "rules.yaml", GOOD)
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert isinstance(info.value, RuleFileError)
    (problem,) = info.value.problems
    assert problem.item == "asia-desk"
    assert problem.location.line == 17
    assert "ASIA_DESK_SECRET is not set" in problem.reason


def test_every_problem_is_reported_with_location(tmp_path: Path) -> None:
    text = """\
    version: 1
    rules:
      - id: Bad_Id
        all: [envoy]
      - id: no-terms
        title: nothing to match
      - id: bad-query
        query: '(envoy OR'
      - id: bad-wild
        any: ['ab*', ok]
      - id: bad-field
        fields: [author]
        all: [x]
      - id: dup
        all: [x]
      - id: dup
        all: [y]
      - id: typo
        alll: [x]
        all: [x]
    subscriptions:
      - id: s1
        url: ftp://nope
        secret: whsec_abcdefghijklmnop
        rules: [missing-rule]
    """
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(RuleFileError) as info:
        load_config(path, env={})
    problems = info.value.problems
    by_item = {p.item: p for p in problems}
    assert by_item["rule #1"].location.line == 3
    assert "must match" in by_item["rule #1"].reason
    assert "at least one of all, any, query" in by_item["no-terms"].reason
    assert "query: column" in by_item["bad-query"].reason
    assert by_item["bad-wild"].location.line == 10
    assert "unknown field" in by_item["bad-field"].reason
    assert "duplicate rule id" in by_item["dup"].reason
    assert by_item["dup"].location.line == 16
    assert "unknown rule key 'alll'" in by_item["typo"].reason
    sub_problems = [p for p in problems if p.item == "s1"]
    assert any("url" in p.reason for p in sub_problems)
    assert all(str(p.location).startswith(str(path)) for p in problems)
    text_of_error = str(info.value)
    assert f"{len(problems)} problems" in text_of_error
    assert "bad-query" in text_of_error


def test_unknown_rule_reference_in_subscription() -> None:
    text = (
        "version: 1\nrules:\n  - {id: a, all: [x]}\nsubscriptions:\n"
        f"  - {{id: s, url: 'https://x.test/', secret: {SECRET}, rules: [b, 'tag:t', '*']}}\n"
    )
    with pytest.raises(RuleFileError, match="unknown rule id 'b'"):
        parse_config_text(text)


def test_invalid_yaml_has_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.yaml", "version: 1\nrules:\n  - id: a\n    all: [x\n")
    with pytest.raises(RuleFileError) as info:
        load_config(path)
    (problem,) = info.value.problems
    assert problem.location.line is not None
    assert "invalid YAML" in problem.reason


def test_duplicate_yaml_keys_are_problems() -> None:
    with pytest.raises(RuleFileError, match="duplicate key 'all'"):
        parse_config_text("version: 1\nrules:\n  - id: a\n    all: [x]\n    all: [y]\n")


def test_version_and_top_level_keys_are_checked() -> None:
    with pytest.raises(RuleFileError) as info:
        parse_config_text("version: 2\nrule: []\n")
    reasons = " | ".join(p.reason for p in info.value.problems)
    assert "unsupported version 2" in reasons
    assert "unknown top-level key 'rule'" in reasons


def test_directory_is_merged_and_duplicate_ids_rejected(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "version: 1\ndefaults: {window: 3}\nrules:\n  - {id: a, all: [x]}\n")
    write(tmp_path, "b.yml", "rules:\n  - {id: b, all: [y]}\n")
    write(tmp_path, "notes.txt", "ignored")
    config = load_config(tmp_path)
    assert [r.id for r in config.rules] == ["a", "b"]
    assert all(r.window == 3 for r in config.rules)
    assert len(config.files) == 2
    write(tmp_path, "c.yaml", "rules:\n  - {id: a, all: [z]}\n")
    with pytest.raises(RuleFileError) as info:
        load_config(tmp_path)
    (problem,) = info.value.problems
    assert problem.location.file.endswith("c.yaml")
    assert problem.item == "a"


def test_missing_path_and_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match="no such file"):
        load_config(tmp_path / "absent.yaml")
    with pytest.raises(RuleFileError, match=r"no \*\.yaml"):
        load_config(tmp_path)


def test_seed_rule_fires_on_seed_article(corpus_dir: Path) -> None:
    import json

    from newsalert.models import Article
    from newsalert.rules import Document

    seed = corpus_dir / "seed-article.json"
    if not seed.exists():
        pytest.skip("seed article absent")
    config = parse_config_text(
        'version: 1\nrules:\n  - id: kr\n    all: ["ambassador summoned", "military cooperation"]\n'
    )
    article = Article.model_validate(json.loads(seed.read_text(encoding="utf-8")))
    matches = config.rules.compile().match(Document.from_article(article))
    assert [m.rule_id for m in matches] == ["kr"]
