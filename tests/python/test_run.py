"""wsrun.run / run_async / Report against a real WebSocket server."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import wsrun


def test_run_yaml_text_passes(echo_collection):
    report = wsrun.run(echo_collection)
    assert report.passed
    assert bool(report)
    assert [r.name for r in report.requests] == ["echo json", "echo text"]
    assert all(r.passed for r in report.requests)
    step = report.requests[0].steps[0]
    assert step.passed and step.keyword == "send" and step.line == 6
    assert report.requests[0].steps[1].keyword == "expect"
    assert report.requests[0].error is None
    assert report.requests[0].failure_text is None
    assert report.duration > 0
    assert "2 passed" in repr(report)


def test_run_path_and_pathlike(tmp_path: Path, echo_collection):
    f = tmp_path / "echo.yaml"
    f.write_text(echo_collection)
    for source in (str(f), f):
        report = wsrun.run(source)
        assert report.passed
        assert report.collections[0].path == str(f)
        assert report.collections[0].name == "Echo"


def test_run_folder(tmp_path: Path, echo_collection, failing_collection):
    (tmp_path / "a.yaml").write_text(echo_collection)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.yml").write_text(failing_collection)
    (tmp_path / "not-a-collection.yaml").write_text("just: data\n")
    report = wsrun.run(tmp_path)
    assert [c.name for c in report.collections] == ["Echo", "Mixed"]
    assert len(report.requests) == 4
    assert not report.passed


def test_run_dict(server):
    collection = {
        "name": "From a dict",
        "requests": [
            {
                "name": "echo",
                "url": server.url("/echo"),
                "steps": [
                    {"send": {"json": {"n": 1}}},
                    {"expect": {"json": {"$.n": 1}}},
                ],
            }
        ],
    }
    report = wsrun.run(collection)
    assert report.passed, report.requests[0].failure_text
    assert report.collections[0].path == "<dict>"


def test_run_vars_and_env(server):
    text = f"""\
vars: {{ word: default }}
environments:
  a: {{ base: "{server.url('')}" }}
requests:
  - name: templated
    url: "{{{{ base }}}}/echo"
    steps:
      - send: {{ text: "{{{{ word }}}}" }}
      - expect: {{ text: hello }}
