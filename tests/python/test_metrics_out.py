"""`--report openmetrics=FILE`, `--report csv=FILE` and the text `--push` sends, read back by
parsers we did not write: prometheus_client's OpenMetrics and Prometheus text parsers, and
Python's csv module."""

from __future__ import annotations

import csv
import http.server
import subprocess
import threading

from prometheus_client.openmetrics.parser import text_string_to_metric_families as read_om
from prometheus_client.parser import text_string_to_metric_families as read_prometheus

from reference import wsrun_command

SUITE = """\
mocks:
  echo: { echo: true }
requests:
  - name: load
    url: "{{ mocks.echo.url }}"
    load: { users: 3 }
    repeat: 2
    thresholds: { iterations: { gte: 6 } }
    steps:
      - send: hi
      - expect: { text: hi }
  - name: wrong, "quoted"
    url: "{{ mocks.echo.url }}"
    steps:
      - send: hi
      - expect: { text: "a,b" }
"""

LOAD = {"collection": "c.yaml", "request": "load"}


def run(tmp_path, *args):
    (tmp_path / "c.yaml").write_text(SUITE)
    return subprocess.run(
        [wsrun_command(), "c.yaml", *args], cwd=tmp_path, capture_output=True, text=True,
        timeout=60,
    )


def sample(families, family, name, labels):
    for f in families:
        if f.name == family:
            for s in f.samples:
                if s.name == name and s.labels == labels:
                    return s.value
    raise AssertionError(f"no {name}{labels} in family {family}")


def test_openmetrics_parses_with_prometheus_client(tmp_path):
    done = run(tmp_path, "--report", "openmetrics=m.txt")
    assert done.returncode == 1, done.stdout + done.stderr
    families = list(read_om((tmp_path / "m.txt").read_text()))
    kinds = {f.name: f.type for f in families}
    assert kinds["wsrun_load_iterations"] == "counter"
    assert kinds["wsrun_step_round_trip_seconds"] == "summary"
    assert kinds["wsrun_request_passed"] == "gauge"
    assert sample(families, "wsrun_load_iterations", "wsrun_load_iterations_total", LOAD) == 6
    assert sample(families, "wsrun_load_users", "wsrun_load_users", LOAD) == 3
    step = dict(LOAD, step="2", keyword="expect")
    assert sample(
        families, "wsrun_step_round_trip_seconds", "wsrun_step_round_trip_seconds_count", step
    ) == 6
    p95 = sample(
        families, "wsrun_step_round_trip_seconds", "wsrun_step_round_trip_seconds",
        dict(step, quantile="0.95"),
    )
    assert 0 < p95 < 60
    wrong = {"collection": "c.yaml", "request": 'wrong, "quoted"'}
    assert sample(families, "wsrun_request_passed", "wsrun_request_passed", wrong) == 0


def test_csv_reads_back_with_the_csv_module(tmp_path):
    done = run(tmp_path, "--report", "csv=r.csv")
    assert done.returncode == 1, done.stdout + done.stderr
    with open(tmp_path / "r.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["request"], r["step"], r["status"]) for r in rows] == [
        ("load", "1", "passed"),
        ("load", "2", "passed"),
        ('wrong, "quoted"', "1", "passed"),
        ('wrong, "quoted"', "2", "failed"),
    ]
    assert rows[3]["expected"] == "a,b"
    assert rows[3]["error"] == "the text does not match"
    assert rows[1]["messages"] == "6"


def test_the_push_parses_as_prometheus_text(tmp_path):
    got = {}

    class Gateway(http.server.BaseHTTPRequestHandler):
        def do_PUT(self):
            length = int(self.headers["Content-Length"])
            got.update(path=self.path, type=self.headers["Content-Type"],
                       body=self.rfile.read(length).decode())
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.handle_request)
    thread.start()
    try:
        done = run(tmp_path, "--push", f"http://127.0.0.1:{server.server_port}")
    finally:
        thread.join(timeout=30)
        server.server_close()
    assert done.returncode == 1, done.stdout + done.stderr
    assert got["path"] == "/metrics/job/wsrun"
    assert got["type"] == "text/plain; version=0.0.4; charset=utf-8"
    families = list(read_prometheus(got["body"]))
    assert sample(families, "wsrun_load_iterations", "wsrun_load_iterations_total", LOAD) == 6
