"""SignalR against an implementation we did not write: the official JavaScript client,
`@microsoft/signalr` 10 (tests/node/signalr/client.mjs, installed by `npm ci --prefix
tests/node/signalr`), connects to wsrun's hub mock (the `hub` of collections/signalr.yaml,
served by `wsrun serve`) over WebSockets without negotiation: it gets the hub's invocation,
invokes a method for its result and one for its error, and receives the invocation its `send`
makes the hub send. The collection itself passes offline against the same mock."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

import wsrun
from reference import wsrun_command

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = ROOT / "collections" / "signalr.yaml"
CLIENT_DIR = ROOT / "tests" / "node" / "signalr"


@pytest.fixture(scope="module")
def hub_url() -> Iterator[str]:
    """wsrun's own hub mock (`hub` of the collection), served by `wsrun serve`."""
    proc = subprocess.Popen(
        [wsrun_command(), "serve", str(COLLECTION), "--mock", "hub"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "ws://127.0.0.1:" in line, f"no URL in {line!r} (exit {proc.poll()})"
        yield line.split()[-1] + "/chat"
    finally:
        proc.terminate()
        proc.wait(10)


def test_the_collection_passes_offline_against_its_mock():
    report = wsrun.run(str(COLLECTION))
    assert report.passed, [(r.name, r.error) for r in report.requests]
    invoke = report.requests[0]
    sent = [f["payload"] for f in invoke.transcript if f["direction"] == "sent"]
    assert sent[0] == '{"protocol":"json","version":1}\x1e'
    assert '{"type":1,"invocationId":"1","target":"Add","arguments":[40,2]}\x1e' in sent
    # The access token is a secret: never in what the report holds.
    assert "let-me-in" not in json.dumps(report.to_dict())


def test_the_official_client_invokes_the_hub_mock_and_receives_its_invocations(hub_url):
    node = shutil.which("node")
    assert node, "node is not installed (the SignalR client runs on node 20)"
    assert (CLIENT_DIR / "node_modules" / "@microsoft" / "signalr").is_dir(), (
        "the SignalR client is not installed: npm ci --prefix tests/node/signalr"
    )
    proc = subprocess.run(
        [node, str(CLIENT_DIR / "client.mjs"), hub_url],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    seen = json.loads(proc.stdout.splitlines()[0])
    assert seen == {
        "welcome": ["hello"],
        "add": 42,
        "fail": "It didn't work!",
        "heard": ["hey"],
    }


def test_connect_invokes_the_hub_mock_and_sees_its_invocations():
    with wsrun.serve(COLLECTION, mock="hub") as url:
        with wsrun.connect(url + "/chat", protocol="signalr", options={"access_token": "tok3n"}) as c:
            assert c.protocol == "signalr"
            welcome = c.expect(json={"$.target": "Welcome"})
            assert welcome == {"target": "Welcome", "arguments": ["hello"]}
            completion = c.invoke("Add", 40, 2, result={"$": 42})
            assert completion == {"type": 3, "invocationId": "1", "result": 42}
            # The round trip of the invocation, as call() and emit() give theirs.
            assert isinstance(completion, wsrun.Reply) and 0 < completion.latency < 5
            c.invoke("Fail", error={"$": {"contains": "didn't work"}})
            with pytest.raises(wsrun.AssertionFailed, match="invoke `Fail` failed: It didn't work!"):
                c.invoke("Fail")
            c.send(json={"target": "Shout", "arguments": ["hey"]})
            assert c.wait_for(json={"$.target": "Heard"})["arguments"] == ["hey"]
