"""A :class:`Report` as HTML for Jupyter (``_repr_html_``): readable in light and dark themes.

Text takes the notebook's own colour and no cell gets a background; a failed request is marked
by a red bar and a cross, passing ones by a green tick. Failure text wraps (long JSON too), and
each request's steps open on demand (``<details>``). Columns that would be empty are left out.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, List

if TYPE_CHECKING:
    from ._report import Report, RequestResult

# Mid-tone marks that read on white and on near-black alike.
PASS = "#2da44e"
FAIL = "#e5534b"

_TABLE = "border-collapse:collapse;color:inherit;background:transparent;text-align:left"
_CELL = "padding:4px 8px;vertical-align:top;color:inherit;background:transparent;text-align:left"
_PRE = (
    "margin:4px 0 0;padding:0;white-space:pre-wrap;overflow-wrap:anywhere;"
    "color:inherit;background:transparent;font-size:0.9em"
)


def _steps(r: "RequestResult") -> str:
    e = html.escape
    rows = []
    steps = r.steps
    # A latency column only when some step has one (a round trip: call, reply).
    timed = any(s.latency is not None for s in steps)
    for s in steps:
        mark = {"passed": (PASS, "&#10003;"), "failed": (FAIL, "&#10007;")}.get(
            s.status, ("inherit", "&#8211;")
        )
        latency = ""
        if timed:
            value = "" if s.latency is None else f"round trip {s.latency * 1000:.1f} ms"
            latency = f'<td style="{_CELL}">{value}</td>'
        rows.append(
            f'<tr><td style="{_CELL};color:{mark[0]}">{mark[1]}</td>'
            f'<td style="{_CELL}">{s.index}</td><td style="{_CELL}">{e(s.keyword)}</td>'
            f'<td style="{_CELL}">line {s.line}</td><td style="{_CELL}">{e(s.status)}</td>'
            f'<td style="{_CELL}">{s.duration * 1000:.0f} ms</td>{latency}</tr>'
        )
    if not rows:
        return ""
    return (
        f'<details style="margin-top:4px"><summary style="cursor:pointer">{len(rows)} steps'
        f'</summary><table style="{_TABLE}">' + "".join(rows) + "</table></details>"
    )


def report_html(report: "Report") -> str:
    e = html.escape
    several = len(report.collections) > 1
    rows: List[str] = []
    for c in report.collections:
        for r in c.requests:
            color, mark = (PASS, "&#10003;") if r.passed else (FAIL, "&#10007;")
            bar = "transparent" if r.passed else FAIL
            failure = ""
            if not r.passed:
                failure = f'<pre style="{_PRE}">{e(r.failure_text or r.error or "")}</pre>'
            collection = f'<td style="{_CELL}">{e(c.name or c.path)}</td>' if several else ""
            rows.append(
                f'<tr class="{"passed" if r.passed else "failed"}">'
                f'<td style="{_CELL};border-left:4px solid {bar};color:{color}">{mark}</td>'
                f"{collection}"
                f'<td style="{_CELL}"><b>{e(r.name)}</b>{failure}{_steps(r)}</td>'
                f'<td style="{_CELL};white-space:nowrap">{r.duration * 1000:.0f} ms</td></tr>'
            )
    summary = report._d["summary"]
    text = f"{summary['passed']} passed"
    if summary["failed"]:
        text += f", {summary['failed']} failed"
    if report.stopped:
        text += f" (stopped: {e(report.stopped)})"
    color = PASS if report.passed else FAIL
    where = ""
    if len(report.collections) == 1:
        only = report.collections[0]
        where = f" &#183; {e(only.name or only.path)}"
    head = f'<th style="{_CELL}"></th>'
    if several:
        head += f'<th style="{_CELL}">collection</th>'
    head += f'<th style="{_CELL}">request</th><th style="{_CELL}">time</th>'
    return (
        '<div class="wsrun-report" style="color:inherit">'
        f'<p style="color:inherit"><b style="color:{color}">wsrun: {text}</b> in '
        f"{report.duration:.2f}s{where}</p>"
        f'<table style="{_TABLE}"><thead><tr>{head}</tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table></div>"
    )
