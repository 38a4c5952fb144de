"""wsrun: a scriptable WebSocket test harness (the Rust engine of the ``wsrun`` CLI).

>>> import wsrun
>>> report = wsrun.run("collections/websocket.yaml", env="local")   # doctest: +SKIP
>>> report.passed, report.requests[0].steps[0].passed                # doctest: +SKIP

``run`` takes a path (file or folder), YAML text or a dict; ``run_async`` is the same for
asyncio. ``connect`` drives one connection a step at a time (the engine's steps and matchers),
``stream`` reads a WebSocket as Python objects, ``serve`` runs a collection's mock in-process,
``query`` is RFC 9535 JSONPath over Python data, ``validate`` checks a collection without
connecting. Errors are ``WsrunError`` subclasses; a failed step or
``report.raise_for_failures()`` raises ``AssertionFailed``.
"""

from __future__ import annotations

import os
from typing import Any, List, Mapping, Optional, Sequence, Union

from . import _wsrun
from ._connect import AsyncConnection, Connection, Reply, connect
from ._report import ROW_COLUMNS, CollectionResult, Report, RequestResult, StepResult
from ._serve import MockServer, serve
from ._stream import Stream, stream
from ._types import (
    CollectionDict,
    FailureDict,
    FrameDict,
    RateDict,
    ReportDict,
    RequestDict,
    StepDict,
    SummaryDict,
    TranscriptDict,
)
from ._wsrun import (
    AssertionFailed,
    CollectionError,
    ConnectionFailed,
    JsonPathError,
    Message,
    StreamTimeout,
    WsrunError,
    __version__,
)

__all__ = [
    "run",
    "run_async",
    "connect",
    "stream",
    "serve",
    "query",
    "validate",
    "Report",
    "CollectionResult",
    "RequestResult",
    "StepResult",
    "ROW_COLUMNS",
    "Connection",
    "AsyncConnection",
    "Stream",
    "Message",
    "Reply",
    "MockServer",
    "ReportDict",
    "CollectionDict",
    "RequestDict",
    "StepDict",
    "FailureDict",
    "FrameDict",
    "TranscriptDict",
    "RateDict",
    "SummaryDict",
    "WsrunError",
    "AssertionFailed",
    "CollectionError",
    "ConnectionFailed",
    "StreamTimeout",
    "JsonPathError",
    "__version__",
]

Source = Union[str, "os.PathLike[str]", Mapping[str, Any], Sequence[Any]]
Seconds = Union[float, int, str, None]
_PathLike = Union[str, "os.PathLike[str]"]


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
