"""The HTML report in headless Chromium: it renders its charts with no console errors.

Skips when Chromium is absent (Debian package ``chromium``). Network is disabled for the
browser (every host resolves to nothing), so a report that fetched anything at view
time would log a failed load.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsalert.backtest.cli import app
from tests.unit.backtest.corpus import ARTICLES, RULES_A, RULES_B, write_jsonl

CHROMIUM = next(
    (
        p
        for p in (
            "/usr/bin/chromium",
            shutil.which("chromium") or "",
            shutil.which("chromium-browser") or "",
        )
        if p and Path(p).exists()
    ),
    None,
)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")


def chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--virtual-time-budget=5000",
            *extra,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


@pytest.fixture
def report(tmp_path: Path) -> Path:
    (tmp_path / "a.yaml").write_text(RULES_A)
    (tmp_path / "b.yaml").write_text(RULES_B)
    articles = write_jsonl(tmp_path / "in.jsonl", ARTICLES)
    labels = write_jsonl(
        tmp_path / "labels.jsonl",
        [{"article_id": "a1", "rule_id": "port-strike", "relevant": True}],
    )
    target = tmp_path / "report.html"
    result = CliRunner().invoke(
        app,
        [
            "--rules",
            str(tmp_path / "a.yaml"),
            "--compare",
            str(tmp_path / "b.yaml"),
            "--input",
            str(articles),
            "--labels",
            str(labels),
            "--format",
            "html",
            "-o",
            str(target),
        ],
    )
    assert result.exit_code == 0, result.stderr
    return target


def test_report_renders_charts_without_console_errors(report: Path, tmp_path: Path) -> None:
    done = chromium(report, tmp_path / "profile", "--dump-dom")
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []
    dom = done.stdout
    assert 'data-rendered="ok"' in dom
    chart = dom.split('id="timeline-chart"', 1)[1]
    assert len(re.findall(r"<rect[^>]*class=\"bar\"", chart)) == 3  # A: 3 alerts, 3 buckets
    table = dom.split('id="rules-table"', 1)[1].split("</table>", 1)[0]
    assert table.count('class="spark"') == 2  # one sparkline per rule of A with alerts
    diff = dom.split("Compare: A = ", 1)[1].split("</section>", 1)[0]
    assert diff.count('class="spark"') == 2 * 3  # A and B for each changed rule with alerts
    assert "Compare: A = " in dom
    assert "<mark>Central bank raises rates</mark>" in dom


def test_broken_script_would_be_caught(tmp_path: Path) -> None:
    """The console check above can fail: a page that throws is reported."""
    page = tmp_path / "broken.html"
    page.write_text("<html><body><script>null.x;</script></body></html>")
    done = chromium(page, tmp_path / "profile", "--dump-dom")
    assert any(":CONSOLE" in line and "Uncaught" in line for line in done.stderr.splitlines())


def test_screenshot(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    chromium(report, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1400,1800")
    assert shot.is_file()
    assert shot.stat().st_size > 10_000
