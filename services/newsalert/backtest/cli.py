"""``newsalert backtest`` and ``newsalert replay``: what would these rules have done?

``app`` is a Typer app whose callback *is* the backtest, so mounting it as a sub-app
named ``backtest`` gives ``newsalert backtest --rules …``; :func:`replay` is a plain
command function to mount as ``newsalert replay``. Settings (broker, prefixes, windows)
come from ``NEWSALERT_*`` environment variables, read once here at the edge.
"""

from __future__ import annotations

import asyncio
import enum
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from newsalert.backtest.compare import compare
from newsalert.backtest.engine import Arm, BacktestOptions, run_backtest
from newsalert.backtest.kafka_range import KafkaRange
from newsalert.backtest.labels import load_labels, score
from newsalert.backtest.progress import ProgressBar
from newsalert.backtest.records import FileSource, RecordSource
from newsalert.backtest.report import BacktestResult
from newsalert.backtest.ruleload import load_backtest_config
from newsalert.config import Config
from newsalert.errors import NewsalertError
from newsalert.gcpause import paused_gc
from newsalert.lifecycle import settings_or_exit
from newsalert.pipeline.eventtime import EventTimeBounds
from newsalert.timespec import parse_duration, parse_time


class Format(enum.StrEnum):
    """Report formats."""

    TEXT = "text"
    JSON = "json"
    HTML = "html"


app = typer.Typer(
    help="What would these rules have done? Run them over past articles (JSONL files, or a "
    "topic's time range) with the live matcher and dedupe in an isolated in-memory "
    "namespace, and report per-rule matches, alerts, folds, samples, silent and slow rules; "
    "--compare diffs two rule files, --labels scores them. Dry-run unless --deliver. "
    "Exit 1 on errors, 2 on bad usage.",
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    subcommand_metavar="",
)


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _progress(enabled: bool | None, source: RecordSource) -> ProgressBar | None:
    show = sys.stderr.isatty() if enabled is None else enabled
    if not show:
        return None
    return ProgressBar(
        sys.stderr, done=lambda: source.done, total=lambda: source.total, label="records"
    )


def _load(path: Path, *, need_subscriptions: bool) -> Config:
    try:
        return load_backtest_config(path, os.environ, need_subscriptions=need_subscriptions)
    except NewsalertError as exc:
        raise _fail(str(exc)) from exc


@app.callback(invoke_without_command=True)
def backtest(
    rules: Annotated[Path, typer.Option("--rules", help="Rule file (YAML file or directory).")],
    inputs: Annotated[
        list[Path] | None,
        typer.Option("--input", help="JSON Lines articles (.jsonl or .jsonl.gz); repeatable."),
    ] = None,
    topic: Annotated[
        str | None, typer.Option("--topic", help="Read this topic instead (prefix is added).")
    ] = None,
    from_: Annotated[
        str | None,
        typer.Option(
            "--from", help="With --topic: first record time (inclusive): ISO 8601, -7d, now."
        ),
    ] = None,
    to: Annotated[
        str, typer.Option("--to", help="With --topic: end of the range (exclusive).")
    ] = "now",
    lateness: Annotated[
        str,
        typer.Option(
            help="Keep reading a partition this long past --to for records whose timestamps "
            "are out of order (e.g. '1h'); 0 stops at the first record at or after --to."
        ),
    ] = "0",
    compare_rules: Annotated[
        Path | None,
        typer.Option("--compare", help="Second rule file: show alerts only in A, only in B."),
    ] = None,
    labels: Annotated[
        Path | None,
        typer.Option(
            "--labels", help='JSONL {"article_id", "rule_id", "relevant"}: precision/recall/F1.'
        ),
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", help="Report format.")] = Format.TEXT,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report here (default stdout).")
    ] = None,
    deliver: Annotated[
        str | None,
        typer.Option(
            "--deliver",
            help="Really send the alerts for this subscription's rules (to the alerts topic).",
        ),
    ] = None,
    samples: Annotated[int, typer.Option(help="Sample headlines per rule.")] = 3,
    all_rules: Annotated[bool, typer.Option(help="List every rule in the text report.")] = False,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify",
            help="Also check the rule index against the brute-force evaluator on every "
            "16th article (slow with many rules); disagreements are reported.",
        ),
    ] = False,
    progress: Annotated[
        bool | None,
        typer.Option(
            "--progress/--no-progress", help="Progress bar on stderr (default: if a tty)."
        ),
    ] = None,
) -> None:
    """Run rules over past articles (a file or a topic's time range) with the live
    matcher and dedupe, in an isolated in-memory namespace, and report what they did.

    Dry-run unless --deliver. Exit 1 on errors, 2 on bad usage.
    """
    if (inputs is None) == (topic is None):
        raise _fail("give --input FILE… or --topic TOPIC --from TIME (exactly one of them)", 2)
    if topic is not None and from_ is None:
        raise _fail("--topic needs --from (and optionally --to, default now)", 2)
    if inputs is not None and (from_ is not None or to != "now"):
        raise _fail("--from/--to select a topic's time range; with --input every line is read", 2)
    settings = settings_or_exit(configure_log=False)
    try:
        start = parse_time(from_) if from_ is not None else None
        end = parse_time(to) if topic is not None else None
        allowed_lateness = parse_duration(lateness)
        labelled = load_labels(labels) if labels is not None else None
    except NewsalertError as exc:
        raise _fail(str(exc), 2) from exc
    config = _load(rules, need_subscriptions=deliver is not None)
    subscription = None
    if deliver is not None:
        subscription = config.subscription(deliver)
        if subscription is None:
            raise _fail(f"no subscription {deliver!r} in {rules}")
    other = _load(compare_rules, need_subscriptions=False) if compare_rules else None
    options = BacktestOptions(
        repeat_interval=timedelta(seconds=settings.repeat_interval_s),
        story_window=timedelta(seconds=settings.story_window_s),
        max_article_bytes=settings.max_article_bytes,
        samples=samples,
        verify=verify,
        subscriptions=() if subscription is None else (subscription,),
        event_time_bounds=EventTimeBounds.from_settings(settings),
    )
    arms = [Arm(str(rules), config, options)]
    if other is not None and compare_rules is not None:
        arms.append(Arm(str(compare_rules), other, options))
    source: RecordSource
    if inputs is not None:
        missing = [str(path) for path in inputs if not path.is_file()]
        if missing:
            raise _fail(f"no such file: {', '.join(missing)}", 2)
        source = FileSource(inputs)
    else:
        assert topic is not None
        assert start is not None
        assert end is not None
        source = KafkaRange(settings, settings.topic(topic), start, end, lateness=allowed_lateness)
    bar = _progress(progress, source)

    async def go() -> BacktestResult:
        if isinstance(source, KafkaRange):
            async with source:
                return await run_backtest(
                    source, arms, options, on_record=bar.update if bar else None
                )
        return await run_backtest(source, arms, options, on_record=bar.update if bar else None)

    try:
        result = asyncio.run(go())
    except NewsalertError as exc:
        raise _fail(str(exc)) from exc
    finally:
        if bar is not None:
            bar.close()
    result.requested_from, result.requested_to = start, end
    if isinstance(source, KafkaRange):
        result.scanned = source.scanned
    if len(result.arms) > 1:
        result.comparison = compare(result.arms[0], result.arms[1])
    if labelled is not None:
        result.labels = [score(arm, labelled, result.article_ids) for arm in result.arms]
    if subscription is not None:
        from newsalert.backtest.deliver import deliver_alerts, selected_alerts

        try:
            chosen = selected_alerts(subscription, result.arms[0].alerts)
            result.delivered = asyncio.run(deliver_alerts(settings, chosen))
            result.delivered_to = subscription.id
        except (NewsalertError, OSError) as exc:
            raise _fail(f"delivering failed: {exc}") from exc
    _write(result, fmt, output, all_rules=all_rules)


