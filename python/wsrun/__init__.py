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

import os
from typing import Any, List, Mapping, Optional, Sequence, Tuple, Union

from . import _wsrun
from ._report import CollectionResult, Report, RequestResult, StepResult
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
