"""Socket.IO against the reference implementation: collections/socketio-chat.yaml, written against
the embedded mock, runs unchanged (`--env server`) against the official `socket.io` server
(tests/node/socketio/server.js, pinging every 300 ms), through `wsrun.run()` and the CLI;
refusals name the server's message; and the mock, in turn, serves the official
`socket.io-client` (tests/node/socketio/client.js).

The node side is installed by scripts/test (`npm ci --prefix tests/node/socketio`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Iterator, List

import pytest

import wsrun
from reference import port_printing_server, run_cli, wsrun_command

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = ROOT / "collections" / "socketio-chat.yaml"
NODE_DIR = ROOT / "tests" / "node" / "socketio"

# The server pings every 300 ms and drops a client that has not answered 200 ms later.
PING_INTERVAL_MS = 300
PING_TIMEOUT_MS = 200


def _node() -> str:
    node = shutil.which("node")
    assert node, "node is not installed (the Socket.IO reference tests need node 20)"
    assert (NODE_DIR / "node_modules" / "socket.io").is_dir(), (
        "the reference server is not installed: npm ci --prefix tests/node/socketio"
    )
    return node


@pytest.fixture(scope="module")
def sio_url() -> Iterator[str]:
    """The official Socket.IO server on a free loopback port, for this module."""
    command = [
        _node(),
        str(NODE_DIR / "server.js"),
        "--ping-interval",
        str(PING_INTERVAL_MS),
        "--ping-timeout",
        str(PING_TIMEOUT_MS),
    ]
    with port_printing_server(command, "http://127.0.0.1:{port}") as url:
        yield url


def _texts(request: wsrun.RequestResult, direction: str) -> List[str]:
    return [
        f["payload"]
        for f in request.transcript
        if f["direction"] == direction and f["kind"] == "text"
    ]


def test_the_collection_passes_offline_against_its_mock():
    report = wsrun.run(str(COLLECTION))
    assert [(r.name, r.error) for r in report.requests if not r.passed] == []
    assert len(report.requests) == 4


def test_the_collection_passes_against_the_reference_server(sio_url):
    report = wsrun.run(str(COLLECTION), env="server", vars={"sio_url": sio_url})
    assert [(r.name, r.error) for r in report.requests if not r.passed] == []
    by_name = {r.name: r for r in report.requests}

    acked = by_name["an ack is checked while other events wait in the inbox"]
    # The server's ack id is the one the emit step chose, and the echo sent before it was
    # left in the inbox for the `expect` after it.
    sent = _texts(acked, "sent")
    assert sent[:3] == ["40", '42["msg","first"]', '421["add",2,3]']
    assert _texts(acked, "received")[2:4] == ['42["msg","first"]', "431[5]"]
    emit = acked.steps[1]
    assert emit.keyword == "emit" and emit.messages == 1
    assert emit.latency is not None and emit.latency > 0
    assert acked.steps[0].latency is None  # an emit without `ack` waits for nothing

    chat = by_name["a namespace with auth"]
    assert _texts(chat, "sent")[0] == '40/chat,{"token":"***"}'  # `token` is a secret
    assert _texts(chat, "received")[1].startswith('40/chat,{"sid":')


def test_server_pings_are_answered_past_the_ping_timeout(sio_url):
    report = wsrun.run(str(COLLECTION), env="server", vars={"sio_url": sio_url})
    kept = {r.name: r for r in report.requests}["the connection outlives the server's ping timeout"]
    assert kept.passed, kept.error
    received, sent = _texts(kept, "received"), _texts(kept, "sent")
    # A one-second sleep spans three ping intervals; without the answers the server would have
    # closed the connection after the first (300 ms + 200 ms).
    assert received.count("2") >= 3
    assert sent.count("3") == received.count("2")
    assert sent[-2:] == ["421[\"add\",2,3]", "41"]
    assert received[-1] == "431[5]"


def test_the_cli_runs_the_collection_against_the_reference_server(sio_url, tmp_path):
    printed, document = run_cli(COLLECTION, "server", f"sio_url={sio_url}", tmp_path)
    assert "4 requests: 4 passed" in printed
    steps = [s for c in document["collections"] for r in c["requests"] for s in r["steps"]]
    timed = [s for s in steps if s["latency_ms"] is not None]
    # `emit` with `ack` measures its own round trip; an `expect` right after a `send` does too.
    emits = [s for s in timed if s["keyword"] == "emit"]
    assert len(emits) == 3 and {s["keyword"] for s in timed} == {"emit", "expect"}


REFUSED = """\
requests:
  - name: bad token
    url: {url}
    protocol: socketio
    socketio: {{ auth: {{ token: wrong }} }}
    steps:
      - emit: msg
  - name: chat without a token
    url: {url}
    protocol: socketio
    socketio: {{ namespace: /chat }}
    steps:
      - emit: msg
