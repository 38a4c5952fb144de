"""STOMP against the reference implementation: collections/stomp.yaml, written against the
embedded mock broker, runs unchanged (`--env broker`) against RabbitMQ with its Web STOMP plugin
(Debian's `rabbitmq-server`, started here in a private folder on free loopback ports), through
`wsrun.run()` and the CLI; refusals and heart-beats are checked against RabbitMQ too. The
official client, `@stomp/stompjs` 7 (tests/node/stomp/client.mjs), cross-checks both brokers:
wsrun's mock and RabbitMQ."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Iterator, List

import pytest

import wsrun
from reference import missing_reference_server, run_cli, wsrun_command

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = ROOT / "collections" / "stomp.yaml"
NODE_CLIENT = ROOT / "tests" / "node" / "stomp" / "client.mjs"
#: Where Debian puts it; scripts/test passes the path it checked (WSRUN_RABBITMQ).
RABBITMQ = Path(os.environ.get("WSRUN_RABBITMQ", "/usr/lib/rabbitmq/bin/rabbitmq-server"))

#: RabbitMQ takes a few seconds to start; a loaded CI machine may take longer.
START_TIMEOUT = 90


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """RabbitMQ's Web STOMP endpoint, `ws://127.0.0.1:PORT/ws`, for this module."""
    if not RABBITMQ.exists():
        missing_reference_server(
            "rabbitmq-server is not installed: sudo apt-get install rabbitmq-server"
            " (scripts/test installs it when run as root with CI=true)"
        )
    home = tmp_path_factory.mktemp("rabbitmq")
    ws_port, dist_port = _free_port(), _free_port()
    (home / "rabbitmq.conf").write_text(
        "listeners.tcp = none\n"
        "stomp.listeners.tcp = none\n"
        f"web_stomp.tcp.port = {ws_port}\n"
        "web_stomp.tcp.ip = 127.0.0.1\n"
    )
    (home / "enabled_plugins").write_text("[rabbitmq_web_stomp].\n")
    env = dict(
        os.environ,
        HOME=str(home),
        RABBITMQ_CONFIG_FILE=str(home / "rabbitmq"),
        RABBITMQ_ENABLED_PLUGINS_FILE=str(home / "enabled_plugins"),
        RABBITMQ_MNESIA_BASE=str(home / "mnesia"),
        RABBITMQ_LOG_BASE=str(home / "log"),
        RABBITMQ_LOGS="-",
        RABBITMQ_PID_FILE=str(home / "pid"),
        RABBITMQ_NODENAME=f"wsrun{ws_port}@localhost",
        RABBITMQ_DIST_PORT=str(dist_port),
    )
    log = (home / "out.log").open("w")
    proc = subprocess.Popen(
        [str(RABBITMQ)],
        cwd=home,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _listening(ws_port):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = (home / "out.log").read_text()[-2000:]
                pytest.fail(f"RabbitMQ did not start (exit {proc.poll()}):\n{tail}")
            time.sleep(0.2)
        yield f"ws://127.0.0.1:{ws_port}/ws"
    finally:
        # The script, erl and beam share the session started above; epmd detaches by itself.
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        log.close()


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    """wsrun's own STOMP mock (`bus` of the collection), served by `wsrun serve`."""
    proc = subprocess.Popen(
        [wsrun_command(), "serve", str(COLLECTION), "--mock", "bus"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "ws://127.0.0.1:" in line, f"no URL in {line!r} (exit {proc.poll()})"
        yield line.split()[-1] + "/ws"
    finally:
        proc.terminate()
        proc.wait(10)


def _frames(request: wsrun.RequestResult, direction: str) -> List[str]:
    return [
        f["payload"]
        for f in request.transcript
        if f["direction"] == direction and f["kind"] == "text"
    ]


def test_the_collection_passes_offline_against_its_mock():
    report = wsrun.run(str(COLLECTION))
    assert report.passed, [(r.name, r.error) for r in report.requests]
    assert len(report.requests) == 4


def test_the_collection_passes_against_the_reference_broker(broker):
    report = wsrun.run(str(COLLECTION), env="broker", vars={"stomp_url": broker})
    assert [(r.name, r.error) for r in report.requests if not r.passed] == []
    by_name = {r.name: r for r in report.requests}

    first = by_name["a subscriber gets what is sent to its destination"]
    connected = _frames(first, "received")[0]
    assert connected.startswith("CONNECTED\n") and "version:1.2\n" in connected
    assert "server:RabbitMQ/" in connected
    receipt_steps = [s for s in first.steps if s.keyword in ("subscribe", "send")][:2]
    assert all(s.latency is not None and s.latency > 0 for s in receipt_steps)

    quiet = by_name["heart-beats keep a quiet connection open"]
    # RabbitMQ negotiates whole seconds: both sides beat every second, through 4s of quiet.
    assert "heart-beat:1000,1000\n" in _frames(quiet, "received")[0]
    assert _frames(quiet, "sent").count("\n") >= 3
    assert _frames(quiet, "received").count("\n") >= 3


def test_the_cli_runs_the_collection_against_the_reference_broker(broker, tmp_path):
    printed, document = run_cli(
        COLLECTION, "broker", f"stomp_url={broker}", tmp_path, validate=False
    )
    assert "4 requests: 4 passed" in printed
    steps = [s for c in document["collections"] for r in c["requests"] for s in r["steps"]]
    timed = {s["keyword"] for s in steps if s["latency_ms"] is not None}
    # The receipts, and an `expect` right after a `send` (the message that came back).
    assert timed == {"subscribe", "send", "unsubscribe", "expect"}


REFUSALS = """\
requests:
  - name: bad login
    url: {url}
    protocol: stomp
    stomp: {{ host: /, login: intruder, passcode: nope }}
    steps:
      - subscribe: {{ destination: /topic/a }}
  - name: unknown destination
    url: {url}
    protocol: stomp
    stomp: {{ host: /, login: guest, passcode: guest }}
    steps:
      - send: {{ destination: /nowhere/a, text: hi, receipt: true }}
  - name: no host given
    url: {url}
    protocol: stomp
    stomp: {{ login: guest, passcode: guest }}
    steps:
      - subscribe: {{ destination: /topic/a }}
"""


def test_the_brokers_refusals_fail_naming_its_error_message(broker):
    report = wsrun.run(REFUSALS.format(url=broker))
    login, destination, host = report.requests
    assert not login.passed
    assert login.error == (
        "the server refused the STOMP connection: "
        "ERROR \"Bad CONNECT\": Access refused for user 'intruder'"
    )
    assert [s.status for s in login.steps] == ["skipped"]  # never reached
    assert destination.steps[0].error.startswith(
        'the server answered the SEND with ERROR "Unknown destination": '
        "'/nowhere/a' is not a valid destination."
    )
    # RabbitMQ reads `host` as a virtual host; the failure says what was sent.
    assert "Virtual host '127.0.0.1' access denied" in host.error
    assert "`stomp.host` is not given, so CONNECT sent `host:127.0.0.1`" in host.error


ACKS = """\
requests:
  - name: nack redelivers, ack settles
    url: {url}
    protocol: stomp
    stomp: {{ host: /, login: guest, passcode: guest }}
    steps:
      - subscribe: {{ destination: /queue/wsrun-acks, ack: client-individual, receipt: true }}
      - send: {{ destination: /queue/wsrun-acks, text: once, receipt: true }}
      - wait_for: {{ json: {{ $.command: MESSAGE, $.body: once }} }}
      - nack: {{ receipt: true }}
      - wait_for: {{ json: {{ $.command: MESSAGE, $.body: once, $.headers.redelivered: "true" }} }}
      - ack: {{ receipt: true }}
      - no_message: 500ms
  - name: an ack id the broker never gave
    url: {url}
    protocol: stomp
    stomp: {{ host: /, login: guest, passcode: guest }}
    steps:
      - subscribe: {{ destination: /queue/wsrun-acks-2, ack: client, receipt: true }}
      - ack: {{ id: no-such-delivery, receipt: true }}
"""


def test_nack_makes_the_broker_redeliver_and_ack_settles_the_message(broker):
    report = wsrun.run(ACKS.format(url=broker))
    settled, unknown = report.requests
    assert settled.passed, settled.error
    sent = _frames(settled, "sent")
    acks = [f for f in sent if f.startswith(("ACK\n", "NACK\n"))]
    # Both answer the same delivery: the `ack` header of the MESSAGE each followed.
    received = [f for f in _frames(settled, "received") if f.startswith("MESSAGE\n")]
    ids = [line[4:] for f in received for line in f.split("\n") if line.startswith("ack:")]
    assert len(ids) == 2 and len(acks) == 2
    assert acks[0].startswith(f"NACK\nid:{ids[0]}\n") and acks[1].startswith(f"ACK\nid:{ids[1]}\n")
    assert not unknown.passed
    assert unknown.steps[1].error.startswith("the server answered the ACK with ERROR"), unknown.steps[1].error


SILENT = """\
requests:
  - name: promised heart-beats, sent none
    url: {url}
    subprotocols: [v12.stomp]
    steps:
      - send: "CONNECT\\naccept-version:1.2\\nhost:/\\nlogin:guest\\npasscode:guest\\nheart-beat:1000,0\\n\\n\\u0000"
      - expect: {{ text: {{ matches: "^CONNECTED\\n" }} }}
      - expect_close: {{ timeout: 10s }}
"""


def test_the_broker_drops_a_client_that_stops_its_heart_beats(broker):
    # What the heart-beats of the collection's quiet request are for: RabbitMQ closes a client
    # silent for a few of its periods, sooner than that request's 4 seconds of quiet.
    report = wsrun.run(SILENT.format(url=broker))
    silent = report.requests[0]
    assert silent.passed, silent.error
    assert silent.duration < 4


@pytest.mark.parametrize("which", ["mock", "broker"])
def test_the_official_stompjs_client_gets_message_and_receipt(which, request):
    url = request.getfixturevalue("broker" if which == "broker" else "mock_url")
    proc = subprocess.run(
        ["node", str(NODE_CLIENT), url],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    seen = json.loads(proc.stdout.splitlines()[0])
    assert seen["version"] == "1.2"
    assert json.loads(seen["message"]["body"]) == {"from": "stompjs", "n": 1}
    assert seen["message"]["headers"]["destination"] == "/topic/stompjs-check"
    assert seen["receipt"]["headers"]["receipt-id"] == "sent"
