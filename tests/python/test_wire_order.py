"""Python dicts keep the order the keys had on the wire, and what Python sends keeps the dict's
order (`wsrun.stream` has its own test in test_stream.py)."""

from __future__ import annotations

import wsrun


def test_connect_sends_a_dict_in_its_order_and_returns_the_echo_in_wire_order(server):
    with wsrun.connect(server.url("/echo")) as c:
        c.send(json={"type": "subscribe", "z": 1, "a": {"y": 2, "b": 3}})
        # The echo is the exact text sent; the message returned keeps that order.
        got = c.expect(text='{"type":"subscribe","z":1,"a":{"y":2,"b":3}}')
        assert list(got) == ["type", "z", "a"] and list(got["a"]) == ["y", "b"]
        c.send(json={"z": 1, "a": 2})
        message = c.recv()
        assert list(message) == ["z", "a"]


def test_run_reports_a_failed_message_in_wire_order(server):
    report = wsrun.run(
        f"""
requests:
  - name: order
    url: {server.url("/echo")}
    steps:
      - send: {{json: {{z: 1, a: 2, m: {{y: 3, b: 4}}}}}}
      - expect: {{json: {{$.a: 3}}}}
"""
    )
    step = report.requests[0].steps[1]
    assert not step.passed
    assert list(step.message) == ["z", "a", "m"]
    assert list(step.message["m"]) == ["y", "b"]

