"""What a run produced: :class:`Report` and its collections, requests and steps.

A ``Report`` wraps the engine's own result (``_wsrun._Report``). Its attributes read the
``wsrun-report/1`` document, the one ``wsrun run --report json=FILE`` writes; ``to_dict()``,
``to_junit()`` and ``to_html()`` are the CLI's ``--report`` renderers. Durations are in seconds.
"""

from __future__ import annotations

import html
from typing import Any, Dict, List, Optional

from . import _wsrun


class StepResult:
    """One step of a request: ``passed``, ``status`` (passed/failed/skipped), ``keyword``,
    ``line``, ``latency`` and, when it failed, ``error`` (the summary), ``path``, ``expected``,
    ``actual``, ``message``, ``detail``, ``connection`` and ``stream`` (the values the JSON report
    holds)."""

    __slots__ = ("_d",)

    def __init__(self, data: Dict[str, Any]) -> None:
        self._d = data

    @property
    def index(self) -> int:
        return self._d["index"]

    @property
    def keyword(self) -> str:
        return self._d["keyword"]

    @property
    def line(self) -> int:
        return self._d["line"]

    @property
    def status(self) -> str:
        return self._d["status"]

    @property
    def passed(self) -> bool:
        return self._d["status"] == "passed"

    @property
    def duration(self) -> float:
        return self._d["duration_ms"] / 1000

    @property
    def messages(self) -> int:
        return self._d["messages"]

    @property
    def latency(self) -> Optional[float]:
        """The round-trip time in seconds of a step that waits for the answer to what it sent
        (``call``, ``calls``, ``send`` with ``reply``); None for other steps."""
        latency = self._d.get("latency_ms")
        return None if latency is None else latency / 1000

    @property
    def failure(self) -> Optional[Dict[str, Any]]:
        """The failure as the JSON report has it, or None."""
        return self._d["failure"]

    def _failure(self, key: str) -> Any:
        failure = self._d["failure"]
        return None if failure is None else failure[key]

    @property
    def error(self) -> Optional[str]:
        return self._failure("summary")

    @property
    def connection(self) -> Optional[str]:
        return self._failure("connection")

    @property
    def path(self) -> Optional[str]:
        return self._failure("path")

    @property
    def expected(self) -> Any:
        return self._failure("expected")

    @property
    def actual(self) -> Any:
        return self._failure("actual")

    @property
    def message(self) -> Any:
        return self._failure("message")

    @property
    def detail(self) -> Optional[str]:
        return self._failure("detail")

    @property
    def stream(self) -> Optional[List[Dict[str, Any]]]:
        """The stream properties that did not hold over the step's window, as the JSON report
        has them (``property``, ``path``, ``index``, ``window``, ``value``, ``previous``,
        ``gaps``, …), or None."""
        return self._failure("stream")

    def to_dict(self) -> Dict[str, Any]:
        return dict(self._d)

    def __repr__(self) -> str:
        return f"<StepResult {self.index} {self.keyword} line {self.line}: {self.status}>"


class RequestResult:
    """One request: ``passed``, ``name``, ``duration``, ``steps``, ``error`` (the first
    failure's summary), ``failure_text`` (wsrun's own failure report, as the CLI prints it) and
    ``transcript`` (its frames)."""

    __slots__ = ("_d", "collection", "_index")

    def __init__(self, data: Dict[str, Any], collection: "CollectionResult", index: int) -> None:
        self._d = data
        self.collection = collection
        self._index = index

    @property
    def name(self) -> str:
        return self._d["name"]

    @property
    def line(self) -> int:
        return self._d["line"]

    @property
    def passed(self) -> bool:
        return self._d["passed"]

    @property
    def duration(self) -> float:
        return self._d["duration_ms"] / 1000

    @property
    def failure_text(self) -> Optional[str]:
        c = self.collection
        return c._report._native.failure_text(c._index, self._index)

    @property
    def transcript(self) -> List[Dict[str, Any]]:
        """The frames: ``at_ms``, ``direction``, ``connection``, ``kind``, ``payload``."""
        return self._d["transcript"]["frames"]

    @property
    def steps(self) -> List[StepResult]:
        return [StepResult(s) for s in self._d["steps"]]

    @property
    def failed_step(self) -> Optional[StepResult]:
        for s in self._d["steps"]:
            if s["status"] == "failed":
                return StepResult(s)
        return None

    @property
    def error(self) -> Optional[str]:
        """The first failure: the request's own (e.g. it could not connect) or its failing
        step's."""
        if self._d["error"] is not None:
            return self._d["error"]["summary"]
        step = self.failed_step
        return None if step is None else step.error

    def to_dict(self) -> Dict[str, Any]:
        return self._d

    def __repr__(self) -> str:
        state = "passed" if self.passed else f"failed: {self.error}"
        return f"<RequestResult {self.name!r} {state}>"


