"""wsrun: a scriptable WebSocket test harness (the Rust engine of the ``wsrun`` CLI).

>>> import wsrun
>>> report = wsrun.run("collections/websocket.yaml", env="local")   # doctest: +SKIP
>>> report.passed, report.requests[0].steps[0].passed                # doctest: +SKIP

``run`` takes a path (file or folder), YAML text or a dict; ``run_async`` is the same for
asyncio. ``stream`` reads a WebSocket as Python objects, ``query`` is RFC 9535 JSONPath over
Python data, ``validate`` checks a collection without connecting. Errors are ``WsrunError``
subclasses.
"""

from __future__ import annotations

import html
import os
import xml.etree.ElementTree as ET
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from . import _wsrun
from ._wsrun import (
    CollectionError,
    ConnectionFailed,
    JsonPathError,
    StreamTimeout,
    WsrunError,
    __version__,
)

__all__ = [
    "run",
    "run_async",
    "stream",
    "query",
    "validate",
    "Report",
    "CollectionResult",
    "RequestResult",
    "StepResult",
    "Stream",
    "WsrunError",
    "CollectionError",
    "ConnectionFailed",
    "StreamTimeout",
    "JsonPathError",
    "__version__",
]

Source = Union[str, "os.PathLike[str]", Mapping[str, Any], Sequence[Any]]
Seconds = Union[float, int, str, None]
_PathLike = Union[str, "os.PathLike[str]"]


# ----------------------------------------------------------------------------------------------
# Results
# ----------------------------------------------------------------------------------------------


class StepResult:
    """One step of a request: ``passed``, ``keyword``, ``line`` and, when it failed, ``error``,
    ``path``, ``expected``, ``actual`` and ``message``. ``status`` is passed/failed/skipped."""

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
    def passed(self) -> bool:
        return self._d["passed"]

    @property
    def status(self) -> str:
        return self._d["status"]

    @property
    def duration(self) -> float:
        return self._d["duration"]

    @property
    def messages(self) -> int:
        return self._d["messages"]

    @property
    def error(self) -> Optional[str]:
        return self._d["error"]

    @property
    def connection(self) -> Optional[str]:
        return self._d["connection"]

    @property
    def path(self) -> Optional[str]:
        return self._d["path"]

    @property
    def expected(self) -> Optional[str]:
        return self._d["expected"]

    @property
    def actual(self) -> Optional[str]:
        return self._d["actual"]

    @property
    def message(self) -> Optional[str]:
        return self._d["message"]

    @property
    def detail(self) -> Optional[str]:
        return self._d["detail"]

    def to_dict(self) -> Dict[str, Any]:
        return dict(self._d)

    def __repr__(self) -> str:
        return f"<StepResult {self.index} {self.keyword} line {self.line}: {self.status}>"


class RequestResult:
    """One request: ``passed``, ``name``, ``duration`` (seconds), ``steps``, ``error`` (the first
    failure's summary) and ``failure_text`` (wsrun's own failure report, as the CLI prints it)."""

    __slots__ = ("_d", "collection")

    def __init__(self, data: Dict[str, Any], collection: Optional["CollectionResult"] = None):
        self._d = data
        self.collection = collection

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
        return self._d["duration"]

    @property
    def failure_text(self) -> Optional[str]:
        return self._d["failure_text"]

    @property
    def transcript(self) -> List[Dict[str, Any]]:
        return self._d["transcript"]

    @property
    def steps(self) -> List[StepResult]:
        return [StepResult(s) for s in self._d["steps"]]

    @property
    def error(self) -> Optional[str]:
        """The first failure: the request's own (e.g. it could not connect) or its failing
        step's."""
        if self._d["error"] is not None:
            return self._d["error"]
        for s in self._d["steps"]:
            if s["status"] == "failed":
                return s["error"]
        return None

    @property
    def failed_step(self) -> Optional[StepResult]:
        for s in self._d["steps"]:
            if s["status"] == "failed":
                return StepResult(s)
        return None

    def to_dict(self) -> Dict[str, Any]:
        return self._d

    def __repr__(self) -> str:
        state = "passed" if self.passed else f"failed: {self.error}"
        return f"<RequestResult {self.name!r} {state}>"


class CollectionResult:
    """One collection file: ``path``, ``name``, ``env``, ``passed`` and its ``requests``."""

    __slots__ = ("_d",)

    def __init__(self, data: Dict[str, Any]) -> None:
        self._d = data

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
        return self._d["duration"]

    @property
    def requests(self) -> List[RequestResult]:
        return [RequestResult(r, self) for r in self._d["requests"]]

    def to_dict(self) -> Dict[str, Any]:
        return self._d

    def __repr__(self) -> str:
        return f"<CollectionResult {self.path!r} ({len(self._d['requests'])} requests)>"


