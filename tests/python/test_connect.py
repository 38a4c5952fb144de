"""wsrun.connect: one live connection driven a step at a time, with the engine's own matchers,
timeouts and failure text; sync and async; JSON-RPC against a collection's mock."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

import wsrun

ROOT = Path(__file__).resolve().parents[2]


def test_send_and_expect_return_the_matched_message(server):
    with wsrun.connect(server.url("/echo")) as c:
        assert c.send(json={"id": 7, "op": "ping"}) is None
        assert c.expect(json={"$.id": 7, "$.op": {"in": ["ping", "pong"]}}) == {"id": 7, "op": "ping"}
        c.send("plain")
        assert c.expect(text={"matches": "^pl"}) is None  # only JSON messages are returned
        c.send(b"\x00\x01")
        assert c.recv() == b"\x00\x01"
        assert not c.closed


def test_a_failed_step_raises_assertion_failed_with_the_engines_text(server):
    c = wsrun.connect(server.url("/echo"))
    c.send(json={"id": 7})
    with pytest.raises(wsrun.AssertionFailed) as e:
        c.expect(json={"$.id": 8})
    assert isinstance(e.value, AssertionError) and isinstance(e.value, wsrun.WsrunError)
    lines = str(e.value).splitlines()
    assert lines[0] == f"step 2 expect ({server.url('/echo')}): $.id does not match"
    assert lines[1:4] == ["  path      $.id", "  expected  8", "  actual    7"]
    assert e.value.failure is not None
    assert (e.value.failure["expected"], e.value.failure["actual"]) == (8, 7)
    c.shutdown()


def test_the_failure_text_is_the_one_the_cli_prints(server):
    url = server.url("/echo")
    collection = f"""\
requests:
  - name: r
    url: {url}
    steps:
      - send: {{ json: {{ id: 7, items: [1, 2] }} }}
      - expect: {{ json: {{ $.items: {{ len: 3 }} }} }}
