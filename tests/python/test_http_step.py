"""The `http` step through wsrun.run: a login over HTTP (the standard library's http.server)
whose token and cookie later steps use, reported like any other step, its secrets masked."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import pytest

import wsrun

API_KEY = "k-3f9a7c1e55"


class _Api(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def _reply(self, status: int, body: dict, headers: tuple = ()) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        user = json.loads(self.rfile.read(length) or b"{}").get("user")
        if self.headers.get("X-Api-Key") != API_KEY:
            # The key echoed back: what wsrun shows of the body must mask it.
            self._reply(401, {"error": f"bad key {self.headers.get('X-Api-Key')}"})
            return
        self._reply(200, {"token": f"{user}+t/1=="}, (("Set-Cookie", "sid=c00k1e-v4lue; Path=/"),))

    def do_GET(self) -> None:
        if self.headers.get("Cookie") == "sid=c00k1e-v4lue":
            self._reply(200, {"me": "ada"})
        else:
            self._reply(401, {"error": "no session"})


@pytest.fixture
def api() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _collection(api: str, ws: str) -> str:
    return f"""\
secrets: [api_key]
requests:
  - name: login then echo
    url: {ws}
    steps:
      - http:
          method: POST
          url: {api}/login
          headers: {{ X-Api-Key: "{{{{ api_key }}}}" }}
          json: {{ user: ada }}
          capture: {{ token: $.token }}
      - http: {{ url: {api}/me, expect: {{ status: 200, json: {{ $.me: ada }} }} }}
      - send: {{ text: "{{{{ token | urlencode }}}}" }}
      - expect: {{ text: "ada%2Bt%2F1%3D%3D" }}
"""


def test_http_steps_run_and_report_through_wsrun_run(api, server):
    report = wsrun.run(_collection(api, server.url("/echo")), vars={"api_key": API_KEY})
    assert report.passed, report
    steps = report.requests[0].steps
    assert [s.keyword for s in steps] == ["http", "http", "send", "expect"]
    assert all(s.passed for s in steps)


def test_a_failed_http_step_names_the_status_and_masks_the_key(api, server):
    report = wsrun.run(_collection(api, server.url("/echo")), vars={"api_key": "wr0ng-key-123"})
    assert not report.passed
    step = report.requests[0].steps[0]
    assert step.keyword == "http"
    assert step.error == "expected a 2xx status, got 401 Unauthorized"
    assert step.line == 6
    # The server echoed the key in the body the failure shows: masked there.
    dumped = json.dumps(report.to_dict())
    assert "bad key ***" in dumped
    assert "wr0ng-key-123" not in dumped
    assert "wr0ng-key-123" not in report.failure_text()
