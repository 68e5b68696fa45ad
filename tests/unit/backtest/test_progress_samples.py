"""Progress bar text and sample highlighting helpers."""

from __future__ import annotations

import io

from newsalert.backtest.progress import ProgressBar
from newsalert.backtest.samples import _snippet, marked


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_line_has_rate_share_and_eta() -> None:
    clock = FakeClock()
    done = {"value": 0.0}
    bar = ProgressBar(io.StringIO(), done=lambda: done["value"], total=lambda: 1000.0, clock=clock)
    clock.now += 10
    done["value"] = 250.0
    bar.count = 5000
    line = bar.line()
    assert "25.0%" in line
    assert "500/s" in line
    assert "ETA 00:30" in line  # 10 s for a quarter -> 30 s to go


def test_progress_without_total_shows_rate_only() -> None:
    clock = FakeClock()
    bar = ProgressBar(io.StringIO(), done=lambda: 0.0, total=lambda: None, clock=clock)
    clock.now += 2
    bar.count = 100
    assert "ETA" not in bar.line()
    assert "50/s" in bar.line()


def test_progress_on_a_pipe_prints_lines_only_now_and_then() -> None:
    clock = FakeClock()
    stream = io.StringIO()
    bar = ProgressBar(stream, done=lambda: 0.0, total=lambda: 10.0, clock=clock)
    for count in range(1, 1000):
        bar.update(count)
    assert stream.getvalue() == ""  # no time passed
    clock.now += 6
    bar.update(1024)
    bar.close()
    assert stream.getvalue().count("\n") == 2
    assert "\r" not in stream.getvalue()


def test_marked_wraps_each_span() -> None:
    assert marked("port strike today", ((0, 4), (5, 11)), "<", ">") == "<port> <strike> today"


def test_snippet_rebases_marks_and_cuts_at_words() -> None:
    body = "word " * 40 + "TARGET here " + "tail " * 80
    start = body.index("TARGET")
    snippet, marks = _snippet(body, ((start, start + 6),))
    assert snippet.startswith("…")
    assert snippet.endswith("…")
    assert [snippet[s:e] for s, e in marks] == ["TARGET"]
    assert "wor " not in snippet[:5]