"""
    assert not wsrun.run(text).passed
    report = wsrun.run(text, env="a", vars={"word": "hello"})
    assert report.passed, report.requests[0].failure_text
    assert report.collections[0].env == "a"
    with pytest.raises(wsrun.CollectionError):
        wsrun.run(text, env="nope")


def test_failing_report(failing_collection):
    report = wsrun.run(failing_collection)
    assert not report.passed
    ok, bad = report.requests
    assert ok.passed and not bad.passed
    assert bad.error == "$.id does not match"
    step = bad.steps[1]
    assert not step.passed
    assert step.line == 12
    assert step.keyword == "expect"
    assert step.path == "$.id"
    # Python values, not JSON text.
    assert step.expected == 8
    assert step.actual == 7
    assert step.message == {"id": 7}
    assert step.error == "$.id does not match"
    assert bad.failed_step.index == 2
    text = bad.failure_text
    assert "step 2 expect" in text and "<string>:12" in text
    assert "expected  8" in text and "actual    7" in text
    assert report.failed[0].name == "fails"


def test_connection_refused_is_a_failed_request():
    report = wsrun.run(
        "requests:\n  - name: nobody\n    url: ws://127.0.0.1:1/\n    steps:\n      - send: {text: a}\n"
    )
    (r,) = report.requests
    assert not r.passed
    assert "connection refused" in r.error
    assert r.steps[0].status == "skipped"


def test_result_attributes_read_the_json_report(failing_collection):
    report = wsrun.run(failing_collection)
    d = report.to_dict()
    doc = d["collections"][0]["requests"][1]
    bad = report.requests[1]
    assert bad.to_dict() == doc
    assert bad.duration == doc["duration_ms"] / 1000
    assert report.duration == d["duration_ms"] / 1000
    assert report.stopped is None
    step = bad.steps[1]
    failure = doc["steps"][1]["failure"]
    assert step.failure == failure
    assert (step.error, step.path, step.expected, step.actual, step.message) == (
        failure["summary"], failure["path"], failure["expected"], failure["actual"], failure["message"]
    )
    assert step.duration == doc["steps"][1]["duration_ms"] / 1000
    assert step.messages == 1
    assert bad.transcript == doc["transcript"]["frames"]
    assert [f["payload"] for f in bad.transcript[:2]] == ['{"id":7}', '{"id":7}']


def test_to_dict_is_the_json_report_document(failing_collection):
    d = wsrun.run(failing_collection).to_dict()
    assert d["format"] == "wsrun-report/1"
    assert d["passed"] is False
    assert isinstance(d["duration_ms"], float)
    assert d["summary"] == {"requests": 2, "passed": 1, "failed": 1}
    (c,) = d["collections"]
    assert set(c) >= {"path", "name", "env", "requests"}
    r = c["requests"][1]
    assert set(r) >= {"name", "line", "passed", "duration_ms", "error", "steps", "transcript"}
    step = r["steps"][1]
    assert set(step) >= {"index", "keyword", "line", "status", "duration_ms", "messages", "failure"}
    assert step["status"] == "failed"
    assert set(step["failure"]) >= {"summary", "expected", "actual", "path", "message"}
    frames = r["transcript"]["frames"]
    assert [f["direction"] for f in frames[:2]] == ["sent", "received"]
    assert frames[0]["payload"] == '{"id":7}'
    assert set(frames[0]) == {"at_ms", "direction", "connection", "kind", "payload"}
    json.dumps(d)  # plain data


def test_to_junit(tmp_path: Path, failing_collection, echo_collection):
    echo, mixed = tmp_path / "echo.yaml", tmp_path / "mixed.yaml"
    echo.write_text(echo_collection)
    mixed.write_text(failing_collection)
    report = wsrun.run([echo, mixed])
    root = ET.fromstring(report.to_junit())
    assert root.tag == "testsuites"
    assert root.get("tests") == "4" and root.get("failures") == "1"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [str(echo), str(mixed)]
    cases = suites[1].findall("testcase")
    assert [c.get("name") for c in cases] == ["passes", "fails"]
    assert cases[0].find("failure") is None
    failure = cases[1].find("failure")
    assert failure.get("message") == "$.id does not match"
    assert "expected  8" in failure.text


def _cli_report(kind: str, collection: Path, tmp_path: Path) -> str:
    """The `--report KIND=FILE` the command line writes for `collection`."""
    out = tmp_path / f"report.{kind}"
    code = wsrun._wsrun.cli_main(["wsrun", "run", str(collection), "--report", f"{kind}={out}"])
    assert code == 1, "the collection has a failing request"
    return out.read_text()


def _without_timings(value):
    """A JSON report with what depends on timing left out: `*_ms` and the rate buckets' counts
    (kept as their total)."""
    if isinstance(value, dict):
        return {
            k: sum(v) if k == "counts" else _without_timings(v)
            for k, v in value.items()
            if not k.endswith("_ms")
        }
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def test_to_dict_equals_the_cli_json_report(tmp_path: Path, failing_collection):
    collection = tmp_path / "mixed.yaml"
    collection.write_text(failing_collection)
    cli = json.loads(_cli_report("json", collection, tmp_path))
    ours = wsrun.run(collection).to_dict()
    assert _without_timings(ours) == _without_timings(cli)
    assert ours["collections"][0]["requests"][1]["steps"][1]["failure"] is not None


def test_to_junit_equals_the_cli_junit_report(tmp_path: Path, failing_collection):
    collection = tmp_path / "mixed.yaml"
    collection.write_text(failing_collection)

    def without_timings(xml: str) -> str:
        xml = re.sub(r' time="[^"]*"', "", xml)
        # The handshake's nonces, and the server's clock (`date:`), differ between two runs.
        xml = re.sub(r"sec-websocket-(key|accept): \S+", "", xml)
        xml = re.sub(r"date: [^\n]*", "", xml)
        return re.sub(r"\d+\.\d{3}s ", "", xml)  # the transcript's frame times

    cli = _cli_report("junit", collection, tmp_path)
    ours = wsrun.run(collection).to_junit()
    assert without_timings(ours) == without_timings(cli)
    assert "<failure" in ours


def test_to_html_equals_the_cli_html_report(tmp_path: Path, failing_collection):
    collection = tmp_path / "mixed.yaml"
    collection.write_text(failing_collection)

    def without_timings(page: str) -> str:
        page = re.sub(r"<svg.*?</svg>", "", page, flags=re.S)  # the rate chart
        return re.sub(r"\d", "", page)

    cli = _cli_report("html", collection, tmp_path)
    ours = wsrun.run(collection).to_html()
    assert without_timings(ours) == without_timings(cli)
    assert ours.startswith("<!DOCTYPE html>")
    assert "fails" in ours and "$.id does not match" in ours


def test_repr_html(failing_collection):
    page = wsrun.run(failing_collection)._repr_html_()
    assert "<table" in page
    assert "fails" in page and "passes" in page
    assert "1 passed, 1 failed" in page
    assert "border-left:4px solid #e5534b" in page  # the failure row is marked (any theme)
    assert "expected  8" in page
    ET.fromstring(page)  # well-formed


def test_run_async_two_at_once(server):
    slow = f"""\
requests:
  - name: waits one second
    url: {server.url('/silent')}
    steps:
      - no_message: {{ within: 1s }}
"""

    async def main():
        started = time.monotonic()
        a, b = await asyncio.gather(wsrun.run_async(slow), wsrun.run_async(slow))
        return a, b, time.monotonic() - started

    a, b, elapsed = asyncio.run(main())
    assert a.passed and b.passed
    assert elapsed < 1.8, f"the runs did not overlap ({elapsed:.2f}s)"


def test_run_async_loads_errors_raise():
    async def main():
        await wsrun.run_async("requests:\n  - name: x\n    url: ws://h\n    steps: [{bogus: 1}]\n")

    with pytest.raises(wsrun.CollectionError):
        asyncio.run(main())


def test_run_async_cancel(server):
    silent = f"""\
