"""pytest plugin: collections as tests (``pytest collections/``).

Every YAML file whose top level has ``requests:`` is collected; each request is one pytest item,
named after it. A file's selected requests run together the first time one of them runs (one
engine run per file, so its mocks start once), and each item reports its own result. A failure
shows wsrun's own failure text (step, line, path, expected, actual, message), not a traceback.

Options: ``--wsrun-env NAME``, ``--wsrun-var K=V`` (repeatable).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Set, Tuple, Union

import pytest

import wsrun


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("wsrun", "wsrun WebSocket collections")
    group.addoption(
        "--wsrun-env",
        dest="wsrun_env",
        metavar="NAME",
        default=None,
        help="the environment of the collections (their `environments:`)",
    )
    group.addoption(
        "--wsrun-var",
        dest="wsrun_vars",
        metavar="K=V",
        action="append",
        default=[],
        help="set a variable (repeatable)",
    )


def _looks_like_collection(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8") as f:
            return any(line.startswith("requests:") for line in f)
    except (OSError, UnicodeDecodeError):
        return False


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> Optional["CollectionFile"]:
    if file_path.suffix in (".yaml", ".yml") and _looks_like_collection(file_path):
        return CollectionFile.from_parent(parent, path=file_path)
    return None


def _vars(config: pytest.Config) -> Dict[str, str]:
    out = {}
    for kv in config.getoption("wsrun_vars") or []:
        key, sep, value = kv.partition("=")
        if not sep or not key:
            raise pytest.UsageError(f"--wsrun-var expects K=V, got {kv!r}")
        out[key] = value
    return out


class WsrunCollectionError(Exception):
    """A collection file that wsrun cannot use."""


class RequestFailed(Exception):
    """A request failed; carries wsrun's failure text."""

    def __init__(self, result: wsrun.RequestResult) -> None:
        super().__init__(result.error)
        self.result = result


class CollectionFile(pytest.File):
    """A collection file: one item per request."""

    _report: Optional[wsrun.Report] = None
    _ran: Set[str] = set()

    def collect(self) -> Iterator["RequestItem"]:
        try:
            info = wsrun._wsrun.inspect(str(self.path))
        except wsrun.CollectionError as e:
            raise WsrunCollectionError(str(e)) from None
        for collection in info:
            for request in collection["requests"]:
                yield RequestItem.from_parent(
                    self, name=request["name"], request_name=request["name"], line=request["line"]
                )

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, WsrunCollectionError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def report_for(self, item: "RequestItem") -> wsrun.Report:
        """Runs this file's selected requests once; later items read the cached report."""
        if self._report is None or item.request_name not in self._ran:
            session_items = getattr(self.session, "items", None) or [item]
            names = [i.request_name for i in session_items if isinstance(i, RequestItem) and i.parent is self]
            if item.request_name not in names:
                names = [item.request_name]
            config = self.config
            self._report = wsrun.run(
                str(self.path),
                env=config.getoption("wsrun_env"),
                vars=_vars(config),
                requests=names,
            )
            self._ran = set(names)
        return self._report


class RequestItem(pytest.Item):
    """One request of a collection."""

    def __init__(self, *, request_name: str, line: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.request_name = request_name
        self.line = line

    def runtest(self) -> None:
        parent = self.parent
        assert isinstance(parent, CollectionFile)
        report = parent.report_for(self)
        for result in report.requests:
            if result.name == self.request_name:
                if not result.passed:
                    raise RequestFailed(result)
                return
        raise WsrunCollectionError(f"request {self.request_name!r} did not run")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, RequestFailed):
            r = excinfo.value.result
            return f"request {r.name!r} failed\n{r.failure_text or r.error}"
        if isinstance(excinfo.value, (WsrunCollectionError, wsrun.WsrunError)):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> Tuple[Path, int, str]:
        return self.path, self.line - 1, self.request_name
