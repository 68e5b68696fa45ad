"""The HTML report: one self-contained file (inline CSS, JS and SVG; no network at view time).

The report data is embedded as JSON (``<script type="application/json">``, with ``<``
escaped so no text can close the tag); the inline script draws the charts as SVG and
fills the tables with ``textContent`` only, so article text can never inject markup.
"""

from __future__ import annotations

import html
from datetime import datetime
from importlib import resources
from typing import Any

from newsalert.backtest.render_json import dumps, to_json
from newsalert.backtest.report import BacktestResult
from newsalert.backtest.timeline import timeline

#: The page shows the samples of this many rules (``report.js``), most alerts first.
SAMPLED_RULES = 200


def report_data(result: BacktestResult, generated: datetime) -> dict[str, Any]:
    """The JSON the page renders: the JSON report without its per-match and per-alert
    lists, plus timelines."""
    data = to_json(result, sampled_rules=SAMPLED_RULES, bulk=False)
    arms = tuple(result.arms)
    line = timeline(arms[0], span_of=arms[1:])
    data["timeline"] = {
        "unit": line.unit,
        "starts": [start.isoformat().replace("+00:00", "Z") for start in line.starts],
        "series": line.series,
    }
    if "compare" in data and len(arms) > 1:
        data["compare"]["series"] = timeline(arms[1], span_of=arms[:1]).series
    data["generated"] = generated.isoformat().replace("+00:00", "Z")
    return data


def _asset(name: str) -> str:
    return resources.files("newsalert.backtest.assets").joinpath(name).read_text(encoding="utf-8")


def render_html(result: BacktestResult, *, generated: datetime) -> str:
    """The whole report page."""
    payload = dumps(report_data(result, generated)).decode()
    payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    title = html.escape(f"Backtest: {result.arms[0].name}")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n"
        f"<style>\n{_asset('report.css')}</style>\n"
        "</head><body>\n"
        f'<header><h1>{title}</h1><p id="subtitle"></p></header>\n'
        "<noscript><p>This report draws its charts and tables with JavaScript; "
        "the same data is available with --format json.</p></noscript>\n"
        '<main id="report"></main>\n'
        f'<script type="application/json" id="report-data">{payload}</script>\n'
        f"<script>\n{_asset('report.js')}</script>\n"
        "</body></html>\n"
    )