class Report:
    """What a run produced. ``passed``, ``requests`` (of every collection, in order),
    ``collections``, ``duration`` (seconds); ``to_dict()``, ``to_junit()``; shows as a table in
    Jupyter."""

    __slots__ = ("_d",)

    def __init__(self, data: Dict[str, Any]) -> None:
        self._d = data

    @property
    def passed(self) -> bool:
        return self._d["passed"]

    @property
    def duration(self) -> float:
        return self._d["duration"]

    @property
    def stopped(self) -> Optional[str]:
        return self._d.get("stopped")

    @property
    def collections(self) -> List[CollectionResult]:
        return [CollectionResult(c) for c in self._d["collections"]]

    @property
    def requests(self) -> List[RequestResult]:
        return [r for c in self.collections for r in c.requests]

    @property
    def failed(self) -> List[RequestResult]:
        return [r for r in self.requests if not r.passed]

    def __bool__(self) -> bool:
        return bool(self.passed)

    def to_dict(self) -> Dict[str, Any]:
        """The whole report as plain data (JSON-serializable except binary payloads)."""
        return self._d

    def to_junit(self) -> str:
        """JUnit XML: a testsuite per collection, a testcase per request."""
        total = sum(len(c["requests"]) for c in self._d["collections"])
        failures = sum(1 for c in self._d["collections"] for r in c["requests"] if not r["passed"])
        root = ET.Element(
            "testsuites",
            name="wsrun",
            tests=str(total),
            failures=str(failures),
            errors="0",
            time=f"{self.duration:.3f}",
        )
        for c in self._d["collections"]:
            suite = ET.SubElement(
                root,
                "testsuite",
                name=c["name"] or c["path"],
                tests=str(len(c["requests"])),
                failures=str(sum(1 for r in c["requests"] if not r["passed"])),
                errors="0",
                skipped="0",
                time=f"{c['duration']:.3f}",
                file=c["path"],
            )
            for r in c["requests"]:
                case = ET.SubElement(
                    suite,
                    "testcase",
                    name=r["name"],
                    classname=c["name"] or c["path"],
                    file=c["path"],
                    line=str(r["line"]),
                    time=f"{r['duration']:.3f}",
                )
                if not r["passed"]:
                    result = RequestResult(r)
                    failure = ET.SubElement(case, "failure", message=result.error or "failed")
                    failure.text = r["failure_text"] or ""
        return ET.tostring(root, encoding="unicode", xml_declaration=True)

    def _repr_html_(self) -> str:
        e = html.escape
        rows = []
        for c in self._d["collections"]:
            for r in c["requests"]:
                ok = r["passed"]
                style = "" if ok else ' style="background:#fdecea"'
                mark = '<span style="color:#1a7f37">&#10003;</span>' if ok else (
                    '<span style="color:#cf222e">&#10007;</span>'
                )
                detail = "" if ok else f'<pre style="margin:0;white-space:pre-wrap">{e(r["failure_text"] or "")}</pre>'
                rows.append(
                    f"<tr{style}><td>{mark}</td><td>{e(c['name'] or c['path'])}</td>"
                    f"<td>{e(r['name'])}</td><td>{r['duration'] * 1000:.0f} ms</td>"
                    f"<td>{detail}</td></tr>"
                )
        total = sum(len(c["requests"]) for c in self._d["collections"])
        failed = sum(1 for c in self._d["collections"] for r in c["requests"] if not r["passed"])
        color = "#1a7f37" if self.passed else "#cf222e"
        summary = f"{total - failed} passed" + (f", {failed} failed" if failed else "")
        if self.stopped:
            summary += f" (stopped: {e(self.stopped)})"
        return (
            '<div class="wsrun-report">'
            f'<p><b style="color:{color}">wsrun: {summary}</b> in {self.duration:.2f}s</p>'
            '<table><thead><tr><th></th><th>collection</th><th>request</th><th>time</th>'
            "<th>failure</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table></div>"
        )

    def __repr__(self) -> str:
        total = sum(len(c["requests"]) for c in self._d["collections"])
        failed = sum(1 for c in self._d["collections"] for r in c["requests"] if not r["passed"])
        state = "passed" if self.passed else "failed"
        return (
            f"<Report {state}: {total} requests, {total - failed} passed, {failed} failed, "
            f"{self.duration:.2f}s>"
        )


