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
