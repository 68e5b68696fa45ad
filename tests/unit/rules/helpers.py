"""Helpers for rule tests: build rules from YAML snippets, match with index and oracle."""

from __future__ import annotations

import textwrap

from newsalert.config import parse_config_text
from newsalert.rules import CompiledRules, Document, RuleSet
from newsalert.rules.evaluation.oracle import brute_force_match


def ruleset(yaml_text: str) -> RuleSet:
    """The rules of a config snippet (``version``/``rules`` keys)."""
    return parse_config_text(textwrap.dedent(yaml_text)).rules


def one_rule(body: str) -> RuleSet:
    """A rule set of one rule ``r`` whose YAML mapping body is ``body``."""
    lines = textwrap.dedent(body).strip().splitlines()
    indented = "\n".join("    " + line for line in lines)
    return ruleset(f"version: 1\nrules:\n  - id: r\n{indented}\n")


def fired(
    rules: RuleSet,
    *,
    title: str = "",
    body: str = "",
    language: str | None = None,
    source: str | None = None,
) -> list[str]:
    """Ids of the rules that fire; asserts index and oracle agree."""
    doc = Document.from_text(title=title, body=body, language=language, source=source)
    compiled: CompiledRules = rules.compile()
    indexed = compiled.match(doc)
    oracle = brute_force_match(rules.rules, doc)
    assert indexed == oracle
    return [m.rule_id for m in indexed]


def fires(rule_body: str, **text: str | None) -> bool:
    """Whether the single rule ``rule_body`` fires on the given fields."""
    return fired(one_rule(rule_body), **text) == ["r"]  # type: ignore[arg-type]
