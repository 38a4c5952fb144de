"""The JSON report (`wsrun run --report json=FILE`) against its schema,
schema/wsrun-report.schema.json: real reports of passing, failing, refused, stopped, binary and
long runs validate, and documents that break the format are rejected."""

from __future__ import annotations

import copy
import json
import os
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Tuple

import jsonschema
import pytest
from reference import wsrun_command

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "schema" / "wsrun-report.schema.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_FILE.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _errors(validator: Any, document: Any) -> List[str]:
    return [
        f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
        for e in validator.iter_errors(document)
    ]


def _run(tmp_path: Path, collection: Path, *flags: str) -> Tuple[int, Dict[str, Any]]:
    """Runs the `wsrun` command on `collection` and returns its exit code and JSON report."""
    out = tmp_path / f"{collection.stem}-report.json"
    proc = subprocess.run(
        [wsrun_command(), "run", str(collection), "--report", f"json={out}", *flags],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, NO_COLOR="1", CI="1"),
    )
    assert out.exists(), f"no report written (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}"
    return proc.returncode, json.loads(out.read_text())


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _requests(report: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [r for c in report["collections"] for r in c["requests"]]


def _failed_step(request: Dict[str, Any]) -> Dict[str, Any]:
    return next(s for s in request["steps"] if s["status"] == "failed")


FAILING = """\
mocks:
  echo: { echo: true }
requests:
  - name: passes
    url: "{{ mocks.echo.url }}"
    steps:
      - send: { json: { s: BTCUSDT } }
      - expect: { json: { $.s: BTCUSDT } }
  - name: wrong symbol
    url: "{{ mocks.echo.url }}"
    steps:
      - send: { json: { s: BTCUSDT } }
      - expect: { json: { $.s: ETHUSDT } }
      - close:
"""

# The failing request first: --fail-fast never reaches the second.
FAIL_FIRST = """\
mocks:
  echo: { echo: true }
requests:
  - name: wrong symbol
    url: "{{ mocks.echo.url }}"
    steps:
      - send: { json: { s: BTCUSDT } }
      - expect: { json: { $.s: ETHUSDT } }
  - name: never reached
    url: "{{ mocks.echo.url }}"
    steps:
      - send: hi
"""

SILENT = """\
mocks:
  silent: {}
requests:
  - name: waits
    url: "{{ mocks.silent.url }}"
    timeout: 30s
    steps:
      - expect:
  - name: never reached
    url: "{{ mocks.silent.url }}"
    steps:
      - expect:
"""

# A binary frame, a text frame and a JSON frame, replayed back to back and in a loop.
MIXED_JSONL = '{"binary": "AQID"}\n{"text": "hello"}\n{"json": {"n": 1}}\n'

STREAM = """\
mocks:
  firehose: { replay: mixed.jsonl, interval: 1ms, loop: true }
  echo: { echo: true }
requests:
  - name: binary echo, ping and close
    url: "{{ mocks.echo.url }}"
    steps:
      - send: { binary: AQIDBA== }
      - expect: { binary: { eq: AQIDBA== } }
      - ping: hi
      - close: { code: 1000, reason: done }
  - name: a long mixed stream
    url: "{{ mocks.firehose.url }}"
    steps:
      - expect: { binary: { len: 3 } }
      - wait_for: { count: 200, within: 20s, json: { $.n: 1 } }
"""


LATENCY_AND_LOAD = """\
mocks:
  echo: { echo: true }
requests:
  - name: one round trip
    url: "{{ mocks.echo.url }}"
    steps:
      - send: { json: { id: 1 } }
      - expect: { json: { $.id: 1 }, latency: { lt: 10s } }
  - name: repeated
    url: "{{ mocks.echo.url }}"
    repeat: 50
    steps:
      - send: { json: { id: 1 } }
      - expect: { json: { $.id: 1 }, latency: { p95: { lt: 10s } } }
  - name: load
    url: "{{ mocks.echo.url }}"
    load: { users: 8, ramp: 100ms }
    repeat: 5
    thresholds: { failed: { lte: 0 }, connect_p95: { lt: 10s }, "step 2 p99": { lt: 10s } }
    steps:
      - send: { json: { id: 1 } }
      - expect: { json: { $.id: 1 } }
"""


def test_the_offline_websocket_collection_writes_a_valid_passing_report(tmp_path, validator):
    code, report = _run(tmp_path, ROOT / "collections" / "websocket.yaml")
    assert code == 0
    assert _errors(validator, report) == []
    assert report["format"] == "wsrun-report/1"
    assert report["passed"] is True and report["stopped"] is None
    assert report["summary"] == {"requests": 2, "passed": 2, "failed": 0}
    assert all(s["status"] == "passed" for r in _requests(report) for s in r["steps"])


@pytest.fixture(scope="module")
def failing_report(tmp_path_factory) -> Tuple[int, Dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("failing")
    return _run(tmp, _write(tmp, "failing.yaml", FAILING))


def test_an_assertion_failure_validates_with_path_expected_and_actual(failing_report, validator):
    code, report = failing_report
    assert code == 1
    assert _errors(validator, report) == []
    assert report["passed"] is False
    assert report["summary"] == {"requests": 2, "passed": 1, "failed": 1}
    failing = _requests(report)[1]
    step = _failed_step(failing)
    failure = step["failure"]
    assert (step["index"], step["keyword"]) == (2, "expect")
    assert failure["path"] == "$.s"
    assert failure["expected"] is not None and "ETHUSDT" in json.dumps(failure["expected"])
    assert failure["actual"] is not None and "BTCUSDT" in json.dumps(failure["actual"])
    assert failing["steps"][2]["status"] == "skipped"


def test_a_refused_connection_validates_as_a_request_level_error(tmp_path, validator):
    refused = _write(
        tmp_path,
        "refused.yaml",
        "requests:\n  - name: refused\n    url: ws://127.0.0.1:1/ws\n    steps:\n      - send: hi\n",
    )
    code, report = _run(tmp_path, refused)
    assert code == 1
    assert _errors(validator, report) == []
    request = _requests(report)[0]
    assert "connection refused" in request["error"]["summary"]
    assert request["error"]["connection"] == "default"
    assert [s["status"] for s in request["steps"]] == ["skipped"]


def test_a_run_stopped_by_its_timeout_validates_with_stopped_timeout(tmp_path, validator):
    code, report = _run(tmp_path, _write(tmp_path, "silent.yaml", SILENT), "--timeout", "300ms")
    assert code == 1
    assert _errors(validator, report) == []
    assert report["stopped"] == "timeout"
    assert report["passed"] is False
    assert "--timeout" in _requests(report)[0]["error"]["summary"]


def test_a_run_stopped_by_fail_fast_validates_with_stopped_fail_fast(tmp_path, validator):
    code, report = _run(tmp_path, _write(tmp_path, "fail-first.yaml", FAIL_FIRST), "--fail-fast")
    assert code == 1
    assert _errors(validator, report) == []
    assert report["stopped"] == "fail_fast"
    assert [r["name"] for r in _requests(report)] == ["wrong symbol"]
    assert report["summary"] == {"requests": 1, "passed": 0, "failed": 1}


def test_binary_frames_and_a_long_stream_validate_with_rates_and_every_frame_kind(
    tmp_path, validator
):
    _write(tmp_path, "mixed.jsonl", MIXED_JSONL)
    code, report = _run(tmp_path, _write(tmp_path, "stream.yaml", STREAM))
    assert code == 0, report
    assert _errors(validator, report) == []
    echo, stream = _requests(report)
    kinds = {f["kind"] for r in (echo, stream) for f in r["transcript"]["frames"]}
    assert {"binary", "text", "ping", "pong", "close"} <= kinds
    assert {f["payload"] for f in echo["transcript"]["frames"] if f["kind"] == "binary"} == {
        "<4 bytes>"
    }
    # The 200th `{"n": 1}` is the 600th message at 1 per ms: more than the transcript keeps,
    # spread over several rate buckets.
    assert stream["transcript"]["elided"] > 0
    assert len(stream["transcript"]["frames"]) == 250
    (rates,) = stream["rates"]
    assert rates["connection"] == "default" and rates["bucket_ms"] > 0
    assert sum(rates["counts"]) >= 600
    assert len(rates["counts"]) > 1


def test_a_dropped_connection_validates_as_a_lost_frame(tmp_path, validator, server):
    dropped = _write(
        tmp_path,
        "dropped.yaml",
        f"requests:\n  - name: dropped\n    url: {server.url('/drop')}\n"
        "    steps:\n      - expect: { json: { $.last: true } }\n      - expect_close:\n",
    )
    code, report = _run(tmp_path, dropped)
    assert code == 1
    assert _errors(validator, report) == []
    request = _requests(report)[0]
    assert "lost" in {f["kind"] for f in request["transcript"]["frames"]}
    assert "without a close frame" in _failed_step(request)["failure"]["summary"]


def test_the_schema_accepts_any_json_value_for_expected_actual_and_message(
    failing_report, validator
):
    report = copy.deepcopy(failing_report[1])
    failure = _failed_step(_requests(report)[1])["failure"]
    for value in ("text", 8, 1.5, True, None, ["a", 1], {"s": "ETHUSDT"}):
        failure["expected"] = failure["actual"] = failure["message"] = value
        assert _errors(validator, report) == [], value


def _break(document: Dict[str, Any], how: str) -> Dict[str, Any]:
    broken = copy.deepcopy(document)
    request = broken["collections"][0]["requests"][1]
    step = _failed_step(request)
    if how == "an unknown top-level key":
        broken["extra"] = 1
    elif how == "an unknown step key":
        step["hint"] = 3
    elif how == "an unknown failure key":
        step["failure"]["hint"] = "?"
    elif how == "a status outside the enum":
        step["status"] = "error"
    elif how == "a stopped reason outside the enum":
        broken["stopped"] = "timed_out"
    elif how == "another format":
        broken["format"] = "wsrun-report/2"
    elif how == "a missing required key":
        del request["transcript"]
    elif how == "a frame direction outside the enum":
        request["transcript"]["frames"][0]["direction"] = "in"
    elif how == "a frame kind outside the enum":
        request["transcript"]["frames"][0]["kind"] = "json"
    elif how == "a failed step without a failure":
        step["failure"] = None
    elif how == "a passed step with a failure":
        request["steps"][0]["failure"] = copy.deepcopy(step["failure"])
    elif how == "a negative count":
        broken["summary"]["failed"] = -1
    elif how == "a summary as text":
        step["failure"]["summary"] = 3
    elif how == "a negative latency":
        step["latency_ms"] = -1
    elif how == "a missing latency":
        del step["latency_ms"]
    else:
        raise AssertionError(how)
    return broken


@pytest.mark.parametrize(
    "how",
    [
        "an unknown top-level key",
        "an unknown step key",
        "an unknown failure key",
        "a status outside the enum",
        "a stopped reason outside the enum",
        "another format",
        "a missing required key",
        "a frame direction outside the enum",
        "a frame kind outside the enum",
        "a failed step without a failure",
        "a passed step with a failure",
        "a negative count",
        "a summary as text",
        "a negative latency",
        "a missing latency",
    ],
)
def test_a_broken_report_is_rejected(how, failing_report, validator):
    report = failing_report[1]
    assert _errors(validator, report) == []
    assert _errors(validator, _break(report, how)) != [], how


@pytest.fixture(scope="module")
def load_report(tmp_path_factory) -> Tuple[Path, Dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("load")
    code, report = _run(tmp, _write(tmp, "load.yaml", LATENCY_AND_LOAD))
    assert code == 0, report
    return tmp, report


def test_round_trips_distributions_and_a_load_validate(load_report, validator):
    _, report = load_report
    assert _errors(validator, report) == []
    once, repeated, load = _requests(report)
    assert once["steps"][1]["latency_ms"] > 0 and once["steps"][1]["latency"] is None
    assert once["steps"][0]["latency_ms"] is None
    dist = repeated["steps"][1]["latency"]
    assert dist["count"] == 50 and dist["min_ms"] <= dist["p95_ms"] <= dist["max_ms"]
    assert isinstance(dist["histogram"], str) and dist["histogram"]
    assert load["load"]["users"] == 8 and load["load"]["iterations"] == 40
    assert load["load"]["connect"]["count"] == 8
    assert [t["name"] for t in load["load"]["thresholds"]] == ["failed", "connect_p95", "step 2 p99"]
    assert all(t["passed"] for t in load["load"]["thresholds"])
    assert load["load"]["timeline"]["points"]


def _merge(*reports: Path, out: Path) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(
        [wsrun_command(), "merge", *map(str, reports), "--report", f"json={out}"],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, NO_COLOR="1"),
    )


def test_a_merged_report_validates(tmp_path, validator):
    collection = _write(tmp_path, "load.yaml", LATENCY_AND_LOAD)
    shards = []
    for k in (1, 2):
        folder = tmp_path / f"shard{k}"
        folder.mkdir()
        code, report = _run(folder, collection, "--shard", f"{k}/2")
        assert code == 0, report
        assert report["shard"]["index"] == k and report["shard"]["count"] == 2
        assert _errors(validator, report) == []
        shards.append(folder / "load-report.json")
    merged = tmp_path / "merged.json"
    proc = _merge(*shards, out=merged)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    document = json.loads(merged.read_text())
    assert _errors(validator, document) == []
    assert document["shard"] is None
    # File order; each plain request ran in one shard, the load in both.
    assert [r["name"] for r in _requests(document)] == ["one round trip", "repeated", "load"]
    load = _requests(document)[2]["load"]
    assert load["shards"] == 2 and load["users"] == 8 and load["iterations"] == 40
    assert document["summary"]["requests"] == 3


def test_merging_one_shard_twice_is_refused(tmp_path):
    collection = _write(tmp_path, "load.yaml", LATENCY_AND_LOAD)
    code, _ = _run(tmp_path, collection, "--shard", "1/1")
    assert code == 0
    report = tmp_path / "load-report.json"
    proc = _merge(report, report, out=tmp_path / "merged.json")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith("error[duplicate-shard]: "), proc.stderr


@pytest.mark.parametrize(
    "how",
    ["a histogram that is a number", "a threshold unit outside the enum", "a missing load key"],
)
def test_a_broken_load_report_is_rejected(how, load_report, validator):
    broken = copy.deepcopy(load_report[1])
    once, repeated, load = _requests(broken)
    if how == "a histogram that is a number":
        repeated["steps"][1]["latency"]["histogram"] = 3
    elif how == "a threshold unit outside the enum":
        load["load"]["thresholds"][0]["unit"] = "seconds"
    else:
        del load["load"]["timeline"]
    assert _errors(validator, broken) != [], how
