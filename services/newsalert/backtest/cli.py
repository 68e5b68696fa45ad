"""``newsalert backtest``: match a file of articles against a rule file, offline.

No Kafka or Redis: every article of a JSON Lines file (optionally gzip'd) is matched
with the compiled rules and every raw match (before any dedupe) is printed as one JSON
object, sorted by article id then rule id::

    {"articles": N, "invalid": K, "matches": [{"article_id": ..., "rule_id": ...}, ...]}

Other tools read this shape; extend it only by adding keys.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO, Annotated

import typer
from pydantic import ValidationError

from newsalert.config import load_config
from newsalert.errors import ConfigError
from newsalert.models import Article
from newsalert.rules import CompiledRules, Document

app = typer.Typer(help="Replay articles against rules to see what would have fired.")


class OutputFormat(StrEnum):
    """How results are printed."""

    json = "json"
    text = "text"


def _open(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def read_articles(path: Path, invalid: list[str]) -> Iterator[Article]:
    """Articles of a JSONL(.gz) file; unparsable lines are described in ``invalid``."""
    with _open(path) as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                yield Article.model_validate(json.loads(line))
            except (ValueError, ValidationError) as exc:
                reason = str(exc).splitlines()[0]
                invalid.append(f"{path}:{number}: {reason}")


@dataclass
class OfflineResult:
    """Raw matches of an offline run, as ``(article_id, rule_id)`` pairs, sorted."""

    articles: int = 0
    pairs: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        """The JSON contract (see the module docstring)."""
        return {
            "articles": self.articles,
            "invalid": len(self.errors),
            "matches": [{"article_id": a, "rule_id": r} for a, r in self.pairs],
        }


def run_offline(compiled: CompiledRules, path: Path) -> OfflineResult:
    """Match every article of ``path`` with ``compiled``."""
    result = OfflineResult()
    for article in read_articles(path, result.errors):
        result.articles += 1
        result.pairs.extend(
            (article.id, match.rule_id) for match in compiled.match(Document.from_article(article))
        )
    result.pairs.sort()
    return result


@app.callback(invoke_without_command=True)
def backtest(
    rules: Annotated[Path, typer.Option("--rules", help="Rule file or directory.")],
    input_path: Annotated[
        Path, typer.Option("--input", help="Articles, JSON Lines (.jsonl or .jsonl.gz).")
    ],
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="json (the contract) or text.")
    ] = OutputFormat.json,
) -> None:
    """Match every article of --input against --rules and print every raw match."""
    try:
        compiled = load_config(rules, env=os.environ).rules.compile()
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    try:
        result = run_offline(compiled, input_path)
    except OSError as exc:
        typer.echo(f"error: cannot read {input_path}: {exc}", err=True)
        raise typer.Exit(1) from exc
    for line in result.errors:
        typer.echo(f"invalid article: {line}", err=True)
    if output_format is OutputFormat.json:
        json.dump(result.to_json(), sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
        return
    for article_id, rule_id in result.pairs:
        typer.echo(f"{article_id}\t{rule_id}")
    typer.echo(f"{result.articles} articles, {len(result.pairs)} matches")