def _write(result: BacktestResult, fmt: Format, output: Path | None, *, all_rules: bool) -> None:
    data: bytes | str
    if fmt is Format.JSON:
        from newsalert.backtest.render_json import dumps, to_json

        # The report's data (a row per match and alert) is built and dropped with the
        # collector paused: no pass scans it between (newsalert.gcpause).
        with paused_gc():
            data = dumps(to_json(result)) + b"\n"
    elif fmt is Format.HTML:
        from newsalert.backtest.render_html import render_html

        with paused_gc():
            data = render_html(result, generated=datetime.now(tz=UTC))
    else:
        from newsalert.backtest.render_text import render_text

        color = output is None and sys.stdout.isatty()
        data = render_text(result, color=color, all_rules=all_rules)
    if output is None:
        if isinstance(data, bytes):
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            sys.stdout.write(data)
            sys.stdout.flush()
    else:
        if isinstance(data, bytes):
            output.write_bytes(data)
        else:
            output.write_text(data, encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)


def replay(
    topic: Annotated[str, typer.Option("--topic", help="Source topic (prefix is added).")],
    from_: Annotated[
        str, typer.Option("--from", help="First record time (inclusive): ISO 8601, -7d, now.")
    ],
    to_topic: Annotated[str, typer.Option("--to-topic", help="Target topic (prefix is added).")],
    to: Annotated[str, typer.Option("--to", help="End of the range (exclusive).")] = "now",
    lateness: Annotated[
        str, typer.Option(help="Keep reading this long past --to (out-of-order timestamps).")
    ] = "0",
    progress: Annotated[
        bool | None,
        typer.Option(
            "--progress/--no-progress", help="Progress bar on stderr (default: if a tty)."
        ),
    ] = None,
) -> None:
    """Copy a time range of a topic to another topic (keys, headers, timestamps kept)."""
    from newsalert.backtest.replay import replay_range

    settings = settings_or_exit(configure_log=False)
    try:
        start, end = parse_time(from_), parse_time(to)
        allowed = parse_duration(lateness)
    except NewsalertError as exc:
        raise _fail(str(exc), 2) from exc
    source_topic, target_topic = settings.topic(topic), settings.topic(to_topic)
    try:
        reader = KafkaRange(settings, source_topic, start, end, lateness=allowed)
    except NewsalertError as exc:
        raise _fail(str(exc), 2) from exc
    bar = _progress(progress, reader)
    try:
        result = asyncio.run(
            replay_range(
                settings,
                source_topic,
                target_topic,
                start,
                end,
                on_record=bar.update if bar else None,
                source=reader,
            )
        )
    except NewsalertError as exc:
        raise _fail(str(exc)) from exc
    finally:
        if bar is not None:
            bar.close()
    typer.echo(
        f"copied {result.copied} records from {source_topic} to {target_topic} "
        f"(read {result.scanned})"
    )


__all__ = ["app", "backtest", "replay"]
