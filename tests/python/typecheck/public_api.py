"""A script using wsrun's public API, checked with `mypy --strict` (test_typing.py): the stubs
and the annotations must be precise enough for it, with no `Any` reports."""

from __future__ import annotations

import asyncio
from typing import List, Optional

import wsrun


def reports(path: str) -> List[str]:
    report: wsrun.Report = wsrun.run(path, env="local", vars={"symbol": "btcusdt"}, timeout="30s")
    doc: wsrun.ReportDict = report.to_dict()
    names: List[str] = [r["name"] for c in doc["collections"] for r in c["requests"]]
    failed: int = doc["summary"]["failed"]
    step: wsrun.StepDict = doc["collections"][0]["requests"][0]["steps"][0]
    latency: Optional[float] = step["latency_ms"]
    failure: Optional[wsrun.FailureDict] = step["failure"]
    summary: Optional[str] = None if failure is None else failure["summary"]
    for r in report.requests:
        text: Optional[str] = r.failure_text
        names.append(f"{r.name} {r.passed} {r.duration:.3f} {text} {failed} {latency} {summary}")
        for s in r.steps:
            names.append(f"{s.index} {s.keyword} {s.status} {s.latency}")
    report.raise_for_failures().to_junit()
    return names


def step_by_step(url: str) -> Optional[int]:
    with wsrun.serve("collections/jsonrpc.yaml", mock="rpc") as rpc_url:
        with wsrun.connect(rpc_url, protocol="jsonrpc", timeout=5) as c:
            c.call("add", [2, 3], result={"$": 5})
            try:
                c.expect(json={"$.id": 1}, timeout="1s")
            except wsrun.AssertionFailed as e:
                failure: Optional[wsrun.FailureDict] = e.failure
                print(str(e), failure)
            c.close()
            code: Optional[int] = c.close_code
    for message in wsrun.stream(url, send={"op": "subscribe"}, limit=10, timeout=5):
        print(message)
    return code


async def concurrently(url: str) -> int:
    report = await wsrun.run_async("collections/")
    async with wsrun.connect(url) as c:
        await c.send(json={"id": 1})
        matched = await c.expect(json={"$.id": 1})
        print(matched, await c.recv(timeout=1))
    async with wsrun.stream(url, limit=3) as s:
        s.send("more")
        async for message in s:
            print(message, s.close_code)
    return len(report.failed) + wsrun.validate("collections/websocket.yaml")


if __name__ == "__main__":
    print(reports("collections/websocket.yaml"), wsrun.query("$.a", {"a": 1}))
    print(asyncio.run(concurrently("ws://127.0.0.1:9/")), step_by_step("ws://127.0.0.1:9/"))
