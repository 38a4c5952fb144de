"""graphql-ws-legacy against the reference implementation: collections/graphql-legacy.yaml,
written against the embedded mock, runs unchanged (`--env server`) against Apollo's
`subscriptions-transport-ws` 0.11 server on `ws` 7 and `graphql` 16
(tests/node/graphql-legacy/server.mjs, installed by `npm ci --prefix tests/node/graphql-legacy`),
through `wsrun.run()` and the CLI; its `connection_error` refusal and `ka` keep-alives are
checked there too."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Iterator, List

import pytest

import wsrun
from reference import port_printing_server, run_cli

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = ROOT / "collections" / "graphql-legacy.yaml"
SERVER_DIR = ROOT / "tests" / "node" / "graphql-legacy"


@pytest.fixture(scope="module")
def legacy_url() -> Iterator[str]:
    """The reference server on a free loopback port, for this module."""
    node = shutil.which("node")
    assert node, "node is not installed (the subscriptions-transport-ws server runs on node 20)"
    assert (SERVER_DIR / "node_modules" / "subscriptions-transport-ws").is_dir(), (
        "the reference server is not installed: npm ci --prefix tests/node/graphql-legacy"
    )
    command = [node, str(SERVER_DIR / "server.mjs"), "0"]
    with port_printing_server(command, "ws://127.0.0.1:{port}/graphql") as url:
        yield url


def _frames(request: wsrun.RequestResult, direction: str) -> List[Any]:
    return [
        json.loads(f["payload"])
        for f in request.transcript
        if f["direction"] == direction and f["kind"] == "text"
    ]


def test_the_collection_passes_offline_against_its_mock():
    report = wsrun.run(str(COLLECTION))
    assert report.passed, [(r.name, r.error) for r in report.requests]
    assert len(report.requests) == 4


def test_the_collection_passes_against_the_reference_server(legacy_url):
    report = wsrun.run(str(COLLECTION), env="server", vars={"graphql_url": legacy_url})
    failures = [(r.name, r.error) for r in report.requests if not r.passed]
    assert failures == []
    countdown = report.requests[0]
    sent = _frames(countdown, "sent")
    assert sent[0] == {"type": "connection_init", "payload": {"user": "ada", "token": "***"}}
    assert sent[1]["type"] == "start" and sent[1]["payload"]["variables"] == {"from": 2}
    assert sent[-1] == {"type": "connection_terminate"}
    received = [m for m in _frames(countdown, "received") if m["type"] != "ka"]
    assert received[0] == {"type": "connection_ack"}
    operation = [(m["type"], m.get("payload")) for m in received[1:]]
    assert operation == [
        ("data", {"data": {"countdown": 2}}),
        ("data", {"data": {"countdown": 1}}),
        ("data", {"data": {"countdown": 0}}),
        ("complete", None),
    ]
    # The server's keep-alives are in the transcript; no step saw them.
    assert {"type": "ka"} in _frames(countdown, "received")
    stop = report.requests[3]
    assert {"id": "1", "type": "stop"} in _frames(stop, "sent")


REFUSED = """\
requests:
  - name: refused
    url: {url}
    protocol: graphql-ws-legacy
    graphql-ws-legacy: {{ init: {{ token: wrong }} }}
    steps:
      - subscribe: {{ query: "subscription {{ greeting }}" }}
"""


def test_a_connection_error_fails_naming_it_and_the_servers_message(legacy_url):
    report = wsrun.run(REFUSED.format(url=legacy_url))
    (request,) = report.requests
    assert not request.passed
    assert request.error == (
        'the server refused the connection with `connection_error`: "Forbidden"'
    )
    assert [s.status for s in request.steps] == ["skipped"]


def test_the_cli_runs_the_collection_against_the_reference_server(legacy_url, tmp_path):
    printed, document = run_cli(COLLECTION, "server", f"graphql_url={legacy_url}", tmp_path)
    assert "4 requests: 4 passed" in printed


def test_connect_subscribes_on_the_reference_server(legacy_url):
    options = {"init": {"token": "let-me-in", "user": "ada"}}
    with wsrun.connect(legacy_url, protocol="graphql-ws-legacy", options=options) as c:
        assert c.protocol == "graphql-ws-legacy"
        c.subscribe("subscription { greeting }", id="g")
        message = c.expect(json={"$.id": "g", "$.type": "next"})
        assert message == {"type": "next", "id": "g", "payload": {"data": {"greeting": "Hello, ada"}}}
        c.expect(json={"$.id": "g", "$.type": "complete"})
