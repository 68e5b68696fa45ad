"""The dispatcher's subscriptions-only load agrees with the full config load."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsalert.config import load_config
from newsalert.config.subscriptions_only import load_subscriptions, scan_rules
from newsalert.rules import RuleFileError
from newsalert.rules.language.limits import MAX_FILE_BYTES

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ENV = {"HOOK": "https://hooks.example.com", "SECRET": SECRET}
SUBS = """\
subscriptions:
  - id: desk
    url: ${HOOK}/desk
    secret: ${SECRET}
    rules: [rule-a, "tag:x"]
  - id: all
    url: https://hooks.example.com/all
    secret: ${SECRET}
"""
GOOD = {
    "block": "version: 1\nrules:\n  - id: rule-a\n    all: [port]\n" + SUBS,
    "column 0": "rules:\n- id: rule-a\n  all: [port]\n- id: b\n  any: [x]\n" + SUBS,
    "flow": "rules: [{id: rule-a, all: [port]}, {id: b, all: [x]}]\n" + SUBS,
    "subscriptions first": SUBS + "rules:\n  - id: rule-a\n    all: [port]\n",
    "comments": "rules:   # the rules\n  # first\n  - id: rule-a  # a\n    all: [port]\n" + SUBS,
    "anchor used by a subscription": (
        "rules:\n  - id: rule-a\n    all: [port]\n    tags: &t [x]\n"
        + SUBS.replace(
            '"tag:x"]', '"tag:x"]\n    secrets: []\n    max_in_flight: 4\n    x_tags: *t'
        )
    ),
}
BAD = {
    "unknown rule": SUBS.replace("rule-a,", "rule-b,") + "rules:\n  - id: rule-a\n    all: [x]\n",
    "yaml error in the subscriptions": "rules:\n  - id: rule-a\n    all: [x]\n" + SUBS + "  - {\n",
    "subscriptions not a list": "rules: []\nsubscriptions: {desk: 1}\n",
    "bad version": "version: 2\nrules:\n  - id: rule-a\n    all: [x]\n" + SUBS,
    "unknown top-level key": "rules:\n  - id: rule-a\n    all: [x]\nsubscription: []\n" + SUBS,
    "not a mapping": "- 1\n- 2\n",
}


@pytest.mark.parametrize("text", GOOD.values(), ids=GOOD.keys())
def test_the_same_subscriptions_as_the_full_load(tmp_path: Path, text: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    if "x_tags" in text:  # an unknown subscription key: both refuse it alike
        with pytest.raises(RuleFileError) as full:
            load_config(path, ENV)
        with pytest.raises(RuleFileError) as light:
            load_subscriptions(path, ENV)
        assert [str(p) for p in light.value.problems] == [str(p) for p in full.value.problems]
        return
    subscriptions = load_subscriptions(path, ENV)
    assert [s.id for s in subscriptions] == ["desk", "all"]
    assert subscriptions == load_config(path, ENV).subscriptions


@pytest.mark.parametrize("text", BAD.values(), ids=BAD.keys())
def test_the_same_problems_at_the_same_places(tmp_path: Path, text: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RuleFileError) as full:
        load_config(path, ENV)
    with pytest.raises(RuleFileError) as light:
        load_subscriptions(path, ENV)
    assert [str(p) for p in light.value.problems] == [str(p) for p in full.value.problems]


def test_a_directory_and_unset_variables(tmp_path: Path) -> None:
    (tmp_path / "00-rules.yaml").write_text("rules:\n  - id: rule-a\n    query: 'x AND'\n")
    (tmp_path / "10-subs.yaml").write_text(SUBS)
    assert [s.id for s in load_subscriptions(tmp_path, ENV)] == ["desk", "all"]
    with pytest.raises(RuleFileError) as unset:
        load_subscriptions(tmp_path, {})
    reasons = [p.reason for p in unset.value.problems]
    assert reasons == [
        "url: environment variable HOOK is not set",
        "secret: environment variable SECRET is not set",
        "secret: environment variable SECRET is not set",
    ]


def test_scan_finds_only_top_level_rule_ids() -> None:
    text = "rules:\n- id: a\n  any: [{all: [x], id: q}]\n- {id: b}\nother: {id: c}\n"
    ids, span = scan_rules(text) or (set(), None)
    assert ids == {"a", "b"}
    assert span is not None
    assert text[span[0] : span[1]].startswith("- id: a")
    assert scan_rules("a: [\n") is None


def _quoted(rule_id: str, style: int) -> str:
    return (rule_id, f"'{rule_id}'", f'"{rule_id}"')[style]


@st.composite
def _config_text(draw: st.DrawFn) -> str:
    ids = draw(st.lists(st.sampled_from(["a", "b-1", "c_2", "port"]), unique=True, max_size=3))
    styles = [draw(st.integers(0, 2)) for _ in ids]
    layout = draw(st.sampled_from(["indented", "column0", "flow", "empty", "null", "absent"]))
    if layout == "flow":
        items = ", ".join(
            f"{{id: {_quoted(i, s)}, all: [x]}}" for i, s in zip(ids, styles, strict=True)
        )
        rules = f"rules: [{items}]  # flow\n"
    elif layout in ("indented", "column0"):
        pad = "  " if layout == "indented" else ""
        rules = "rules:\n" + "".join(
            f"{pad}- id: {_quoted(i, s)}\n{pad}  # why\n{pad}  all: [x]\n"
            for i, s in zip(ids, styles, strict=True)
        )
    else:
        rules = {"empty": "rules: []\n", "null": "rules:\n", "absent": ""}[layout]
    selectors = draw(st.lists(st.sampled_from([*ids, "zz", "*", "tag:x"]), min_size=1, max_size=3))
    secret = draw(st.sampled_from(["${SECRET}", "${UNSET}", SECRET, "nope"]))
    subs = (
        "subscriptions:\n  - id: desk\n    url: ${HOOK}/d\n"
        f"    secret: {secret}\n    rules: [{', '.join(json.dumps(s) for s in selectors)}]\n"
    )
    head = draw(st.sampled_from(["", "version: 1\n", "# a config\nversion: 1\n"]))
    return head + (rules + subs if draw(st.booleans()) else subs + rules)


@settings(max_examples=200, deadline=None)
@given(_config_text())
def test_generated_configs_load_alike(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            expected: object = load_config(path, ENV).subscriptions
        except RuleFileError as exc:
            expected = [str(p) for p in exc.problems]
        try:
            got: object = load_subscriptions(path, ENV)
        except RuleFileError as exc:
            got = [str(p) for p in exc.problems]
    assert got == expected, text


def test_an_oversized_file_is_refused_from_its_size_as_the_full_load_does(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(SUBS)
    with path.open("r+b") as handle:  # sparse: the size is what counts, not the bytes
        handle.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(RuleFileError) as light:
        load_subscriptions(path, ENV)
    with pytest.raises(RuleFileError) as full:
        load_config(path, ENV)
    assert [str(p) for p in light.value.problems] == [str(p) for p in full.value.problems]
    assert "more than the limit" in light.value.problems[0].reason
