"""A recompile derives the analysis of new rule expressions only (fast reloads)."""

from __future__ import annotations

import pytest

from newsalert.rules import Document, analysis
from newsalert.rules.exact import key_form
from newsalert.rules.model import Node
from newsalert.rules.oracle import brute_force_match

from .helpers import ruleset

RULES = """
version: 1
rules:
  - {id: a, all: [envoy, summoned]}
  - {id: b, query: 'envoy NEAR/3 (summoned OR recalled)'}
  - {id: c, all: [ambassador summoned], none: [football]}
"""


def test_unchanged_expressions_are_not_analysed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Node] = []

    def counting(node: Node) -> object:
        calls.append(node)
        return key_form(node)

    monkeypatch.setattr(analysis, "key_form", counting)
    rules = ruleset(RULES)
    rules.compile()
    assert len(calls) == 3
    calls.clear()
    compiled = rules.compile()  # the same rule objects, as after a reload
    assert calls == []
    edited = ruleset(RULES.replace("ambassador summoned", "envoy recalled"))
    mixed = type(rules)(tuple(r if r.id != "c" else edited.rules[2] for r in rules.rules))
    recompiled = mixed.compile()
    assert len(calls) == 1
    doc = Document.from_text(body="The envoy was recalled, then summoned")
    assert compiled.match(doc) == brute_force_match(rules.rules, doc)
    assert recompiled.match(doc) == brute_force_match(mixed.rules, doc)
