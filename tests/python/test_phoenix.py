"""Phoenix Channels: collections/phoenix.yaml passes offline against its mock endpoint through
`wsrun.run()`; the official client, `phoenix` 1.8 from npm on the `ws` package
(tests/node/phoenix/client.mjs), joins, pushes, is refused and leaves against that mock; and
`wsrun.connect(protocol="phoenix")` runs the channel steps."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import pytest

import wsrun
from reference import missing_reference_server

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = ROOT / "collections" / "phoenix.yaml"
NODE_CLIENT = ROOT / "tests" / "node" / "phoenix" / "client.mjs"


def test_the_collection_passes_offline_against_its_mock():
    report = wsrun.run(str(COLLECTION))
    assert report.passed, [(r.name, r.error) for r in report.requests]
    assert len(report.requests) == 2


def test_the_official_phoenix_client_joins_pushes_and_leaves_on_the_mock():
    if not (NODE_CLIENT.parent / "node_modules" / "phoenix").exists():
        missing_reference_server("the phoenix npm client is not installed: npm ci --prefix tests/node/phoenix")
    with wsrun.serve(COLLECTION, mock="endpoint") as url:
        proc = subprocess.run(
            ["node", str(NODE_CLIENT), url + "/socket"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    seen = json.loads(proc.stdout.splitlines()[0])
    assert seen["joined"] == {"status": "ok", "response": {}}
    assert seen["reply"] == {"status": "ok", "response": {"body": "hi"}}
    assert seen["broadcast"] == {"body": "hi"}
    assert seen["refused"] == {"status": "error", "response": {"reason": "unauthorized"}}
    assert seen["heartbeat"] == "ok"
    assert seen["left"] == {"status": "ok", "response": {}}


def test_connect_speaks_phoenix_with_its_options():
    with wsrun.serve(COLLECTION, mock="endpoint") as url:
        with wsrun.connect(url, protocol="phoenix", options={"params": {"token": "t-1"}}) as c:
            assert c.protocol == "phoenix"
            joined = c.join("room:lobby")
            assert joined["payload"] == {"status": "ok", "response": {}}
            reply = c.push("room:lobby", "shout", {"n": 1})
            assert reply["payload"]["response"] == {"n": 1}
            assert isinstance(reply, wsrun.Reply) and 0 < reply.latency < 5
            assert c.expect(json={"$.event": "shouted"}) == {
                "topic": "room:lobby",
                "event": "shouted",
                "payload": {"n": 1},
            }
            with pytest.raises(wsrun.AssertionFailed, match="the join of `room:secret` with status error"):
                c.join("room:secret")
            assert c.leave("room:lobby")["payload"]["status"] == "ok"
            assert c.expect(json={"$.event": "phx_close"})["topic"] == "room:lobby"


def test_async_connect_joins_and_pushes_without_waiting_for_a_reply():
    async def main() -> "dict[str, object]":
        with wsrun.serve(COLLECTION, mock="endpoint") as url:
            async with wsrun.connect(url, protocol="phoenix") as c:
                await c.join("room:lobby", {"nick": "async"})
                assert await c.push("room:lobby", "shout", {"n": 2}, reply=False) is None
                await c.expect(json={"$.event": "phx_reply", "$.payload.response.n": 2})
                return await c.expect(json={"$.event": "shouted"})

    assert asyncio.run(main())["payload"] == {"n": 2}
