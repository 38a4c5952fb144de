"""wsrun.stream: sync and async iteration, limit, timeout, close, backpressure."""

from __future__ import annotations

import asyncio
import gc
import json
import time

import pytest

import wsrun


def test_sync_iteration_types(server):
    with wsrun.stream(server.url("/mixed")) as s:
        messages = list(s)
    assert messages == [
        {"b": 1, "a": [1, 2.5, None, True], "z": {"k": "v"}},
        "plain text",
        b"\x00\x01\x02",
        [1, "two"],
    ]
    # JSON objects keep the server's key order.
    assert list(messages[0]) == ["b", "a", "z"]
    assert s.closed


def test_send_and_echo(server):
    s = wsrun.stream(
        server.url("/echo"),
        send=[{"method": "SUBSCRIBE", "params": ["btcusdt@trade"], "id": 1}, "text", b"\x01"],
        limit=3,
        timeout=5,
    )
    got = list(s)
    assert got == [{"method": "SUBSCRIBE", "params": ["btcusdt@trade"], "id": 1}, "text", b"\x01"]
    assert s.count == 3


def test_json_messages_read_as_json_loads_reads_them(server):
    texts = [
        '{"a": 1, "b": 2, "a": 3}',
        '{"k": "v", "n": -5, "u": 18446744073709551615, "f": 1.5e300, "z": -0.0,'
        ' "s": "\\u00e9\\ud83d\\ude00\\n", "nested": {"x": [[], {}, null, true, false]}}',
        '[1, "two", {"three": 3}]',
        '{"k": "again", "n": 7, "a longer key that is not kept for reuse, being long": 1}',
    ]
    got = list(wsrun.stream(server.url("/echo"), send=texts, limit=len(texts), timeout=5))
    assert got == [json.loads(t) for t in texts]
    # Keys in the order the text has them, the last of duplicates winning.
    assert [list(m) for m in got if isinstance(m, dict)] == [
        list(json.loads(t)) for t in texts if t.startswith("{")
    ]


def test_single_send_message(server):
    (msg,) = wsrun.stream(server.url("/echo"), send={"a": 1}, limit=1, timeout=5)
    assert msg == {"a": 1}


def test_limit(server):
    s = wsrun.stream(server.url("/count?n=1000"), limit=10)
    got = list(s)
    assert [m["i"] for m in got] == list(range(10))
    assert s.closed
    assert list(s) == []


def test_timeout(server):
    s = wsrun.stream(server.url("/hello"), timeout=0.3)
    assert next(s) == {"type": "hello", "n": 1}
    started = time.monotonic()
    with pytest.raises(wsrun.StreamTimeout):
        next(s)
    assert 0.25 < time.monotonic() - started < 2
    assert issubclass(wsrun.StreamTimeout, wsrun.WsrunError)
    s.close()


def test_close_ends_iteration(server):
    s = wsrun.stream(server.url("/count?n=100000"))
    assert next(s)["i"] == 0
    s.close()
    assert s.closed
    with pytest.raises(StopIteration):
        next(s)


def test_garbage_collection_closes(server):
    s = wsrun.stream(server.url("/count?n=100000"))
    next(s)
    del s
    gc.collect()  # nothing to assert but that this neither hangs nor crashes


def test_connection_failed():
    with pytest.raises(wsrun.ConnectionFailed) as e:
        wsrun.stream("ws://127.0.0.1:1/", timeout=2)
    assert isinstance(e.value, ConnectionError)
    assert isinstance(e.value, wsrun.WsrunError)
    assert "connection refused" in str(e.value)


def test_invalid_url():
    with pytest.raises(wsrun.ConnectionFailed):
        wsrun.stream("not a url")


def test_dropped_connection_raises(server):
    s = wsrun.stream(server.url("/drop"), timeout=5)
    assert next(s) == {"last": True}
    with pytest.raises(wsrun.ConnectionFailed):
        next(s)


def test_async_iteration(server):
    async def main():
        out = []
        async with wsrun.stream(server.url("/count?n=500")) as s:
            async for m in s:
                out.append(m["i"])
        return out

    assert asyncio.run(main()) == list(range(500))


