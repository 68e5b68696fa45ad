"""``rules check`` warnings: rules that can never match, expensive rules."""

from __future__ import annotations

from newsalert.rules.lint import lint
from tests.unit.rules.helpers import ruleset

RULES = """
version: 1
rules:
  - {id: fine, all: [ambassador, summoned]}
  - {id: narrow, window: 2, all: ["alpha beta gamma"]}
  - {id: both, all: [envoy], none: [envoy]}
  - {id: near0, query: "envoy NEAR/0 summoned"}
  - {id: only-not, query: "NOT envoy"}
  - {id: short-wild, any: ["abc*"]}
  - {id: common, all: [overly]}
"""


def test_warnings() -> None:
    found = {(w.rule_id, w.reason.split(":")[0]) for w in lint(ruleset(RULES).rules)}
    assert ("fine", "can never match") not in found
    assert ("narrow", "can never match") in found
    assert ("both", "can never match") in found
    assert ("near0", "can never match") in found
    assert ("only-not", "expensive") in found
    assert ("short-wild", "expensive") in found
    reasons = [w.reason for w in lint(ruleset(RULES).rules) if w.rule_id == "common"]
    assert any("stem 'over'" in r for r in reasons)
    assert not [w for w in lint(ruleset(RULES).rules) if w.rule_id == "fine"]