requests:
  - name: hangs
    url: {server.url('/silent')}
    steps:
      - expect: {{ text: never, timeout: 60s }}
"""

    async def main():
        task = asyncio.ensure_future(wsrun.run_async(silent))
        await asyncio.sleep(0.3)
        task.cancel()
        started = time.monotonic()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - started

    assert asyncio.run(main()) < 1


def test_gil_released_while_running(server):
    text = f"""\
requests:
  - name: silent server
    url: {server.url('/silent')}
    steps:
      - expect: {{ text: never, timeout: 1s }}
"""
    counter = 0
    stop = False

    def count():
        nonlocal counter
        while not stop:
            counter += 1

    t = threading.Thread(target=count)
    t.start()
    try:
        time.sleep(0.05)
        before = counter
        started = time.monotonic()
        report = wsrun.run(text)
        elapsed = time.monotonic() - started
        during = counter - before
    finally:
        stop = True
        t.join()
    assert not report.passed
    assert elapsed >= 0.9
    # With the GIL held the counting thread would be frozen for the whole second.
    assert during > 100_000, during


def test_run_timeout_argument(server):
    text = f"""\
requests:
  - name: hangs
    url: {server.url('/silent')}
    steps:
      - expect: {{ text: never, timeout: 30s }}
"""
    started = time.monotonic()
    report = wsrun.run(text, timeout=0.5)
    assert time.monotonic() - started < 5
    assert not report.passed
    assert report.stopped == "timeout"
    assert wsrun.run(text, timeout="300ms").stopped == "timeout"


def test_requests_selects_exact_names(failing_collection):
    report = wsrun.run(failing_collection, requests=["fails"])
    assert [r.name for r in report.requests] == ["fails"]
    report = wsrun.run(failing_collection, filter="PASS")
    assert [r.name for r in report.requests] == ["passes"]


def test_bad_arguments():
    with pytest.raises(TypeError):
        wsrun.run(42)
    with pytest.raises(wsrun.CollectionError) as e:
        wsrun.run("/no/such/file.yaml")
    assert "no such file" in str(e.value)
    assert e.value.path == "/no/such/file.yaml"


def test_secrets_are_masked(server):
    text = f"""\
requests:
  - name: secret
    url: {server.url('/echo')}
    steps:
      - send: {{ text: "token={{{{ token }}}}" }}
      - expect: {{ text: nope }}
"""
    report = wsrun.run(text, secrets={"token": "hunter2"})
    assert not report.passed
    assert "token=***" in report.requests[0].failure_text
    assert "hunter2" not in repr(report.to_dict())
    assert "hunter2" not in report.to_junit()


def _strings(value):
    """Every string inside a `to_dict()` document, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def test_secrets_escaped_in_json_in_a_secret_map_or_captured_are_masked(server):
    url = server.url("/echo")
    text = f"""\
secrets: [quoted, creds, token]
vars:
  quoted: 'q"uo\\te/é-secret'
  creds: {{ user: u, pass: p4ss-map-secret }}
requests:
  - name: json escaped
    url: {url}
    steps:
      - send: {{ json: {{ q: "{{{{ quoted }}}}", k: "{{{{ key }}}}" }} }}
      - expect: {{ json: {{ $.q: nope }} }}
  - name: unicode escaped
    url: {url}
    steps:
      - send: '{{"u": "q\\u0022uo\\\\te\\/\\u00e9-secret"}}'
      - expect: {{ json: {{ $.u: nope }} }}
  - name: map field
    url: {url}
    steps:
      - send: "pass={{{{ creds.pass }}}}"
      - expect: {{ text: nope }}
  - name: captured
    url: {url}
    steps:
      - send: {{ json: {{ token: captured-secret-5150 }} }}
      - expect: {{ json: {{ $.token: {{ exists: true }} }} }}
      - capture: {{ token: $.token }}
      - send: "token={{{{ token }}}}"
      - expect: {{ text: nope }}
"""
    report = wsrun.run(text, secrets={"key": 'k"e\\y-secret'})
    assert [r.passed for r in report.requests] == [False] * 4
    assert "pass=***" in report.requests[2].failure_text
    outputs = {
        "to_dict": list(_strings(report.to_dict())),
        "to_junit": [report.to_junit()],
        "to_html": [report.to_html()],
        "failure_text": [r.failure_text for r in report.requests],
    }
    # Masking replaces a secret whole, so any piece of one is a leak.
    pieces = ("é-secret", "u00e9-secret", "uo\\te", "uo\\\\te", "p4ss-map-secret",
              "captured-secret-5150", "y-secret")
    for name, texts in outputs.items():
        for t in texts:
            for piece in pieces:
                assert piece not in t, f"{piece!r} leaked into {name}: {t}"
