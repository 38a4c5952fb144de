"""A JSON-RPC 2.0 server over WebSocket, built on the reference libraries: `jsonrpcserver` (v5)
answers, `websockets` carries. Run as a script, it listens on 127.0.0.1 at the port given as the
first argument (default 0: a free one) and prints the port it got, then serves until killed.

Each message is dispatched in its own task, so a slow method never holds up the calls sent
after it: responses come out of order. Methods (those collections/jsonrpc.yaml calls):

  add(a, b)      a + b
  echo(...)      its params as given (a list, or an object)
  boom()         error -32000 "boom"
  sleep()        "slept", after 200 ms
  subscribe()    sends the notification {"method": "tick", "params": {"n": 1}}, then "subscribed"
  log(...)       nothing (a notification)
unknown methods get jsonrpcserver's own -32601 "Method not found".
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from jsonrpcserver import Error, Result, Success, async_dispatch, method
from websockets.asyncio.server import ServerConnection, serve


@method
async def add(ws: ServerConnection, a: Any, b: Any) -> Result:
    return Success(a + b)


@method
async def echo(ws: ServerConnection, *args: Any, **kwargs: Any) -> Result:
    return Success(kwargs if kwargs else list(args))


@method
async def boom(ws: ServerConnection) -> Result:
    return Error(-32000, "boom")


@method
async def sleep(ws: ServerConnection) -> Result:
    await asyncio.sleep(0.2)
    return Success("slept")


@method
async def subscribe(ws: ServerConnection) -> Result:
    await ws.send(json.dumps({"jsonrpc": "2.0", "method": "tick", "params": {"n": 1}}))
    return Success("subscribed")


@method
async def log(ws: ServerConnection, *args: Any, **kwargs: Any) -> Result:
    return Success(None)


async def _answer(ws: ServerConnection, request: str) -> None:
    response = await async_dispatch(request, context=ws)
    if response:  # notifications get no response
        await ws.send(response)


async def _handler(ws: ServerConnection) -> None:
    tasks = set()
    try:
        async for message in ws:
            task = asyncio.create_task(_answer(ws, str(message)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    except Exception:  # a client that went away mid-call
        pass


async def main(port: int) -> None:
    async with serve(_handler, "127.0.0.1", port) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
