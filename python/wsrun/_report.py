"""What a run produced: :class:`Report` and its collections, requests and steps.

A ``Report`` wraps the engine's own result (``_wsrun._Report``). Its attributes read the
``wsrun-report/1`` document, the one ``wsrun run --report json=FILE`` writes; ``to_dict()``,
``to_junit()`` and ``to_html()`` are the CLI's ``--report`` renderers. Durations are in seconds.
"""

from __future__ import annotations

import importlib

from typing import Any, Dict, List, Optional, cast

from . import _wsrun
from typing import TYPE_CHECKING

from ._types import (
    CollectionDict,
    FailureDict,
    FrameDict,
    ReportDict,
    RequestDict,
    StepDict,
    ViolationDict,
)

if TYPE_CHECKING:
    from ._types import _StepStatus, _Stopped


class StepResult:
    """One step of a request: ``passed``, ``status`` (passed/failed/skipped), ``keyword``,
    ``line``, ``latency`` and, when it failed, ``error`` (the summary), ``path``, ``expected``,
    ``actual``, ``message``, ``detail``, ``connection`` and ``stream`` (the values the JSON report
    holds)."""

    __slots__ = ("_d",)

    def __init__(self, data: StepDict) -> None:
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
    def status(self) -> _StepStatus:
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
    def failure(self) -> Optional[FailureDict]:
        """The failure as the JSON report has it, or None."""
        return self._d["failure"]

    @property
    def error(self) -> Optional[str]:
        f = self._d["failure"]
        return None if f is None else f["summary"]

    @property
    def connection(self) -> Optional[str]:
        f = self._d["failure"]
        return None if f is None else f["connection"]

    @property
    def path(self) -> Optional[str]:
        f = self._d["failure"]
        return None if f is None else f["path"]

    @property
    def expected(self) -> Any:
        f = self._d["failure"]
        return None if f is None else f["expected"]

    @property
    def actual(self) -> Any:
        f = self._d["failure"]
        return None if f is None else f["actual"]

    @property
    def message(self) -> Any:
        f = self._d["failure"]
        return None if f is None else f["message"]

    @property
    def detail(self) -> Optional[str]:
        f = self._d["failure"]
        return None if f is None else f["detail"]

    @property
    def stream(self) -> Optional[List[ViolationDict]]:
        """The stream properties that did not hold over the step's window, as the JSON report
        has them (``property``, ``path``, ``index``, ``window``, ``value``, ``previous``,
        ``gaps``, …), or None."""
        f = self._d["failure"]
        return None if f is None else f["stream"]

    def to_dict(self) -> StepDict:
        return cast(StepDict, dict(self._d))

    def __repr__(self) -> str:
        return f"<StepResult {self.index} {self.keyword} line {self.line}: {self.status}>"


class RequestResult:
    """One request: ``passed``, ``name``, ``duration``, ``steps``, ``error`` (the first
    failure's summary), ``failure_text`` (wsrun's own failure report, as the CLI prints it),
    ``captures`` (the values its steps captured or set) and ``transcript`` (its frames)."""

    __slots__ = ("_d", "collection", "_index")

    def __init__(self, data: RequestDict, collection: "CollectionResult", index: int) -> None:
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
        """The failure as the CLI prints it (step, file:line, path, expected, actual, message),
        or None when the request passed."""
        return None if self.passed else self._failure_text(None)

    def _failure_text(self, root: Optional[str]) -> str:
        c = self.collection
        text = c._report._native.failure_text(c._index, self._index, root)
        return text if text is not None else (self.error or "")

    @property
    def captures(self) -> Dict[str, Any]:
        """The values the request's ``capture`` and ``set`` steps stored, by name, as it ended
        (a secret's value is ``"***"``, and secrets inside other values are masked): what to
        hand to :func:`wsrun.connect` or another request. Empty for a ``load:`` request."""
        c = self.collection
        return c._report._native.captures(c._index, self._index)

    @property
    def transcript(self) -> List[FrameDict]:
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

    def to_dict(self) -> RequestDict:
        return self._d

    def __repr__(self) -> str:
        state = "passed" if self.passed else f"failed: {self.error}"
        return f"<RequestResult {self.name!r} {state}>"


class CollectionResult:
    """One collection file: ``path``, ``name``, ``env``, ``passed`` and its ``requests``."""

    __slots__ = ("_d", "_report", "_index")

    def __init__(self, data: CollectionDict, report: "Report", index: int) -> None:
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

    def to_dict(self) -> CollectionDict:
        return self._d

    def __repr__(self) -> str:
        return f"<CollectionResult {self.path!r} ({len(self._d['requests'])} requests)>"


#: The columns of :meth:`Report.rows` and :meth:`Report.to_pandas`, in order.
ROW_COLUMNS = (
    "collection", "request", "step", "keyword", "line", "status", "passed", "duration_s",
    "latency_s", "messages", "connection", "path", "expected", "actual", "error",
)


