"""The native module (Rust, pyo3). Use it through ``wsrun``; kept by hand."""

import os
from typing import Any, Awaitable, Dict, List, Mapping, Optional, Sequence, Tuple, Union, final

from typing_extensions import disjoint_base

from ._types import FailureDict, ReportDict

__all__ = [
    "AssertionFailed",
    "CollectionError",
    "ConnectionFailed",
    "JsonPathError",
    "Message",
    "RUN_OPTIONS",
    "StreamTimeout",
    "VALIDATE_OPTIONS",
    "WsrunError",
    "_Connection",
    "_MockServer",
    "_Report",
    "_Stream",
    "__version__",
    "cli_main",
    "inspect",
    "is_collection",
    "query",
    "run",
    "run_async",
    "validate",
]

__version__: str

# The keyword arguments of run/run_async and of validate, with their defaults.
RUN_OPTIONS: Mapping[str, Any]
VALIDATE_OPTIONS: Mapping[str, Any]

_Seconds = Union[float, int, str, None]
_Source = Union[str, os.PathLike[str], Mapping[str, Any], Sequence[Any]]
_PathLike = Union[str, os.PathLike[str]]

class WsrunError(Exception): ...

class CollectionError(WsrunError):
    path: str
    line: Optional[int]
    column: Optional[int]
    message: str
    snippet: Optional[str]

class StreamTimeout(WsrunError): ...
class ConnectionFailed(WsrunError, ConnectionError): ...
class JsonPathError(WsrunError, ValueError): ...

class AssertionFailed(WsrunError, AssertionError):
    failure: Optional[FailureDict]

def run(
    source: _Source,
    *,
    update_hint: Optional[str] = None,
    env: Optional[str] = None,
    vars: Optional[Mapping[str, Any]] = None,
    secrets: Optional[Mapping[str, Any]] = None,
    update_snapshots: bool = False,
    timeout: _Seconds = None,
    filter: Optional[str] = None,
    requests: Optional[Sequence[str]] = None,
    fail_fast: bool = False,
    vars_files: Optional[Sequence[_PathLike]] = None,
    jobs: int = 1,
) -> _Report: ...
def run_async(
    source: _Source,
    *,
    update_hint: Optional[str] = None,
    env: Optional[str] = None,
    vars: Optional[Mapping[str, Any]] = None,
    secrets: Optional[Mapping[str, Any]] = None,
    update_snapshots: bool = False,
    timeout: _Seconds = None,
    filter: Optional[str] = None,
    requests: Optional[Sequence[str]] = None,
    fail_fast: bool = False,
    vars_files: Optional[Sequence[_PathLike]] = None,
    jobs: int = 1,
) -> Awaitable[_Report]: ...
def validate(
    source: _Source,
    *,
    env: Optional[str] = None,
    vars: Optional[Mapping[str, Any]] = None,
    secrets: Optional[Mapping[str, Any]] = None,
    vars_files: Optional[Sequence[_PathLike]] = None,
) -> int: ...
def inspect(source: _Source) -> List[Dict[str, Any]]: ...
def is_collection(path: _PathLike) -> bool: ...
def query(path: str, obj: Any) -> List[Any]: ...
def cli_main(argv: List[str]) -> int: ...

@final
class _Report:
    def to_dict(self) -> ReportDict: ...
    def to_junit(self) -> str: ...
    def to_html(self) -> str: ...
    def failure_text(
        self, collection: int, request: int, root: Optional[_PathLike] = None
    ) -> Optional[str]: ...
    def captures(self, collection: int, request: int) -> Dict[str, Any]: ...

@final
class Message:
    """A streamed message with its arrival time (``stream(…, timed=True)``)."""
    @property
    def data(self) -> Any: ...
    @property
    def received_at(self) -> float: ...
    @property
    def elapsed(self) -> float: ...

@disjoint_base
class _Stream:
    def __new__(
        cls,
        collection: str,
        url: str,
        *,
        send: Any = None,
        limit: Optional[int] = None,
        timeout: _Seconds = None,
        timed: bool = False,
    ) -> "_Stream": ...
    def __iter__(self) -> "_Stream": ...
    def __next__(self) -> Any: ...
    def _wait_open(self) -> None: ...
    def _open_async(self) -> Awaitable[None]: ...
    def _pop(self, empty: Any) -> Any: ...
    def _fill_async(self) -> Awaitable[None]: ...
    def send(self, message: Any) -> None: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    @property
    def close_code(self) -> Optional[int]: ...
    @property
    def count(self) -> int: ...
    @property
    def url(self) -> str: ...

@final
class _Connection:
    def __new__(cls, collection: str, url: str) -> "_Connection": ...
    def wait_open(self) -> None: ...
    def open_async(self) -> Awaitable[None]: ...
    def step(self, step: str) -> Tuple[Any, Optional[float]]: ...
    def step_async(self, step: str) -> Awaitable[Tuple[Any, Optional[float]]]: ...
    def recv(self, timeout: _Seconds = None) -> Any: ...
    def recv_async(self, timeout: _Seconds = None) -> Awaitable[Any]: ...
    def shutdown(self) -> None: ...
    def shutdown_async(self) -> Awaitable[None]: ...
    @property
    def close_code(self) -> Optional[int]: ...
    @property
    def closed(self) -> bool: ...
    @property
    def url(self) -> str: ...
    @property
    def protocol(self) -> str: ...

@final
class _MockServer:
    def __new__(cls, source: _Source, *, mock: Optional[str] = None, port: int = 0) -> "_MockServer": ...
    @property
    def url(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def running(self) -> bool: ...
    def stop(self) -> None: ...
