"""``newsalert backtest --rules FILE --input ARTICLES.jsonl --format json``: the contract.

Other tools read this shape; run through the mounted CLI.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsalert.cli import app

RULES = """\
version: 1
rules:
  - {id: envoy, all: [envoy]}
  - {id: summon, any: ["summon*"]}
  - {id: never, all: [zebra]}
"""

ARTICLES = [
    {"id": "b2", "title": "Envoy summoned", "body": ""},
    {"id": "a1", "title": "Quiet day", "body": "nothing happened"},
    {"id": "a0", "title": "", "body": "the envoy left"},
]


@pytest.mark.parametrize("compressed", [False, True])
def test_json_contract(tmp_path: Path, compressed: bool) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    lines = "".join(json.dumps(a) + "\n" for a in ARTICLES) + "\n{not json}\n"
    if compressed:
        articles = tmp_path / "articles.jsonl.gz"
        articles.write_bytes(gzip.compress(lines.encode()))
    else:
        articles = tmp_path / "articles.jsonl"
        articles.write_text(lines)
    result = CliRunner().invoke(
        app, ["backtest", "--rules", str(rules), "--input", str(articles), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["articles"] == 3
    assert payload["invalid"] == 1
    assert payload["matches"] == [
        {"article_id": "a0", "rule_id": "envoy"},
        {"article_id": "b2", "rule_id": "envoy"},
        {"article_id": "b2", "rule_id": "summon"},
    ]


def test_invalid_rules_exit_1(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\nrules:\n  - {id: a, query: '('}\n")
    articles = tmp_path / "a.jsonl"
    articles.write_text("")
    result = CliRunner().invoke(app, ["backtest", "--rules", str(rules), "--input", str(articles)])
    assert result.exit_code == 1