class Report:
    """What a run produced. ``passed``, ``requests`` (of every collection, in order),
    ``collections``, ``duration``, ``stopped`` (None, ``"interrupted"``, ``"timeout"`` or
    ``"fail_fast"``); ``to_dict()``, ``to_junit()``, ``to_html()``; ``raise_for_failures()``;
    shows as a table in Jupyter."""

    __slots__ = ("_native", "_d")

    def __init__(self, native: _wsrun._Report) -> None:
        self._native = native
        self._d: ReportDict = native.to_dict()

    @property
    def passed(self) -> bool:
        return self._d["passed"]

    @property
    def duration(self) -> float:
        return self._d["duration_ms"] / 1000

    @property
    def stopped(self) -> Optional[_Stopped]:
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

    def failure_text(self) -> str:
        """Every failure as the CLI prints it, each under its collection and request; empty
        when the run passed."""
        parts = []
        for r in self.failed:
            body = "".join("  " + line + "\n" for line in r._failure_text(None).splitlines())
            parts.append(f"{r.collection.name} \u203a {r.name}\n{body}")
        if self.stopped and not self.passed:
            parts.append(f"the run stopped early ({self.stopped})\n")
        return "".join(parts)

    def raise_for_failures(self) -> "Report":
        """Raises :class:`AssertionFailed` carrying :meth:`failure_text` when the run failed;
        returns the report when it passed (``wsrun.run(...).raise_for_failures()``)."""
        __tracebackhide__ = True
        if self.passed:
            return self
        summary = self._d["summary"]
        head = f"{summary['failed']} of {summary['requests']} requests failed\n"
        error = _wsrun.AssertionFailed(head + self.failure_text())
        failed = self.failed
        error.failure = _first_failure(failed[0]) if failed else None
        raise error

    def to_dict(self) -> ReportDict:
        """The JSON report (format ``wsrun-report/1``) as plain data: the document
        ``--report json=FILE`` writes."""
        return self._native.to_dict()

    def to_junit(self) -> str:
        """JUnit XML, as ``--report junit=FILE`` writes it."""
        return self._native.to_junit()

    def to_html(self) -> str:
        """The standalone HTML page ``--report html=FILE`` writes."""
        return self._native.to_html()

    def rows(self) -> List[Dict[str, Any]]:
        """One flat row per step of every request, in run order; a request's own failure (a
        refused connection, say) is a row of its own with ``step`` None, before its steps. The
        table :meth:`to_pandas` makes, as plain dicts."""
        out: List[Dict[str, Any]] = []
        for r in self.requests:
            base: Dict[str, Any] = dict.fromkeys(ROW_COLUMNS)
            base.update(collection=r.collection.path, request=r.name)
            own = r.to_dict()["error"]
            if own is not None or not r.steps:
                # The request's own failure (it could not connect, say), before its steps.
                row = dict(base, passed=r.passed, duration_s=r.duration)
                row.update(status="passed" if r.passed else "failed")
                row.update(error=None if own is None else own["summary"])
                out.append(row)
            for s in r.steps:
                row = dict(base)
                row.update(step=s.index, keyword=s.keyword, line=s.line, status=s.status)
                row.update(passed=s.passed, duration_s=s.duration, latency_s=s.latency)
                row.update(messages=s.messages, connection=s.connection, path=s.path)
                row.update(expected=s.expected, actual=s.actual, error=s.error)
                out.append(row)
        return out

    def to_pandas(self) -> Any:
        """:meth:`rows` as a ``pandas.DataFrame`` (columns :data:`ROW_COLUMNS`). pandas is
        optional: ``pip install 'wsrun[notebook]'`` brings it."""
        try:
            # Imported by name: pandas is optional, and its type stubs are a separate package.
            pandas = importlib.import_module("pandas")
        except ImportError as e:
            raise ImportError(
                "Report.to_pandas() needs pandas: pip install pandas (or 'wsrun[notebook]')"
            ) from e
        return pandas.DataFrame(self.rows(), columns=list(ROW_COLUMNS))

    def _repr_html_(self) -> str:
        from ._html import report_html

        return report_html(self)

    def __repr__(self) -> str:
        summary = self._d["summary"]
        state = "passed" if self.passed else "failed"
        text = (
            f"<Report {state}: {summary['requests']} requests, {summary['passed']} passed, "
            f"{summary['failed']} failed, {self.duration:.2f}s"
        )
        failed = self.failed
        if failed:
            # `assert report.passed` shows this repr: name the first failure.
            first = failed[0]._failure_text(None).strip().splitlines()
            text += f"; first: {failed[0].name!r}: {first[0] if first else failed[0].error}"
        elif self.stopped:
            text += f"; stopped: {self.stopped}"
        return text + ">"


def _first_failure(r: RequestResult) -> Optional[FailureDict]:
    data = r.to_dict()
    if data["error"] is not None:
        return data["error"]
    step = r.failed_step
    return None if step is None else step.failure
