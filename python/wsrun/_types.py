"""The ``wsrun-report/1`` document (``report.to_dict()``, ``--report json=FILE``) as types.

Every key is always present; an absent value is ``None``. docs/cli.md ("The JSON report")
and ``schema/wsrun-report.schema.json`` describe each field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Literal, Optional, TypedDict

if TYPE_CHECKING:
    # For the type checker only (the runtime objects confuse stubtest).
    _StepStatus = Literal["passed", "failed", "skipped"]
    _Stopped = Literal["interrupted", "timeout", "fail_fast"]
    _FrameKind = Literal["text", "binary", "ping", "pong", "close", "lost"]


class PreviousDict(TypedDict):
    index: int
    value: Any


# `consecutive`: one missing run, its first and last value (`from` is a keyword, hence the form).
GapDict = TypedDict("GapDict", {"from": Any, "to": Any})


class ViolationDict(TypedDict):
    """A stream property (``increasing``, ``unique``, ``consecutive``, ``fresh``, ``rate``,
    ``selects``) that did not hold over a step's window."""

    property: str
    path: Optional[str]
    expected: str
    window: int
    index: Optional[int]
    value: Any
    previous: Optional[PreviousDict]
    reason: str
    offenders: int
    gaps: List[GapDict]
    gaps_total: int
    missing_total: int
    message: Optional[str]


class FailureDict(TypedDict):
    """Why a step or a request failed. ``expected``, ``actual`` and ``message`` are JSON values
    where the failure has one (the node a path selected, the value an equality wanted, the
    received message), else text."""

    summary: str
    connection: Optional[str]
    path: Optional[str]
    expected: Any
    actual: Any
    message: Any
    detail: Optional[str]
    stream: Optional[List[ViolationDict]]


class StepDict(TypedDict):
    index: int
    keyword: str
    line: int
    status: _StepStatus
    duration_ms: float
    messages: int
    latency_ms: Optional[float]
    failure: Optional[FailureDict]


class FrameDict(TypedDict):
    at_ms: float
    direction: Literal["sent", "received"]
    connection: str
    kind: _FrameKind
    payload: str


class TranscriptDict(TypedDict):
    frames: List[FrameDict]
    elided: int


class RateDict(TypedDict):
    connection: str
    bucket_ms: float
    counts: List[int]


class RequestDict(TypedDict):
    name: str
    line: int
    passed: bool
    duration_ms: float
    error: Optional[FailureDict]
    steps: List[StepDict]
    transcript: TranscriptDict
    rates: List[RateDict]


class CollectionDict(TypedDict):
    path: str
    name: str
    env: Optional[str]
    passed: bool
    duration_ms: float
    requests: List[RequestDict]


class SummaryDict(TypedDict):
    requests: int
    passed: int
    failed: int


class ShardCollectionDict(TypedDict):
    path: str
    env: Optional[str]
    content_hash: str


class ShardDict(TypedDict):
    """``--shard K/N``: ``index`` K, ``count`` N, and every collection the run loaded."""

    index: int
    count: int
    collections: List[ShardCollectionDict]


class ReportDict(TypedDict):
    """The whole document: ``format`` is ``"wsrun-report/1"``."""

    format: str
    passed: bool
    duration_ms: float
    stopped: Optional[_Stopped]
    shard: Optional[ShardDict]
    summary: SummaryDict
    collections: List[CollectionDict]
