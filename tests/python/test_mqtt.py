"""MQTT against implementations wsrun did not write: collections/mqtt.yaml, written against the
embedded mock broker, runs unchanged (`--env broker`) against aedes (npm) over WebSocket, started
here by tests/node/mqtt/broker.mjs on a free loopback port; aedes' refusals (a bad password, a
forbidden subscription) fail naming their codes. The official client, MQTT.js
(tests/node/mqtt/client.mjs), checks wsrun's mock: a publish/subscribe round trip and a
retained message, in MQTT 3.1.1 and 5.0."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Iterator

import pytest

import wsrun
from reference import run_cli, wsrun_command

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = ROOT / "collections" / "mqtt.yaml"
NODE = ROOT / "tests" / "node" / "mqtt"


def _serve(command: list) -> Iterator[str]:
    """Starts a server that prints its `ws://…` URL on its first line; yields the URL."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "ws://127.0.0.1:" in line, f"no URL in {line!r} (exit {proc.poll()})"
        yield line.split()[-1]
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def aedes() -> Iterator[str]:
    """The aedes broker over WebSocket (scripts/test installs it with `npm ci`)."""
    assert (NODE / "node_modules" / "aedes").exists(), f"run `npm ci --prefix {NODE}`"
    yield from _serve(["node", str(NODE / "broker.mjs")])


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    """wsrun's own MQTT mock (`broker` of the collection), served by `wsrun serve`."""
    for url in _serve([wsrun_command(), "serve", str(COLLECTION), "--mock", "broker"]):
        yield url + "/mqtt"


def test_the_collection_passes_offline_against_its_mock():
    report = wsrun.run(str(COLLECTION))
    assert [(r.name, r.error) for r in report.requests if not r.passed] == []
    assert len(report.requests) == 3


def test_the_collection_passes_against_aedes(aedes):
    run = uuid.uuid4().hex[:8]
    report = wsrun.run(str(COLLECTION), env="broker", vars={"mqtt_url": aedes, "run": run})
    assert [(r.name, r.error) for r in report.requests if not r.passed] == []
    first = report.requests[0]
    timed = [s.keyword for s in first.steps if s.latency is not None]
    # The SUBACK and the PUBACK (QoS 1) are round trips; a QoS 0 publish waits for nothing.
    assert timed == ["subscribe", "publish"]


def test_the_cli_runs_the_collection_against_aedes(aedes, tmp_path):
    printed, document = run_cli(COLLECTION, "broker", f"mqtt_url={aedes}", tmp_path)
    assert "3 requests: 3 passed" in printed
    steps = [s for c in document["collections"] for r in c["requests"] for s in r["steps"]]
    assert {s["keyword"] for s in steps} >= {"publish", "subscribe", "unsubscribe"}


def test_a_twin_collection_with_one_expected_value_changed_fails_naming_the_path(aedes, tmp_path):
    twin = tmp_path / "twin.yaml"
    text = COLLECTION.read_text()
    assert text.count("$.payload.online: true") == 1
    twin.write_text(text.replace("$.payload.online: true", "$.payload.online: false"))
    proc = subprocess.run(
        [wsrun_command(), str(twin), "--env", "broker", "--var", f"mqtt_url={aedes}",
         "--var", f"run={uuid.uuid4().hex[:8]}"],
        capture_output=True, text=True, timeout=120, env=dict(os.environ, NO_COLOR="1"),
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "$.payload.online" in proc.stdout
    assert "3 requests: 2 passed, 1 failed" in proc.stdout


REFUSALS = """\
requests:
  - name: bad password
    url: {url}
    protocol: mqtt
    mqtt: {{ username: wsrun, password: hunter2-wrong }}
    steps:
      - subscribe: {{ topic: a }}
  - name: forbidden subscription
    url: {url}
    protocol: mqtt
    steps:
      - subscribe: {{ topic: forbidden/x, qos: 1 }}
"""


def test_aedes_refusals_fail_naming_their_codes_and_the_password_is_masked(aedes, tmp_path):
    report = wsrun.run(REFUSALS.format(url=aedes))
    password, forbidden = report.requests
    assert password.error == (
        "the broker refused the MQTT connection: CONNACK return code 4 (bad user name or password)"
    )
    assert forbidden.steps[0].error == (
        "the broker refused the subscription to `forbidden/x`: SUBACK return code 0x80 (failure)"
    )
    # The password went out in CONNECT; no rendering shows it.
    assert "hunter2-wrong" not in json.dumps(report.to_dict())
    assert "hunter2-wrong" not in report.to_junit()
    collection = tmp_path / "refusals.yaml"
    collection.write_text(REFUSALS.format(url=aedes))
    proc = subprocess.run(
        [wsrun_command(), str(collection), "-v"], capture_output=True, text=True, timeout=60,
        env=dict(os.environ, NO_COLOR="1"),
    )
    assert proc.returncode == 1
    assert "CONNACK return code 4" in proc.stdout
    assert "hunter2-wrong" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("version", ["4", "5"])
def test_the_official_mqtt_js_client_round_trips_through_the_mock(mock_url, version):
    proc = subprocess.run(
        ["node", str(NODE / "client.mjs"), mock_url, version],
        capture_output=True, text=True, timeout=30,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    seen = json.loads(proc.stdout.splitlines()[0])
    assert seen["granted"] == [1]
    assert seen["retained"]["retain"] is True
    assert json.loads(seen["retained"]["payload"]) == {"from": "mqttjs", "n": 1}
    assert seen["live"] == {
        "topic": "check/live", "payload": '{"from":"mqttjs","n":2}', "qos": 1, "retain": False,
    }


def test_python_connect_speaks_mqtt(mock_url):
    with wsrun.connect(mock_url, protocol="mqtt") as conn:
        conn.step({"subscribe": {"topic": "py/#", "qos": 1}})
        conn.step({"publish": {"topic": "py/1", "json": {"n": 1}, "qos": 1}})
        message = conn.recv(timeout=5)
    assert message == {"topic": "py/1", "payload": {"n": 1}, "qos": 1, "retain": False}
