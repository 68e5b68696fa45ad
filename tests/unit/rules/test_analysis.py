"""A recompile derives the analysis of new rule expressions only (fast reloads)."""

from __future__ import annotations

import pytest

from newsalert.rules import Document
from newsalert.rules.evaluation.oracle import brute_force_match
from newsalert.rules.indexing import analysis
from newsalert.rules.indexing.exact import key_form
from newsalert.rules.language.model import Node

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


def test_the_key_numbering_starts_over_after_much_churn(monkeypatch: pytest.MonkeyPatch) -> None:
    # Keys of removed rules keep their ids until enough rules were analysed anew; then
    # every rule is analysed again under a fresh numbering, with the same answers.
    from newsalert.rules.indexing import index

    fresh = analysis.AnalysisCache()
    monkeypatch.setattr(analysis, "_RENUMBER_AFTER", 1)
    monkeypatch.setattr(analysis, "_RENUMBER_SLACK", 0)
    monkeypatch.setattr(index, "ANALYSES", fresh)
    doc = Document.from_text(body="The envoy was recalled, then summoned; ambassador summoned")
    rules = ruleset(RULES)
    first = rules.compile()
    numbered = []
    for n in range(6):
        edited = ruleset(RULES.replace("football", f"cricket{n}"))
        compiled = edited.compile()
        assert compiled.match(doc) == brute_force_match(edited.rules, doc)
        numbered.append(compiled.stats.stem_keys)
    # Without starting over, every edit would add a stem ('cricket<n>') for good.
    assert max(numbered) < first.stats.stem_keys + 6
    assert first.match(doc) == brute_force_match(rules.rules, doc)