"""
    cli_text = wsrun.run(collection).requests[0].failure_text
    assert cli_text is not None
    with wsrun.connect(url) as c:
        c.send(json={"id": 7, "items": [1, 2]})
        with pytest.raises(wsrun.AssertionFailed) as e:
            c.expect(json={"$.items": {"len": 3}})
    ours = str(e.value).splitlines()
    theirs = cli_text.rstrip("\n").splitlines()
    assert ours[0].split(": ", 1)[1] == theirs[0].split(": ", 1)[1]
    assert ours[1:] == theirs[1:]


def test_wait_for_capture_and_templates(server):
    with wsrun.connect(server.url("/echo")) as c:
        for i in range(3):
            c.send(json={"i": i, "token": f"t{i}"})
        assert c.wait_for(json={"$.i": 2}) == {"i": 2, "token": "t2"}
        c.capture(token="$.token")
        c.send(json={"again": "{{ token }}"})
        assert c.expect(json={"$.again": "t2"})["again"] == "t2"


def test_a_step_times_out_with_the_engines_words(server):
    with wsrun.connect(server.url("/silent"), timeout=0.3) as c:
        started = time.monotonic()
        with pytest.raises(wsrun.AssertionFailed, match=r"step 1 expect .*no message within 300ms"):
            c.expect()
        assert 0.25 < time.monotonic() - started < 2
        with pytest.raises(wsrun.AssertionFailed, match=r"no matching message within 100ms"):
            c.wait_for(json={"$.x": 1}, timeout="100ms")
        with pytest.raises(wsrun.AssertionFailed, match=r"recv .*no message within 50ms"):
            c.recv(timeout=0.05)


def test_the_servers_close_code(server):
    with wsrun.connect(server.url("/close?code=4001")) as c:
        assert c.close_code is None
        assert c.recv() == {"closing": 4001}
        c.expect_close(4001)
        assert c.close_code == 4001 and c.closed
        with pytest.raises(wsrun.AssertionFailed, match="cannot send"):
            c.send(json={"late": True})
    with wsrun.connect(server.url("/echo")) as c:
        c.close(4000, "done")
        assert c.close_code == 4000


def test_a_mock_answers_a_close_frame_with_its_code(tmp_path):
    collection = tmp_path / "echo.yaml"
    collection.write_text("mocks:\n  echo: { echo: true }\nrequests: []\n")
    with wsrun.serve(collection, mock="echo") as url, wsrun.connect(url) as c:
        c.send(json={"a": 1})
        c.expect(json={"$.a": 1})
        c.close(4000, "done")
        assert c.close_code == 4000


def test_an_invalid_step_map_is_a_located_collection_error(server):
    with wsrun.connect(server.url("/echo")) as c:
        with pytest.raises(wsrun.CollectionError) as e:
            c.step({"expect": {"json": {"$.id": {"gtt": 1}}}})
        assert e.value.path == "<step>" and e.value.line == 1
        assert "gtt" in str(e.value)
        with pytest.raises(wsrun.CollectionError, match="call"):
            c.call("add")  # a JSON-RPC step on a raw connection


def test_a_connection_that_cannot_open_fails_at_connect():
    with pytest.raises(wsrun.ConnectionFailed, match="connection refused"):
        wsrun.connect("ws://127.0.0.1:1/", connect_timeout=2)


def test_jsonrpc_steps_against_the_collections_mock():
    with wsrun.serve(ROOT / "collections" / "jsonrpc.yaml", mock="rpc") as url:
        with wsrun.connect(url, protocol="jsonrpc") as c:
            assert c.protocol == "jsonrpc"
            response = c.call("add", [2, 3], result={"$": 5})
            assert response["result"] == 5 and response["jsonrpc"] == "2.0"
            c.call("boom", error={"$.code": -32000})
            with pytest.raises(wsrun.AssertionFailed, match="step 3 call"):
                c.call("boom")
            c.notify("log", ["done"])
            both = c.step({"calls": [{"method": "add", "params": [1, 1]}, {"method": "add"}]})
            assert len(both) == 2


def test_async_connect_awaits_steps_and_keeps_the_loop_free(server):
    async def ticker(stop: asyncio.Event) -> int:
        ticks = 0
        while not stop.is_set():
            await asyncio.sleep(0.01)
            ticks += 1
        return ticks

    async def main() -> "tuple[int, tuple[str, object]]":
        stop = asyncio.Event()
        ticking = asyncio.ensure_future(ticker(stop))
        async with wsrun.connect(server.url("/slow-handshake?ms=600")) as c:
            stop.set()
            kind = type(c).__name__
            await c.send(json={"n": 1})
            echoed = await c.expect(json={"$.n": 1})
        return await ticking, (kind, echoed)

    ticks, (kind, echoed) = asyncio.run(main())
    assert kind == "AsyncConnection" and echoed == {"n": 1}
    # 600 ms of handshake at one tick per ~10 ms: the loop ran all along.
    assert ticks >= 25, ticks


def test_async_connect_failure_is_raised_at_async_with():
    async def main() -> None:
        c = wsrun.connect("ws://127.0.0.1:1/", connect_timeout=2)
        with pytest.raises(wsrun.ConnectionFailed):
            async with c:
                pass

    asyncio.run(main())


def test_socketio_emit_with_an_ack_against_the_collections_mock():
    with wsrun.serve(ROOT / "collections" / "socketio-chat.yaml", mock="chat") as url:
        with wsrun.connect(url, protocol="socketio") as c:
            c.emit("msg", "first")  # its echo waits in the inbox while the ack is awaited
            ack = c.emit("add", 2, 3, ack={"$.args[0]": 5})
            assert ack["args"] == [5]
            assert c.expect(json={"$.event": "msg"}) == {
                "event": "msg",
                "args": ["first"],
                "namespace": "/",
            }
            with pytest.raises(wsrun.AssertionFailed, match=r"step 4 emit .*\$\.args\[0\]"):
                c.emit("add", 1, 1, ack={"$.args[0]": 6}, timeout=2)


def test_graphql_ws_subscribe_and_complete_against_the_collections_mock():
    with wsrun.serve(ROOT / "collections" / "graphql-subscription.yaml", mock="gql") as url:
        async def main() -> "list[int]":
            async with wsrun.connect(url, protocol="graphql-ws", options={"init": {"user": "ada"}}) as c:
                await c.subscribe("subscription { countdown(from: 2) }", id="cd")
                counts = []
                for _ in range(3):
                    m = await c.expect(json={"$.id": "cd", "$.type": "next"})
                    counts.append(m["payload"]["data"]["countdown"])
                await c.expect(json={"$.id": "cd", "$.type": "complete"})
                await c.subscribe("subscription { ticks }")
                await c.expect(json={"$.id": "{{ last_id }}", "$.payload.data.ticks": 0})
                await c.complete("{{ last_id }}")
                return counts

        assert asyncio.run(main()) == [2, 1, 0]