# ----------------------------------------------------------------------------------------------
# Running
# ----------------------------------------------------------------------------------------------


def run(
    source: Source,
    *,
    env: Optional[str] = None,
    vars: Optional[Mapping[str, Any]] = None,
    secrets: Optional[Mapping[str, Any]] = None,
    update_snapshots: bool = False,
    timeout: Seconds = None,
    filter: Optional[str] = None,
    requests: Optional[Sequence[str]] = None,
    fail_fast: bool = False,
    vars_files: Optional[Sequence[_PathLike]] = None,
    jobs: int = 1,
) -> Report:
    """Runs collections and returns a :class:`Report`.

    ``source`` is a path (a file, or a folder searched for collections), YAML text, a dict, or a
    list of these. ``timeout`` is a deadline for the whole run (seconds or ``"30s"``).
    ``filter`` keeps requests whose name contains the text; ``requests`` those with exactly
    these names. The GIL is released while it runs; Ctrl-C raises ``KeyboardInterrupt``.
    """
    # Every parameter, by name: the extension reads them (src/python/options.rs).
    return Report(_wsrun.run(**locals()))


async def run_async(
    source: Source,
    *,
    env: Optional[str] = None,
    vars: Optional[Mapping[str, Any]] = None,
    secrets: Optional[Mapping[str, Any]] = None,
    update_snapshots: bool = False,
    timeout: Seconds = None,
    filter: Optional[str] = None,
    requests: Optional[Sequence[str]] = None,
    fail_fast: bool = False,
    vars_files: Optional[Sequence[_PathLike]] = None,
    jobs: int = 1,
) -> Report:
    """:func:`run` for asyncio: runs on wsrun's own threads, the event loop stays free.
    Cancelling the task stops the run."""
    return Report(await _wsrun.run_async(**locals()))


def validate(
    source: Source,
    *,
    env: Optional[str] = None,
    vars: Optional[Mapping[str, Any]] = None,
    secrets: Optional[Mapping[str, Any]] = None,
    vars_files: Optional[Sequence[_PathLike]] = None,
) -> int:
    """Checks collections without connecting (YAML, steps, JSONPaths, templates, environment).
    Raises :class:`CollectionError` (``.path``, ``.line``, ``.column``, ``.message``); returns
    how many requests they hold."""
    return _wsrun.validate(**locals())


def query(path: str, obj: Any) -> List[Any]:
    """Every value that the RFC 9535 JSONPath ``path`` selects in ``obj`` (dicts, lists, str,
    numbers, bools, None). An invalid path raises :class:`JsonPathError`."""
    return _wsrun.query(path, obj)


# ----------------------------------------------------------------------------------------------
# Streaming
# ----------------------------------------------------------------------------------------------

_EMPTY = object()


class Stream(_wsrun._Stream):
    """Messages of a live WebSocket: dicts/lists for JSON text, ``str`` for other text, ``bytes``
    for binary. Iterate it (``for`` or ``async for``); ``close()`` or use it as a context
    manager. A background reader keeps at most ~1000 messages waiting, so a slow consumer
    slows the server down rather than filling memory."""

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    async def __aenter__(self) -> "Stream":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.close()

    def __aiter__(self) -> "Stream":
        return self

    async def __anext__(self) -> Any:
        item = self._pop(_EMPTY)
        while item is _EMPTY:
            await self._fill_async()
            item = self._pop(_EMPTY)
        return item


def stream(
    url: str,
    *,
    send: Any = None,
    headers: Optional[Union[Mapping[str, str], Sequence[Tuple[str, str]]]] = None,
    subprotocols: Optional[Sequence[str]] = None,
    limit: Optional[int] = None,
    timeout: Seconds = None,
    connect_timeout: Seconds = None,
    insecure: bool = False,
    max_message_size: Optional[int] = None,
) -> Stream:
    """Connects to ``url``, sends ``send`` (one message or a list: dicts/lists as JSON, str as
    text, bytes as binary) and returns a :class:`Stream` of what the server sends.

    ``limit`` stops after that many messages; ``timeout`` (seconds or ``"10s"``) raises
    :class:`StreamTimeout` when no message comes for that long. A connection that cannot open
    raises :class:`ConnectionFailed`."""
    return Stream(
        url,
        send=send,
        headers=dict(headers) if isinstance(headers, Mapping) else headers,
        subprotocols=list(subprotocols) if subprotocols is not None else None,
        limit=limit,
        timeout=timeout,
        connect_timeout=connect_timeout,
        insecure=insecure,
        max_message_size=max_message_size,
    )