class CollectionResult:
    """One collection file: ``path``, ``name``, ``env``, ``passed`` and its ``requests``."""

    __slots__ = ("_d", "_report", "_index")

    def __init__(self, data: Dict[str, Any], report: "Report", index: int) -> None:
        self._d = data
        self._report = report
        self._index = index

    @property
    def path(self) -> str:
        return self._d["path"]

    @property
    def name(self) -> str:
        return self._d["name"]

    @property
    def env(self) -> Optional[str]:
        return self._d["env"]

    @property
    def passed(self) -> bool:
        return self._d["passed"]

    @property
    def duration(self) -> float:
        return self._d["duration_ms"] / 1000

    @property
    def requests(self) -> List[RequestResult]:
        return [RequestResult(r, self, i) for i, r in enumerate(self._d["requests"])]

    def to_dict(self) -> Dict[str, Any]:
        return self._d

    def __repr__(self) -> str:
        return f"<CollectionResult {self.path!r} ({len(self._d['requests'])} requests)>"


class Report:
    """What a run produced. ``passed``, ``requests`` (of every collection, in order),
    ``collections``, ``duration``, ``stopped`` (None, ``"interrupted"``, ``"timeout"`` or
    ``"fail_fast"``); ``to_dict()``, ``to_junit()``, ``to_html()``; shows as a table in
    Jupyter."""

    __slots__ = ("_native", "_d")

    def __init__(self, native: _wsrun._Report) -> None:
        self._native = native
        self._d: Dict[str, Any] = native.to_dict()

    @property
    def passed(self) -> bool:
        return self._d["passed"]

    @property
    def duration(self) -> float:
        return self._d["duration_ms"] / 1000

    @property
    def stopped(self) -> Optional[str]:
        return self._d["stopped"]

    @property
    def collections(self) -> List[CollectionResult]:
        return [CollectionResult(c, self, i) for i, c in enumerate(self._d["collections"])]

    @property
    def requests(self) -> List[RequestResult]:
        return [r for c in self.collections for r in c.requests]

    @property
    def failed(self) -> List[RequestResult]:
        return [r for r in self.requests if not r.passed]

    def __bool__(self) -> bool:
        return bool(self.passed)

    def to_dict(self) -> Dict[str, Any]:
        """The JSON report (format ``wsrun-report/1``) as plain data: the document
        ``--report json=FILE`` writes."""
        return self._native.to_dict()

    def to_junit(self) -> str:
        """JUnit XML, as ``--report junit=FILE`` writes it."""
        return self._native.to_junit()

    def to_html(self) -> str:
        """The standalone HTML page ``--report html=FILE`` writes."""
        return self._native.to_html()

    def _repr_html_(self) -> str:
        e = html.escape
        rows = []
        for c in self.collections:
            for r in c.requests:
                style = "" if r.passed else ' style="background:#fdecea"'
                mark = (
                    '<span style="color:#1a7f37">&#10003;</span>'
                    if r.passed
                    else '<span style="color:#cf222e">&#10007;</span>'
                )
                detail = (
                    ""
                    if r.passed
                    else f'<pre style="margin:0;white-space:pre-wrap">{e(r.failure_text or "")}</pre>'
                )
                rows.append(
                    f"<tr{style}><td>{mark}</td><td>{e(c.name or c.path)}</td>"
                    f"<td>{e(r.name)}</td><td>{r.duration * 1000:.0f} ms</td>"
                    f"<td>{detail}</td></tr>"
                )
        summary = self._d["summary"]
        color = "#1a7f37" if self.passed else "#cf222e"
        text = f"{summary['passed']} passed"
        if summary["failed"]:
            text += f", {summary['failed']} failed"
        if self.stopped:
            text += f" (stopped: {e(self.stopped)})"
        return (
            '<div class="wsrun-report">'
            f'<p><b style="color:{color}">wsrun: {text}</b> in {self.duration:.2f}s</p>'
            "<table><thead><tr><th></th><th>collection</th><th>request</th><th>time</th>"
            "<th>failure</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table></div>"
        )

    def __repr__(self) -> str:
        summary = self._d["summary"]
        state = "passed" if self.passed else "failed"
        return (
            f"<Report {state}: {summary['requests']} requests, {summary['passed']} passed, "
            f"{summary['failed']} failed, {self.duration:.2f}s>"
        )
