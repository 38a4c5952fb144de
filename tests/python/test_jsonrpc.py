"""JSON-RPC against the reference implementation: collections/jsonrpc.yaml, written against the
embedded mock, runs unchanged (`--env server`) against a server built on PyPI's `jsonrpcserver`
and `websockets` (tests/python/servers/jsonrpc_server.py), through `wsrun.run()` and the CLI."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any, Iterator, List

import pytest

import wsrun
from reference import port_printing_server, run_cli

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = ROOT / "collections" / "jsonrpc.yaml"
SERVER = Path(__file__).resolve().parent / "servers" / "jsonrpc_server.py"


@pytest.fixture(scope="module")
def rpc_url() -> Iterator[str]:
    """The reference server on a free loopback port, for this module."""
    with port_printing_server([sys.executable, str(SERVER), "0"], "ws://127.0.0.1:{port}") as url:
        yield url


def _received(request: wsrun.RequestResult) -> List[Any]:
    return [
        json.loads(f["payload"])
        for f in request.transcript
        if f["direction"] == "received" and f["kind"] == "text"
    ]


def test_the_collection_passes_offline_against_its_mock():
    report = wsrun.run(str(COLLECTION))
    assert report.passed, report.requests
    assert len(report.requests) == 5


def test_the_collection_passes_against_the_reference_server(rpc_url):
    report = wsrun.run(str(COLLECTION), env="server", vars={"rpc_url": rpc_url})
    failures = [(r.name, r.error) for r in report.requests if not r.passed]
    assert failures == []
    by_name = {r.name: r for r in report.requests}

    calls = by_name["calls wait for every response, in any order"]
    # The server answered `sleep` (id 1) last: the calls waited for it all the same.
    ids = [m["id"] for m in _received(calls)]
    assert ids[:3] == [2, 3, 1]
    step = calls.steps[0]
    assert step.keyword == "calls" and step.messages == 3
    assert step.latency is not None and step.latency >= 0.2

    notified = by_name["notifications stay in the inbox while a call waits"]
    assert _received(notified)[0] == {"jsonrpc": "2.0", "method": "tick", "params": {"n": 1}}
    assert [s.keyword for s in notified.steps] == ["notify", "call", "expect"]

    errors = by_name["an expected error is checked, not failed on"]
    assert [m["error"]["code"] for m in _received(errors)] == [-32000, -32601]


def test_latency_is_reported_for_answered_steps_only(rpc_url):
    report = wsrun.run(str(COLLECTION), env="server", vars={"rpc_url": rpc_url})
    latencies = {
        s.keyword: s.latency for r in report.requests for s in r.steps if s.keyword != "call"
    }
    assert latencies["capture"] is None and latencies["notify"] is None
    assert latencies["send"] is not None and latencies["send"] > 0
    assert all(
        s.latency is not None and s.latency > 0
        for r in report.requests
        for s in r.steps
        if s.keyword == "call"
    )


def test_the_cli_runs_the_collection_against_the_reference_server(rpc_url, tmp_path):
    printed, document = run_cli(COLLECTION, "server", f"rpc_url={rpc_url}", tmp_path)
    assert "5 requests: 5 passed" in printed
    steps = [s for c in document["collections"] for r in c["requests"] for s in r["steps"]]
    assert {s["keyword"] for s in steps if s["latency_ms"] is not None} == {"call", "calls", "send"}


UNEXPECTED = """\
requests:
  - name: boom
    url: {url}
    protocol: jsonrpc
    steps:
      - call: {{ method: boom }}
  - name: unknown
    url: {url}
    protocol: jsonrpc
    steps:
      - call: {{ method: no_such_method, params: [1] }}
  - name: wrong result
    url: {url}
    protocol: jsonrpc
    steps:
      - call: {{ method: add, params: [2, 2], result: {{ $: 5 }} }}
"""


def test_unexpected_errors_from_the_reference_server_fail_naming_code_and_message(rpc_url):
    report = wsrun.run(UNEXPECTED.format(url=rpc_url))
    boom, unknown, wrong = report.requests
    assert not report.passed
    assert boom.steps[0].error == 'call `boom` failed: error -32000 "boom"'
    assert unknown.steps[0].error == 'call `no_such_method` failed: error -32601 "Method not found"'
    assert wrong.steps[0].error == "call `add` result: $ does not match"
    assert (wrong.steps[0].expected, wrong.steps[0].actual) == (5, 4)


def test_a_call_answers_with_its_round_trip_against_the_reference_server(rpc_url):
    with wsrun.connect(rpc_url, protocol="jsonrpc") as c:
        quick = c.call("add", [2, 3], result={"$": 5})
        assert isinstance(quick, wsrun.Reply) and quick["result"] == 5
        assert 0 < quick.latency < 1 and c.latency == quick.latency
        # `sleep` answers after 200 ms: the round trip includes the server's time.
        slow = c.call("sleep")
        assert slow["result"] == "slept" and 0.2 <= slow.latency < 5
        c.notify("log", ["no answer"])
        assert c.latency is None


def test_async_calls_carry_their_round_trip_too(rpc_url):
    async def main() -> Any:
        async with wsrun.connect(rpc_url, protocol="jsonrpc") as c:
            return await c.call("sleep")

    slow = asyncio.run(main())
    assert slow == {"jsonrpc": "2.0", "result": "slept", "id": slow["id"]}
    assert 0.2 <= slow.latency < 5


def test_a_stream_takes_a_protocol_and_sends_through_it(rpc_url):
    request = {"jsonrpc": "2.0", "method": "add", "params": [2, 3], "id": 7}
    with wsrun.stream(rpc_url, protocol="jsonrpc", send=request, limit=1, timeout=5) as s:
        assert list(s) == [{"jsonrpc": "2.0", "result": 5, "id": 7}]
