"""`wsrun.connect(cookies=…, headers=…)` against the `websockets` server of conftest.py (its
/headers path answers with the handshake's headers), and `RequestResult.captures`: the values a
collection run captured, handed to `connect`."""

from __future__ import annotations

import pytest

import wsrun


def test_cookies_go_out_as_one_cookie_header_after_the_one_in_headers(server):
    with wsrun.connect(
        server.url("/headers"),
        headers={"X-Team": "qa", "Cookie": "theme=dark"},
        cookies={"session": "s-123456", "lang": "en"},
    ) as c:
        got = c.expect(json={"$['x-team']": "qa"})
    assert got["cookie"] == "theme=dark; session=s-123456; lang=en"
    assert got["x-team"] == "qa"


def test_cookies_alone_make_the_cookie_header(server):
    with wsrun.connect(server.url("/headers"), cookies={"a": 1, "b": "two"}) as c:
        got = c.expect(json={"$.cookie": "a=1; b=two"})
    assert got["cookie"] == "a=1; b=two"


def test_the_cookie_header_is_masked_in_a_failure(server):
    with wsrun.connect(server.url("/headers"), cookies={"session": "s-123456"}) as c:
        with pytest.raises(wsrun.AssertionFailed) as failed:
            c.expect(json={"$.cookie": "something else"})
    text = str(failed.value)
    assert "s-123456" not in text
    assert '\n  actual    "***"\n' in text
    assert text.endswith('"cookie": "***"}')


@pytest.mark.parametrize(
    ("cookies", "says"),
    [
        ({"a b": "1"}, "a cookie name cannot hold ' ': 'a b'"),
        ({"a=b": "1"}, "a cookie name cannot hold '=': 'a=b'"),
        ({"": "1"}, "a cookie name cannot hold an empty name: ''"),
        ({"a": "1; b=2"}, "a cookie value cannot hold ';': '1; b=2'"),
        ({"a": "x\r\nEvil: 1"}, "a cookie value cannot hold '\\r': 'x\\r\\nEvil: 1'"),
    ],
)
def test_a_cookie_that_would_break_the_header_is_a_value_error(server, cookies, says):
    before = list(server.paths)
    with pytest.raises(ValueError) as raised:
        wsrun.connect(server.url("/headers"), cookies=cookies)
    assert str(raised.value) == f"connect(cookies=…): {says}"
    assert server.paths == before  # nothing connected


def _login(server) -> str:
    return f"""
secrets: [password]
vars: {{password: hunter2-pass}}
requests:
  - name: login
    url: "{server.url('/hello')}"
    steps:
      - expect: {{json: {{$.type: hello}}}}
      - capture: {{n: $.n}}
      - set:
          session: "s-{{{{ n }}}}-abc"
          password_echo: "pw={{{{ password }}}}"
          password: "changed"
"""


def test_a_run_exposes_what_its_steps_captured_with_secrets_masked(server):
    report = wsrun.run(_login(server))
    assert report.passed, report.requests[0].error
    assert report.requests[0].captures == {
        "n": 1,
        "session": "s-1-abc",
        "password_echo": "pw=***",
        "password": "***",
    }
    assert "captures" not in report.to_dict()["collections"][0]["requests"][0]


def test_a_value_captured_by_a_run_feeds_connect(server):
    report = wsrun.run(_login(server))
    got = report.requests[0].captures
    with wsrun.connect(
        server.url("/headers"),
        cookies={"session": got["session"]},
        headers={"X-N": str(got["n"])},
    ) as c:
        seen = c.expect(json={"$.cookie": "session=s-1-abc", "$['x-n']": "1"})
    assert seen["cookie"] == "session=s-1-abc"


def test_a_connect_step_reconnects_after_close_and_refuses_an_open_connection(server):
    url = server.url("/nth?key=reconnect-step")
    with wsrun.connect(url) as c:
        assert c.expect(json={"$.n": 1}) == {"n": 1}
        with pytest.raises(wsrun.AssertionFailed) as still_open:
            c.step({"connect": None})
        assert str(still_open.value) == (
            f"step 2 connect ({url}): cannot connect: connection `default` is still open;"
            " `close` it first to reconnect"
        )
        c.close(1000)
        c.step({"connect": None})
        # A fresh socket: the server counts a second connection, and the inbox starts with it.
        assert c.expect(json={"$.n": 2}) == {"n": 2}
    assert server.paths.count("/nth?key=reconnect-step") == 2
