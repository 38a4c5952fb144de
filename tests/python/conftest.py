"""A WebSocket test server (the `websockets` package) on 127.0.0.1, port 0, in a background thread.

Paths:
  /echo            sends every message back
  /silent          accepts and never sends
  /count?n=N&size=S  sends N JSON messages {"i": k, "pad": "x"*S} (waiting on the client: the
                   server respects TCP backpressure), then closes with 1000
  /mixed           sends a JSON object, a text, a binary frame, a JSON list, then closes
  /hello           sends {"type": "hello", "n": 1} then waits
  /drop            sends one message, then drops the TCP connection without a close frame
  /trades?n=N&FAULT=K  sends N Binance-format trades (ids from 4221990001, event times from the
                   clock) then waits; FAULT puts a fault at message K (from 1): gap (two ids
                   missing before it), dup (the previous id again), swap (K and K+1 change
                   places), stale (times an hour old from K on), rename (`p` called `price`)
  /nth?key=K       sends {"n": N}, N counting the connections made with this key, then echoes
  /close?code=C    sends {"closing": C}, then closes with code C
  /slow-handshake?ms=M  answers the upgrade only after M milliseconds, then echoes
  /headers         sends one JSON object of the handshake's headers (names lower-cased, repeated
                   ones joined with ", "), then waits
Every path connected to is kept, in order, in `server.paths`.
"""

from __future__ import annotations

import asyncio
import collections
import json
import threading
import time
from typing import Iterator, List
from urllib.parse import parse_qs, urlsplit

import pytest
from websockets.asyncio.server import serve

pytest_plugins = ["pytester"]


_NTH: "collections.Counter[str]" = collections.Counter()


def _query(path: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}


async def _process_request(connection, request):
    # Before the upgrade is answered: a slow server's handshake.
    if urlsplit(request.path).path == "/slow-handshake":
        await asyncio.sleep(int(_query(request.path).get("ms", "1000")) / 1000)
    return None


async def _handler(ws) -> None:
    parts = urlsplit(ws.request.path)
    query = _query(ws.request.path)
    path = parts.path
    try:
        if path in ("/echo", "/slow-handshake"):
            async for message in ws:
                await ws.send(message)
        elif path == "/silent":
            await ws.wait_closed()
        elif path == "/count":
            n = int(query.get("n", "10"))
            pad = "x" * int(query.get("size", "0"))
            for i in range(n):
                await ws.send(json.dumps({"i": i, "pad": pad}))
            await ws.close(1000)
        elif path == "/mixed":
            await ws.send(json.dumps({"b": 1, "a": [1, 2.5, None, True], "z": {"k": "v"}}))
            await ws.send("plain text")
            await ws.send(b"\x00\x01\x02")
            await ws.send(json.dumps([1, "two"]))
            await ws.close(1000)
        elif path == "/hello":
            await ws.send(json.dumps({"type": "hello", "n": 1}))
            await ws.wait_closed()
        elif path == "/trades":
            for trade in _trades(query):
                await ws.send(json.dumps(trade))
            await ws.wait_closed()
        elif path == "/drop":
            await ws.send(json.dumps({"last": True}))
            ws.transport.abort()
        elif path == "/nth":
            _NTH[query.get("key", "")] += 1
            await ws.send(json.dumps({"n": _NTH[query.get("key", "")]}))
            async for message in ws:
                await ws.send(message)
        elif path == "/headers":
            seen: dict = {}
            for name, value in ws.request.headers.raw_items():
                key = name.lower()
                seen[key] = f"{seen[key]}, {value}" if key in seen else value
            await ws.send(json.dumps(seen))
            await ws.wait_closed()
        elif path == "/close":
            code = int(query.get("code", "1000"))
            await ws.send(json.dumps({"closing": code}))
            await ws.close(code, "bye")
        else:
            await ws.close(4004, "no such path")
    except Exception:  # a client that went away mid-send
        pass


def _trades(query: dict) -> list:
    """The trades of /trades, faults applied (see the module's docstring)."""
    n = int(query.get("n", "10"))
    ids = [4221990001 + i for i in range(n)]
    at = {k: int(v) - 1 for k, v in query.items() if k != "n"}
    if "gap" in at:
        ids[at["gap"]:] = [i + 2 for i in ids[at["gap"]:]]
    if "dup" in at:
        ids[at["dup"]] = ids[at["dup"] - 1]
    if "swap" in at:
        k = at["swap"]
        ids[k], ids[k + 1] = ids[k + 1], ids[k]
    now = int(time.time() * 1000)
    out = []
    for i, trade_id in enumerate(ids):
        event = now - (3_600_000 if "stale" in at and i >= at["stale"] else 0)
        trade = {"e": "trade", "E": event, "s": "BTCUSDT", "t": trade_id,
                 "p": "97012.34000000", "q": "0.00100000", "T": event - 1, "m": i % 2 == 0}
        if at.get("rename") == i:
            trade["price"] = trade.pop("p")
        out.append(trade)
    return out


class Server:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._ready = threading.Event()
        self._stop: asyncio.Future | None = None
        self.paths: List[str] = []
        self.thread = threading.Thread(target=self._main, name="ws-test-server", daemon=True)

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        self._stop = self.loop.create_future()
        async def handler(ws) -> None:
            self.paths.append(ws.request.path)
            await _handler(ws)

        async with serve(
            handler, "127.0.0.1", 0, max_size=None, process_request=_process_request
        ) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop

    def start(self) -> "Server":
        self.thread.start()
        assert self._ready.wait(10), "the test server did not start"
        return self

    def stop(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set_result, None)
        self.thread.join(5)

    def url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    s = Server().start()
    yield s
    s.stop()


@pytest.fixture
def echo_collection(server: Server) -> str:
    """A passing collection as YAML text."""
    return f"""\
name: Echo
requests:
  - name: echo json
    url: {server.url('/echo')}
    steps:
      - send: {{ json: {{ op: ping, id: 7 }} }}
      - expect: {{ json: {{ $.op: ping, $.id: 7 }} }}
  - name: echo text
    url: {server.url('/echo')}
    steps:
      - send: {{ text: hello }}
      - expect: {{ text: hello }}
"""


@pytest.fixture
def failing_collection(server: Server) -> str:
    """One passing and one failing request (expected 8, actual 7, step 2 on line 12)."""
    return f"""\
name: Mixed
requests:
  - name: passes
    url: {server.url('/echo')}
    steps:
      - send: {{ json: {{ id: 1 }} }}
      - expect: {{ json: {{ $.id: 1 }} }}
  - name: fails
    url: {server.url('/echo')}
    steps:
      - send: {{ json: {{ id: 7 }} }}
      - expect:
          json: {{ $.id: 8 }}
"""
