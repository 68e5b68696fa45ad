"""``newsalert rules ...``: validate a rule file, explain why a rule fires."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from newsalert.config import Config, load_config
from newsalert.errors import ConfigError
from newsalert.models import Article
from newsalert.rules.evaluation.document import Document
from newsalert.rules.evaluation.explain import Explanation, explain, near_summary
from newsalert.rules.language.problems import RuleFileError
from newsalert.rules.lint import lint

app = typer.Typer(help="Validate and explain watch rules.", no_args_is_help=True)

FileArg = Annotated[Path, typer.Argument(help="Config file (or directory of YAML files).")]


SubscriptionsOption = Annotated[
    bool,
    typer.Option(
        "--subscriptions",
        help="Also validate the subscriptions (their ${VAR}s must then be set). Without "
        "it they are not read: rules need no production secrets.",
    ),
]


def _load(path: Path, console: Console, *, subscriptions: bool) -> Config:
    try:
        return load_config(path, env=os.environ, subscriptions=subscriptions)
    except RuleFileError as exc:
        for problem in exc.problems:
            console.print(f"error: {problem}", markup=False, highlight=False)
        console.print(f"{len(exc.problems)} error(s)", highlight=False)
        raise typer.Exit(1) from exc
    except ConfigError as exc:
        console.print(f"error: {exc}", markup=False, highlight=False)
        raise typer.Exit(1) from exc


@app.command()
def check(
    path: FileArg,
    strict: Annotated[bool, typer.Option(help="Exit 1 on warnings too.")] = False,
    subscriptions: SubscriptionsOption = False,
) -> None:
    """Validate every rule (and with --subscriptions every subscription); warn about bad rules."""
    console = Console(highlight=False, soft_wrap=True)
    config = _load(path, console, subscriptions=subscriptions)
    warnings = lint(config.rules.rules)
    for warning in warnings:
        console.print(f"warning: {warning}", markup=False)
    compiled = config.rules.compile()
    console.print(
        f"ok: {len(config.rules)} rules ({compiled.unindexed} verified on every article), "
        f"{_subscriptions_checked(config, subscriptions)}, {len(warnings)} warning(s)",
        markup=False,
    )
    if strict and warnings:
        raise typer.Exit(1)


def _subscriptions_checked(config: Config, checked: bool) -> str:
    if not checked:
        return "subscriptions not checked (--subscriptions)"
    return f"{len(config.subscriptions)} subscriptions"


def _render(result: Explanation, console: Console) -> None:
    verdict = "[bold green]FIRES[/]" if result.fires else "[bold red]does not fire[/]"
    console.print(f"rule [bold]{result.rule.id}[/]: {verdict}")
    if not result.meta_ok:
        console.print(f"  filtered out: {result.meta_reason}", markup=False)
    for term in result.terms:
        mark = "✓" if term.matched else "✗"
        kind = "must not match" if term.negated else "keyword"
        where = ", ".join(f"{h.field}[{h.start}:{h.end}]" for h in term.hits[:12])
        more = f" (+{len(term.hits) - 12} more)" if len(term.hits) > 12 else ""
        style = ("red" if term.matched else "green") if term.negated else None
        if style is None:
            style = "green" if term.matched else "yellow"
        line = Text(f"  {mark} {kind} {term.text}", style=style)
        if where:
            line.append(f"  at {where}{more}")
        console.print(line)
    for name, text in result.texts.items():
        if not text:
            continue
        rendered = Text(text)
        for term in result.terms:
            colour = "bold white on red" if term.negated else "bold black on green"
            for hit in term.hits:
                if hit.field == name:
                    rendered.stylize(colour, hit.start, hit.end)
        console.print(Text(f"--- {name} ---", style="dim"))
        console.print(rendered)


@app.command("explain")
def explain_command(
    path: FileArg,
    rule: Annotated[str, typer.Option("--rule", help="Rule id.")],
    text: Annotated[str | None, typer.Option("--text", help="Body text to test.")] = None,
    title: Annotated[str, typer.Option("--title", help="Title text (with --text).")] = "",
    article: Annotated[
        Path | None, typer.Option("--article", help="Article JSON file to test.")
    ] = None,
    language: Annotated[str | None, typer.Option(help="Language (with --text).")] = None,
    source: Annotated[str | None, typer.Option(help="Source (with --text).")] = None,
    subscriptions: SubscriptionsOption = False,
) -> None:
    """Say whether a rule fires on a text or article, which keywords matched and where."""
    console = Console(highlight=False, soft_wrap=True)
    if (text is None) == (article is None):
        console.print("error: give exactly one of --text and --article")
        raise typer.Exit(2)
    config = _load(path, console, subscriptions=subscriptions)
    found = config.rules.get(rule)
    if found is None:
        console.print(f"error: no rule {rule!r} in {path}", markup=False)
        raise typer.Exit(1)
    if article is not None:
        try:
            parsed = Article.model_validate(json.loads(article.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            console.print(f"error: cannot read article {article}: {exc}", markup=False)
            raise typer.Exit(1) from exc
    else:
        parsed = Article(id="text", title=title, body=text or "", language=language, source=source)
    doc = Document.from_article(parsed)
    result = explain(found, doc, {"title": parsed.title, "body": parsed.body})
    _render(result, console)
    for chain, holds in near_summary(found, doc):
        console.print(f"  {'✓' if holds else '✗'} {chain}", markup=False)
    if not result.fires:
        raise typer.Exit(3)
