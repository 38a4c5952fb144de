"""graphql-ws against the reference implementation: collections/graphql-subscription.yaml, written
against the embedded mock, runs unchanged (`--env server`) against the `graphql-ws` 6 server on
`ws` 8 and `graphql` 16 (tests/node/graphql/server.mjs, installed by `npm ci --prefix
tests/node/graphql`), through `wsrun.run()` and the CLI; a refused `connection_init` and the
server's `ping` are checked there too."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Iterator, List

import pytest

import wsrun
from reference import port_printing_server, run_cli

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = ROOT / "collections" / "graphql-subscription.yaml"
SERVER_DIR = ROOT / "tests" / "node" / "graphql"


@pytest.fixture(scope="module")
def graphql_url() -> Iterator[str]:
    """The reference server on a free loopback port, for this module."""
    node = shutil.which("node")
    assert node, "node is not installed (the graphql-ws reference server runs on node 20)"
    assert (SERVER_DIR / "node_modules" / "graphql-ws").is_dir(), (
        "the reference server is not installed: npm ci --prefix tests/node/graphql"
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
    assert len(report.requests) == 5


def test_the_collection_passes_against_the_reference_server(graphql_url):
    report = wsrun.run(str(COLLECTION), env="server", vars={"graphql_url": graphql_url})
    failures = [(r.name, r.error) for r in report.requests if not r.passed]
    assert failures == []
    by_name = {r.name: r for r in report.requests}

    countdown = by_name["a countdown streams next messages, then complete"]
    sent = _frames(countdown, "sent")
    assert sent[0] == {"type": "connection_init", "payload": {"user": "ada", "token": "***"}}
    assert sent[1]["type"] == "subscribe" and sent[1]["payload"]["variables"] == {"from": 2}
    received = _frames(countdown, "received")
    assert received[0] == {"type": "connection_ack"}
    operation = [(m["type"], m.get("payload")) for m in received[1:]]
    assert operation == [
        ("next", {"data": {"countdown": 2}}),
        ("next", {"data": {"countdown": 1}}),
        ("next", {"data": {"countdown": 0}}),
        ("complete", None),
    ]
    assert {m["id"] for m in received[1:]} == {sent[1]["id"]}

    greeted = by_name["the init payload reaches the server"]
    assert _frames(greeted, "received")[1]["payload"] == {"data": {"greeting": "Hello, ada"}}

    boom = by_name["a resolver that throws ends in an error message"]
    error = _frames(boom, "received")[1]
    assert error["type"] == "error" and error["payload"][0]["message"] == "boom"


def test_a_server_ping_is_answered_with_its_payload_and_never_reaches_the_steps(graphql_url):
    report = wsrun.run(
        str(COLLECTION),
        env="server",
        vars={"graphql_url": graphql_url},
        requests=["a server ping is answered with pong, unseen by the steps"],
    )
    (request,) = report.requests
    assert request.passed, request.error
    ping = {"type": "ping", "payload": {"check": "keep-alive"}}
    assert ping in _frames(request, "received")
    assert {"type": "pong", "payload": {"check": "keep-alive"}} in _frames(request, "sent")
    # The server answers the subscription only once it has the pong; the step that expected
    # the very next message got the `next`, not the ping.
    expect = request.steps[1]
    assert expect.keyword == "expect" and expect.passed and expect.messages == 1


REFUSED = """\
requests:
  - name: refused
    url: {url}
    protocol: graphql-ws
    graphql-ws: {{ init: {{ token: wrong }} }}
    steps:
      - subscribe: {{ query: "subscription {{ greeting }}" }}
"""


def test_a_refused_connection_init_fails_naming_the_close_code_and_reason(graphql_url):
    report = wsrun.run(REFUSED.format(url=graphql_url))
    (request,) = report.requests
    assert not request.passed
    assert request.error == (
        'the server closed the connection (code 4403, reason "Forbidden") '
        "during the graphql-ws handshake"
    )
    assert [s.status for s in request.steps] == ["skipped"]


def test_the_cli_runs_the_collection_against_the_reference_server(graphql_url, tmp_path):
    printed, document = run_cli(COLLECTION, "server", f"graphql_url={graphql_url}", tmp_path)
    assert "5 requests: 5 passed" in printed
    keywords = {
        s["keyword"] for c in document["collections"] for r in c["requests"] for s in r["steps"]
    }
    assert {"subscribe", "complete"} <= keywords


@pytest.fixture(scope="module")
def legacy_url() -> Iterator[str]:
    """Apollo's legacy subscriptions-transport-ws server (tests/node/graphql/legacy.mjs)."""
    node = shutil.which("node")
    assert node, "node is not installed (the legacy server runs on node 20)"
    assert (SERVER_DIR / "node_modules" / "subscriptions-transport-ws").is_dir(), (
        "the legacy server is not installed: npm ci --prefix tests/node/graphql"
    )
    command = [node, str(SERVER_DIR / "legacy.mjs"), "0"]
    with port_printing_server(command, "ws://127.0.0.1:{port}/graphql") as url:
        yield url


LEGACY = """\
requests:
  - name: graphql-ws at a legacy server
    url: {url}
    protocol: graphql-ws
    steps:
      - subscribe: {{ query: "subscription {{ n }}" }}
"""


def test_a_legacy_only_server_is_named_with_the_legacy_protocol(legacy_url):
    report = wsrun.run(LEGACY.format(url=legacy_url))
    request = report.requests[0]
    assert not request.passed
    # The server (on ws 7) agrees to the first subprotocol asked for, then closes with 1002:
    # subscriptions-transport-ws only speaks `graphql-ws`.
    assert request.error == (
        "the server closed the connection (code 1002) during the graphql-ws handshake; "
        "a server that speaks only the legacy subscriptions-transport-ws protocol "
        "(subprotocol `graphql-ws`) needs `protocol: graphql-ws-legacy`"
    ), request.error