"""


def test_a_refused_connect_fails_naming_the_servers_message(sio_url):
    report = wsrun.run(REFUSED.format(url=sio_url))
    root, chat = report.requests
    assert not root.passed and not chat.passed
    assert root.error == (
        "the server refused the Socket.IO connection to namespace `/`: unauthorized"
    )
    assert chat.error == (
        "the server refused the Socket.IO connection to namespace `/chat`: unauthorized"
    )
    # The refusal is what the server sent, and no step ran.
    assert _texts(chat, "received")[-1] == '44/chat,{"message":"unauthorized"}'
    assert [s.status for s in chat.steps] == ["skipped"]


SERVER_SIDE = """\
requests:
  - name: the server asks for an ack
    url: {url}
    protocol: socketio
    steps:
      - emit: ask
      - expect: {{ json: {{ $.event: question, $.args: {{ eq: [ready?] }}, $.id: {{ type: integer }} }} }}
      - capture: {{ question: $.id }}
      - send: {{ json: {{ ack: "{{{{ question }}}}", args: [yes, 42] }} }}
      - expect: {{ json: {{ $.event: answer, $.args: {{ eq: [yes, 42] }} }} }}
  - name: the server disconnects the socket
    url: {url}
    protocol: socketio
    steps:
      - emit: bye
      - expect: {{ json: {{ $.event: bye }} }}
      - expect: {{ json: {{ $.event: disconnect, $.args: {{ eq: [io server disconnect] }} }} }}
      - expect_close:
"""


def test_acks_the_server_asks_for_and_its_disconnect_reach_the_steps(sio_url):
    report = wsrun.run(SERVER_SIDE.format(url=sio_url))
    asked, kicked = report.requests
    assert asked.passed, asked.error
    assert kicked.passed, kicked.error
    # The server's own ack ids start at 0; the answer went back with that id.
    assert '420["question","ready?"]' in _texts(asked, "received")
    assert '430["yes",42]' in _texts(asked, "sent")
    assert _texts(kicked, "received")[-1] == "41"


def test_the_mock_serves_the_official_client():
    serve = subprocess.Popen(
        [wsrun_command(), "serve", str(COLLECTION), "--mock", "chat"],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, NO_COLOR="1"),
    )
    try:
        assert serve.stdout is not None
        line = serve.stdout.readline()
        assert "serving mock `chat` at ws://" in line, line
        url = "http://" + line.split("ws://", 1)[1].strip()
        client = subprocess.run(
            [_node(), str(NODE_DIR / "client.js"), url, "1000"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        serve.terminate()
        serve.wait(10)
    assert client.returncode == 0, client.stderr
    seen = json.loads(client.stdout)
    assert seen == {
        "echo": ["hello", {"from": "socket.io-client"}],
        "ack": 5,
        "chat_echo": ["in chat"],
        "chat_ack": 5,
        # One second across the mock's 300 ms pings: the client answered them all and the
        # mock kept it.
        "ack_after_pings": 5,
        "disconnects": [],
        # `/chat` went over the same Engine.IO connection as `/`.
        "same_connection": True,
    }


SOCKETIO_2_DIR = ROOT / "tests" / "node" / "socketio2"


@pytest.fixture(scope="module")
def sio2_url() -> Iterator[str]:
    """A Socket.IO 2.x server (Engine.IO v3), from npm's socket.io@2."""
    node = _node()
    assert (SOCKETIO_2_DIR / "node_modules" / "socket.io").is_dir(), (
        "the Socket.IO 2.x server is not installed: npm ci --prefix tests/node/socketio2"
    )
    with port_printing_server([node, str(SOCKETIO_2_DIR / "server.js")], "http://127.0.0.1:{port}") as url:
        yield url


def test_a_socketio_2_server_is_refused_naming_engine_io_3(sio2_url):
    report = wsrun.run(
        f"""\
requests:
  - name: an Engine.IO v3 server
    url: {sio2_url}
    protocol: socketio
    steps:
      - emit: {{ event: msg, args: [1] }}
"""
    )
    request = report.requests[0]
    assert not request.passed
    assert request.error == (
        "the server speaks Socket.IO 2.x (Engine.IO v3): its namespace connect ack (`40`) has "
        "no `sid`; `protocol: socketio` speaks Socket.IO v5 over Engine.IO v4, the protocol of "
        "Socket.IO 3.x and 4.x servers"
    ), request.error
    assert [s.status for s in request.steps] == ["skipped"]


def test_an_emit_with_an_ack_answers_with_its_round_trip(sio_url):
    with wsrun.connect(sio_url, protocol="socketio") as c:
        ack = c.emit("add", 2, 3, ack={"$.args[0]": 5})
        assert isinstance(ack, wsrun.Reply) and isinstance(ack, dict)
        assert ack == {"ack": ack["ack"], "args": [5], "namespace": "/"}
        assert 0 < ack.latency < 5 and c.latency == ack.latency
        # An emit without an ack waits for nothing: no round trip.
        assert c.emit("msg", "x") is None and c.latency is None


def test_a_stream_speaks_the_protocol_and_outlives_the_ping_timeout(sio_url):
    with wsrun.stream(
        sio_url, protocol="socketio", send={"event": "msg", "args": ["hi", 1]}, timeout=5
    ) as s:
        assert next(s) == {"event": "msg", "args": ["hi", 1], "namespace": "/"}
        # Past the ping timeout (300 ms + 200 ms): the stream answered the server's pings.
        time.sleep(1.0)
        s.send({"event": "msg", "args": ["late"]})
        assert next(s) == {"event": "msg", "args": ["late"], "namespace": "/"}
        assert not s.closed
