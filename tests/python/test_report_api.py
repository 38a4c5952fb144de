"""Report.raise_for_failures and the report's typed document."""

from __future__ import annotations

import pytest

import wsrun


def test_raise_for_failures_carries_the_failure_text(failing_collection):
    report = wsrun.run(failing_collection)
    with pytest.raises(wsrun.AssertionFailed) as e:
        report.raise_for_failures()
    assert isinstance(e.value, AssertionError) and isinstance(e.value, wsrun.WsrunError)
    text = str(e.value)
    assert text.startswith("1 of 2 requests failed\nMixed \u203a fails\n  step 2 expect <string>:12:")
    assert "    expected  8" in text and "    actual    7" in text
    assert e.value.failure is not None and e.value.failure["path"] == "$.id"


def test_raise_for_failures_returns_a_passing_report(echo_collection):
    report = wsrun.run(echo_collection)
    assert report.raise_for_failures() is report
    assert report.failure_text() == ""


def test_the_repr_of_a_failed_report_names_its_first_failure(failing_collection):
    text = repr(wsrun.run(failing_collection))
    assert text.startswith("<Report failed: 2 requests, 1 passed, 1 failed")
    assert "first: 'fails': step 2 expect <string>:12: $.id does not match>" in text


def test_a_snapshot_first_written_from_python_records_a_relative_source(server, tmp_path, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    collection = tmp_path / "suite" / "hello.yaml"
    collection.parent.mkdir()
    collection.write_text(
        f"requests:\n  - name: r\n    url: {server.url('/hello')}\n    steps:\n"
        "      - snapshot: { name: first, shape: true }\n"
    )
    report = wsrun.run(str(collection.resolve()), update_snapshots=True)
    assert report.passed, report
    written = (collection.parent / "__snapshots__" / "hello__first.snap").read_text()
    assert written.startswith('---\nsource: "../hello.yaml"\n'), written
    assert str(tmp_path) not in written


def test_rows_and_to_pandas_give_one_row_per_step(failing_collection):
    report = wsrun.run(failing_collection)
    rows = report.rows()
    assert [(r["request"], r["step"], r["keyword"], r["status"]) for r in rows] == [
        ("passes", 1, "send", "passed"),
        ("passes", 2, "expect", "passed"),
        ("fails", 1, "send", "passed"),
        ("fails", 2, "expect", "failed"),
    ]
    failed = rows[3]
    assert (failed["path"], failed["expected"], failed["actual"]) == ("$.id", 8, 7)
    assert failed["error"] == "$.id does not match" and failed["line"] == 12
    frame = report.to_pandas()
    assert list(frame.columns) == list(wsrun.ROW_COLUMNS)
    assert len(frame) == 4 and frame["passed"].tolist() == [True, True, True, False]


def test_a_request_that_could_not_connect_has_a_row_of_its_own(tmp_path):
    collection = tmp_path / "refused.yaml"
    collection.write_text("requests:\n  - name: refused\n    url: ws://127.0.0.1:9\n    steps:\n      - send: hi\n")
    rows = wsrun.run(collection).rows()
    assert [(r["step"], r["status"]) for r in rows] == [(None, "failed"), (1, "skipped")]
    assert rows[0]["error"].startswith("could not connect to ws://127.0.0.1:9")


def test_to_pandas_without_pandas_says_how_to_get_it(failing_collection, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pandas", None)  # what `import pandas` finds uninstalled
    with pytest.raises(ImportError, match="Report.to_pandas\\(\\) needs pandas"):
        wsrun.run(failing_collection).to_pandas()
