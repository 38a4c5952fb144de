"""pytest plugin: collections as tests (``pytest collections/``).

Files matching the ini option ``wsrun_files`` (default ``*.yaml *.yml``) whose top level is a
collection (a ``requests`` list of maps) are collected; other YAML is left alone. Each request
is one pytest item, named after it, and each item is one engine run of that request alone, so
``pytest-xdist``, ``pytest-rerunfailures`` and ``--durations`` see each request on its own. A
failure shows wsrun's own failure text (step, line, path, expected, actual, message), its first
line in the short summary; a collection that is invalid fails as one item with the located error.

Options: ``--wsrun-env NAME``, ``--wsrun-var K=V`` (repeatable), ``--wsrun-update-snapshots``.
A test of your own that fails on ``assert report.passed`` shows the report's failure text too.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any, Dict, Generator, Iterator, List, Optional, Set, Tuple, Union

import pytest

import wsrun
from wsrun import _wsrun

_VARS = pytest.StashKey[Dict[str, str]]()
_ENV_PROBLEMS = pytest.StashKey[List[str]]()

#: How a snapshot failure tells a pytest user to accept the new snapshot.
UPDATE_OPTION = "--wsrun-update-snapshots"


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
    group.addoption(
        UPDATE_OPTION,
        dest="wsrun_update_snapshots",
        action="store_true",
        default=False,
        help="write snapshots that differ or are missing, and pass",
    )
    parser.addini(
        "wsrun_files",
        type="args",
        default=["*.yaml", "*.yml"],
        help="glob patterns of the YAML files checked for wsrun collections",
    )


def _parse_vars(pairs: List[str]) -> Dict[str, str]:
    out = {}
    for kv in pairs:
        key, sep, value = kv.partition("=")
        if not sep or not key.strip():
            raise pytest.UsageError(f"--wsrun-var expects K=V (a name, `=`, a value), got {kv!r}")
        out[key] = value
    return out


def pytest_configure(config: pytest.Config) -> None:
    # A bad option is one usage error (exit code 4), before anything is collected.
    config.stash[_VARS] = _parse_vars(config.getoption("wsrun_vars") or [])
    config.stash[_ENV_PROBLEMS] = []


def _matches(path: Path, patterns: List[str]) -> bool:
    for pattern in patterns:
        target = str(path) if "/" in pattern else path.name
        if fnmatch.fnmatch(target, pattern) or fnmatch.fnmatch(target, "*/" + pattern):
            return True
    return False


def _has_requests_line(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8") as f:
            return any(line.startswith("requests:") for line in f)
    except (OSError, UnicodeDecodeError):
        return False


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> Optional["CollectionFile"]:
    if not _matches(file_path, parent.config.getini("wsrun_files")):
        return None
    try:
        if not _wsrun.is_collection(file_path):
            return None
    except wsrun.CollectionError:
        # YAML that does not parse: a collection being written (its error is its one item),
        # or someone else's file, left alone.
        if not _has_requests_line(file_path):
            return None
    return CollectionFile.from_parent(parent, path=file_path)


def pytest_collection_finish(session: pytest.Session) -> None:
    problems = session.config.stash.get(_ENV_PROBLEMS, [])
    # An xdist worker cannot stop the session with a usage error (the controller reports a
    # crash): there each item fails with the engine's own "unknown environment" instead.
    if problems and not hasattr(session.config, "workerinput"):
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise pytest.UsageError(problems[0] + more)


class CollectionFile(pytest.File):
    """A collection file: one item per request."""

    def collect(self) -> Iterator[pytest.Item]:
        try:
            info = _wsrun.inspect(str(self.path))
        except wsrun.CollectionError as e:
            yield InvalidCollection.from_parent(self, name="collection", error=e)
            return
        env = self.config.getoption("wsrun_env")
        for collection in info:
            environments = collection["environments"]
            if env is not None and env not in environments:
                where = self._relative(self.path)
                has = f"it has: {', '.join(environments)}" if environments else "it defines none"
                self.config.stash[_ENV_PROBLEMS].append(
                    f"--wsrun-env {env}: {where} has no environment `{env}` ({has})"
                )
            for request in collection["requests"]:
                yield RequestItem.from_parent(
                    self, name=request["name"], request_name=request["name"], line=request["line"]
                )

    def _relative(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.config.rootpath))
        except ValueError:
            return str(path)


class InvalidCollection(pytest.Item):
    """A collection that does not load: one failing item with the located error."""

    def __init__(self, *, error: wsrun.CollectionError, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.error = error

    def runtest(self) -> None:
        raise self.error

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None
    ) -> Union[str, Any]:
        return _relative_error(self.config, self.error)

    def reportinfo(self) -> Tuple[Path, int, str]:
        return self.path, (self.error.line or 1) - 1, f"{self.path.name}: invalid collection"


def _relative_error(config: pytest.Config, error: BaseException) -> str:
    text = str(error)
    path = getattr(error, "path", None)
    if isinstance(path, str):
        try:
            rel = str(Path(path).relative_to(config.rootpath))
        except ValueError:
            return text
        return text.replace(path, rel, 1)
    return text


class RequestFailed(Exception):
    """A request failed; carries wsrun's failure text."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class RequestItem(pytest.Item):
    """One request of a collection, run on its own each time the item runs."""

    def __init__(self, *, request_name: str, line: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.request_name = request_name
        self.line = line
        self.wsrun_report: Optional[wsrun.Report] = None

    def runtest(self) -> None:
        config = self.config
        report = wsrun.Report(
            _wsrun.run(
                str(self.path),
                update_hint=UPDATE_OPTION,
                env=config.getoption("wsrun_env"),
                vars=config.stash[_VARS],
                requests=[self.request_name],
                update_snapshots=bool(config.getoption("wsrun_update_snapshots")),
            )
        )
        self.wsrun_report = report
        for result in report.requests:
            if result.name == self.request_name:
                if not result.passed:
                    raise RequestFailed(result._failure_text(str(config.rootpath)))
                return
        raise RequestFailed(f"request {self.request_name!r} did not run ({report!r})")

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None
    ) -> Union[str, Any]:
        # A plain string: its first line is the failure's, which the short summary shows.
        if isinstance(excinfo.value, RequestFailed):
            return excinfo.value.text.rstrip("\n")
        if isinstance(excinfo.value, wsrun.WsrunError):
            return _relative_error(self.config, excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> Tuple[Path, int, str]:
        return self.path, self.line - 1, self.request_name


def _failure_texts(value: object) -> List[str]:
    """The failure texts a wsrun result (a report, a request, a list of requests) holds."""
    if isinstance(value, wsrun.Report) and not value.passed:
        return [value.failure_text()]
    if isinstance(value, wsrun.RequestResult) and not value.passed:
        return [value.failure_text or value.error or ""]
    if isinstance(value, list):
        return [t for item in value for t in _failure_texts(item)]
    return []


def _failed_results(excinfo: pytest.ExceptionInfo[BaseException]) -> List[str]:
    """The failure texts of the failed wsrun results that the failing frame holds."""
    texts: List[str] = []
    seen: Set[int] = set()
    try:
        frame_locals = excinfo.traceback[-1].frame.f_locals
    except (IndexError, AttributeError):
        return texts
    for value in list(frame_locals.values()):
        if id(value) not in seen:
            seen.add(id(value))
            texts.extend(_failure_texts(value))
    return [t for t in texts if t]


def pytest_assertrepr_compare(
    config: pytest.Config, op: str, left: object, right: object
) -> Optional[List[str]]:
    """``assert report.failed == []`` (or any comparison with wsrun results): wsrun's words."""
    texts = [t for t in _failure_texts(left) + _failure_texts(right) if t]
    if not texts:
        return None
    lines = [line for t in texts for line in t.splitlines()]
    return [f"{left!r:.100} {op} {right!r:.100}", "wsrun failures:"] + lines


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    rep = yield
    # `assert report.passed` in a test of your own: the assertion shows `False`; the section
    # below it shows why, in wsrun's words.
    excinfo = call.excinfo
    if (
        rep.failed
        and excinfo is not None
        and isinstance(excinfo.value, AssertionError)
        and not isinstance(excinfo.value, wsrun.AssertionFailed)
        and hasattr(rep.longrepr, "addsection")
    ):
        texts = _failed_results(excinfo)
        if texts:
            rep.longrepr.addsection("wsrun failures", "\n".join(texts))  # type: ignore[union-attr]
    return rep
