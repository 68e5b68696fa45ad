"""``newsalert rules check --subscriptions`` refuses webhook URLs and secrets the dispatcher
cannot use.

Each is a normal problem at its file:line:column, reported together with the others, and
the message repeats neither the URL nor the secret.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsalert.cli import app

runner = CliRunner()

GOOD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BAD_SECRET = "whsec_!!not*base64!!"

CONFIG = f"""\
version: 1
rules:
  - id: port-strike
    all: [port, strike]
subscriptions:
  - id: octal
    url: http://0177.0.0.1/hook
    secret: {GOOD_SECRET}
  - id: broken-secret
    url: https://hooks.example.com/x
    secret: "{BAD_SECRET}"
  - id: fine
    url: https://hooks.example.com/y
    secret: {GOOD_SECRET}
"""


def test_check_reports_bad_url_and_bad_secret_with_positions(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    result = runner.invoke(app, ["rules", "check", "--subscriptions", str(path)])
    assert result.exit_code == 1, result.output
    assert f"{path}:7:10: octal: url: " in result.output
    assert "0177.0.0.1" in result.output  # httpx's reason names the host it refuses
    assert f"{path}:11:13: broken-secret: secret: " in result.output
    assert "not valid base64" in result.output
    assert BAD_SECRET not in result.output
    assert "fine:" not in result.output
    assert "2 error(s)" in result.output


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://[::1/hook", "not one httpx can send to"),
        ("http://hooks.example.com:99999/", "outside 1-65535"),
        ("http:///nohost", "has no host"),
        ('"http://hooks.example.com/a b"', "spaces or control characters"),
        ("ftp://hooks.example.com/", "must start with http:// or https://"),
    ],
)
def test_check_refuses_urls_the_sender_cannot_post_to(
    tmp_path: Path, url: str, reason: str
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "version: 1\nrules:\n  - {id: r, all: [x]}\nsubscriptions:\n"
        f"  - id: s\n    url: {url}\n    secret: {GOOD_SECRET}\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["rules", "check", "--subscriptions", str(path)])
    assert result.exit_code == 1, result.output
    assert f"{path}:6:10: s: url: " in result.output
    assert reason in result.output
