"""``newsalert backtest`` offline: the JSON contract, text and HTML reports, usage errors."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsalert.backtest.cli import app
from tests.unit.backtest.corpus import ARTICLES, RULES_A, RULES_B, write_jsonl

runner = CliRunner()


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "a.yaml").write_text(RULES_A)
    (tmp_path / "b.yaml").write_text(RULES_B)
    write_jsonl(tmp_path / "in.jsonl", ARTICLES[:4])
    with gzip.open(tmp_path / "more.jsonl.gz", "wt") as out:
        for item in ARTICLES[4:]:
            out.write(json.dumps(item) + "\n")
    return {
        "a": tmp_path / "a.yaml",
        "b": tmp_path / "b.yaml",
        "in": tmp_path / "in.jsonl",
        "gz": tmp_path / "more.jsonl.gz",
    }


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_json_contract_offline(files: dict[str, Path]) -> None:
    """The issue-3 contract: articles + every raw match, sorted by article then rule."""
    code, out, _ = invoke(
        "--rules",
        str(files["a"]),
        "--input",
        str(files["in"]),
        "--input",
        str(files["gz"]),
        "--format",
        "json",
    )
    assert code == 0
    report = json.loads(out)  # stdout holds exactly one JSON document
    assert report["articles"] == len(ARTICLES)
    pairs = [(m["article_id"], m["rule_id"]) for m in report["matches"]]
    assert pairs == sorted(pairs)
    assert pairs == [("a1", "port-strike"), ("a2", "rates"), ("a3", "rates"), ("a4", "port-strike")]
    assert all(set(m) == {"article_id", "rule_id"} for m in report["matches"])


def test_json_mode_keeps_progress_off_stdout(files: dict[str, Path]) -> None:
    code, out, err = invoke(
        "--rules", str(files["a"]), "--input", str(files["in"]), "--format", "json", "--progress"
    )
    assert code == 0
    json.loads(out)
    assert "records" in err  # the final progress line went to stderr


def test_unresolved_subscription_variables_do_not_block_a_dry_run(files: dict[str, Path]) -> None:
    # RULES_A's subscription uses ${BACKTEST_TEST_URL}, which is not set here.
    code, out, err = invoke("--rules", str(files["a"]), "--input", str(files["in"]))
    assert code == 0, err
    assert "port-strike" in out


def test_deliver_needs_the_subscription_to_resolve(files: dict[str, Path]) -> None:
    code, _, err = invoke(
        "--rules", str(files["a"]), "--input", str(files["in"]), "--deliver", "desk"
    )
    assert code == 1
    assert "BACKTEST_TEST_URL" in err


def test_compare_and_labels_in_json(files: dict[str, Path], tmp_path: Path) -> None:
    labels = write_jsonl(
        tmp_path / "labels.jsonl",
        [
            {"article_id": "a5", "rule_id": "rates", "relevant": True},
            {"article_id": "a2", "rule_id": "rates", "relevant": True},
        ],
    )
    code, out, err = invoke(
        "--rules",
        str(files["a"]),
        "--compare",
        str(files["b"]),
        "--input",
        str(files["in"]),
        "--input",
        str(files["gz"]),
        "--labels",
        str(labels),
        "--format",
        "json",
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["compare"]["totals"] == {"only_a": 1, "only_b": 2, "both": 2}
    rates_a = next(s for s in report["labels"]["rules"] if s["rule_id"] == "rates")
    rates_b = next(s for s in report["compare"]["labels"]["rules"] if s["rule_id"] == "rates")
    assert (rates_a["recall"], rates_a["misses"]) == (0.5, ["a5"])
    assert (rates_b["recall"], rates_b["misses"]) == (1.0, [])


def test_text_report_lists_rules_diff_and_silent_rules(files: dict[str, Path]) -> None:
    code, out, _ = invoke(
        "--rules",
        str(files["a"]),
        "--compare",
        str(files["b"]),
        "--input",
        str(files["in"]),
        "--input",
        str(files["gz"]),
    )
    assert code == 0
    assert "rules that never fired (1):" in out
    assert "volcano" in out
    assert "port-strike: -1 +0 =1" in out
    assert "floods: -0 +1 =0  (only in B)" in out
    assert "[Central bank raises rates]" in out  # highlighted sample headline


def test_html_report_is_one_self_contained_file(files: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    code, out, err = invoke(
        "--rules",
        str(files["a"]),
        "--compare",
        str(files["b"]),
        "--input",
        str(files["in"]),
        "--format",
        "html",
        "--output",
        str(target),
    )
    assert code == 0, err
    assert out == ""
    page = target.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "<link" not in page
    assert " src=" not in page
    assert "@import" not in page
    data = page.split('id="report-data">', 1)[1].split("</script>", 1)[0]
    report = json.loads(data)
    assert report["articles"] == 4
    assert "timeline" in report
    assert "matches" not in report  # bulk lists stay in the JSON format


def test_html_escapes_article_text_that_looks_like_markup(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(RULES_A)
    evil = dict(ARTICLES[0], title="Port strike </script><script>alert(1)</script>")
    write_jsonl(tmp_path / "in.jsonl", [evil])
    target = tmp_path / "r.html"
    code, _, _ = invoke(
        "--rules",
        str(tmp_path / "r.yaml"),
        "--input",
        str(tmp_path / "in.jsonl"),
        "--format",
        "html",
        "-o",
        str(target),
    )
    assert code == 0
    page = target.read_text()
    assert "<script>alert(1)" not in page
    assert page.count("</script>") == 2  # the data block and the code block only


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "exactly one"),
        (("--topic", "articles"), "--topic needs --from"),
        (("--input", "nope.jsonl"), "no such file"),
        (("--topic", "articles", "--from", "last week"), "cannot read time"),
        (("--input", "x.jsonl", "--from", "-1d"), "with --input every line is read"),
    ],
)
def test_usage_errors_exit_2(files: dict[str, Path], args: tuple[str, ...], message: str) -> None:
    code, _, err = invoke("--rules", str(files["a"]), *args)
    assert code == 2
    assert message in err


def test_invalid_rule_file_exits_1(tmp_path: Path, files: dict[str, Path]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nrules:\n  - id: x\n    all: []\n")
    code, _, err = invoke("--rules", str(bad), "--input", str(files["in"]))
    assert code == 1
    assert "bad.yaml" in err


def test_unreachable_broker_exits_1_with_the_reason(files: dict[str, Path]) -> None:
    # Port 1 on loopback: nothing listens there, the connection is refused at once.
    result = runner.invoke(
        app,
        ["--rules", str(files["a"]), "--topic", "articles", "--from", "-1d"],
        env={"NEWSALERT_KAFKA_BOOTSTRAP": "127.0.0.1:1"},
    )
    assert result.exit_code == 1
    assert "Kafka at 127.0.0.1:1" in result.stderr