def test_async_limit_timeout_and_concurrency(server):
    async def ticker():
        # The event loop keeps running while a stream waits.
        ticks = 0
        for _ in range(10):
            await asyncio.sleep(0.02)
            ticks += 1
        return ticks

    async def main():
        s = wsrun.stream(server.url("/hello"), timeout=0.5)
        first = await s.__anext__()
        ticks_task = asyncio.ensure_future(ticker())
        with pytest.raises(wsrun.StreamTimeout):
            await s.__anext__()
        s.close()
        limited = [m async for m in wsrun.stream(server.url("/count?n=50"), limit=7)]
        return first, await ticks_task, limited

    first, ticks, limited = asyncio.run(main())
    assert first == {"type": "hello", "n": 1}
    assert ticks == 10
    assert [m["i"] for m in limited] == list(range(7))


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_slow_consumer_has_bounded_memory(server):
    """100k messages of ~1 KiB (about 100 MB in all) read slowly: the reader may buffer only
    ~1000 of them, so the process grows by far less than the stream's size. The test server
    compresses (permessage-deflate), so a read brings hundreds of messages at once and the
    reader's batches are full: a bound counted in batches instead of messages grew by 60-70 MB
    here, against under 10 MB now."""
    n = 100_000
    s = wsrun.stream(server.url(f"/count?n={n}&size=1000"), timeout=30)
    assert next(s)["i"] == 0
    gc.collect()
    baseline = _rss_mb()
    peak = baseline
    count = 1
    for m in s:
        count += 1
        if count % 20_000 == 0:
            time.sleep(0.5)  # the consumer stalls; without backpressure everything piles up
            peak = max(peak, _rss_mb())
    assert count == n
    assert m["i"] == n - 1
    growth = peak - baseline
    assert growth < 25, f"RSS grew by {growth:.0f} MB while consuming slowly"


def test_a_stream_sends_after_connecting_and_reports_the_servers_close_code(server):
    s = wsrun.stream(server.url("/echo"), limit=2, timeout=5)
    s.send({"a": 1})
    s.send("two")
    assert list(s) == [{"a": 1}, "two"]
    closing = wsrun.stream(server.url("/close?code=4001"), timeout=5)
    assert list(closing) == [{"closing": 4001}]
    assert closing.close_code == 4001
    with pytest.raises(wsrun.ConnectionFailed, match="the stream has ended"):
        closing.send("late")


def test_async_with_stream_awaits_a_slow_handshake_without_freezing_the_loop(server):
    async def ticker(stop: asyncio.Event) -> int:
        ticks = 0
        while not stop.is_set():
            await asyncio.sleep(0.01)
            ticks += 1
        return ticks

    async def main():
        stop = asyncio.Event()
        ticking = asyncio.ensure_future(ticker(stop))
        async with wsrun.stream(server.url("/slow-handshake?ms=600"), limit=2, timeout=5) as s:
            stop.set()
            s.send({"b": 2})
            s.send({"c": 3})
            got = [m async for m in s]
        return await ticking, got

    ticks, got = asyncio.run(main())
    assert got == [{"b": 2}, {"c": 3}]
    # 600 ms of handshake at one tick per ~10 ms: the loop ran all along.
    assert ticks >= 25, ticks


def test_inside_a_running_loop_a_failed_connect_is_raised_where_the_stream_is_used():
    async def main():
        s = wsrun.stream("ws://127.0.0.1:1/", timeout=2)  # does not block the loop
        with pytest.raises(wsrun.ConnectionFailed, match="connection refused"):
            async with s:
                pass
        with pytest.raises(wsrun.ConnectionFailed, match="connection refused"):
            await wsrun.stream("ws://127.0.0.1:1/", timeout=2).__anext__()

    asyncio.run(main())


def test_timed_messages_carry_when_they_arrived(server):
    before = time.time()
    # The handshake takes 300 ms: `elapsed` counts from the call to stream().
    with wsrun.stream(server.url("/slow-handshake?ms=300"), send={"n": 1}, timed=True, timeout=5) as s:
        first = next(s)
        time.sleep(0.2)
        s.send({"n": 2})
        second = next(s)
    after = time.time()
    assert isinstance(first, wsrun.Message)
    assert (first.data, second.data) == ({"n": 1}, {"n": 2})
    assert 0.3 <= first.elapsed < second.elapsed < after - before
    assert second.elapsed - first.elapsed >= 0.2
    assert before + 0.3 <= first.received_at < second.received_at <= after
    # The wall clock and the elapsed time tell the same story.
    gap = (second.received_at - first.received_at) - (second.elapsed - first.elapsed)
    assert abs(gap) < 1e-3
    assert repr(first).startswith("<wsrun.Message at +0.") and repr(first).endswith(": {'n': 1}>")


def test_async_timed_messages(server):
    async def main() -> "list[wsrun.Message]":
        async with wsrun.stream(server.url("/count?n=3"), timed=True, timeout=5) as s:
            return [m async for m in s]

    got = asyncio.run(main())
    assert [m.data["i"] for m in got] == [0, 1, 2]
    assert got[0].elapsed <= got[1].elapsed <= got[2].elapsed
