"""An independent echo server for `bench/load --echo websockets`: Python `websockets` with its
defaults (keep-alive pings every 20 s, permessage-deflate offered to clients that ask), speaking
the same stdin protocol as bench/src/bin/echo.rs (`port N`; `reset`, `stats`), so that wsrun's
memory per connection can be measured against a server wsrun's authors did not write."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time

import websockets


class Stats:
    def __init__(self) -> None:
        self.accepted = self.open = self.peak = self.echoed = 0
        self.span = None

    def accept(self) -> None:
        self.accepted += 1
        self.open += 1
        self.peak = max(self.peak, self.open)
        now = time.monotonic()
        self.span = (self.span[0] if self.span else now, now)

    def reset(self) -> None:
        self.accepted = self.echoed = 0
        self.peak = self.open
        self.span = None

    def json(self) -> str:
        span_ms = (self.span[1] - self.span[0]) * 1000 if self.span else 0.0
        return json.dumps({"accepted": self.accepted, "open": self.open, "peak": self.peak,
                           "first_to_last_ms": round(span_ms, 3), "echoed": self.echoed},
                          separators=(",", ":"))


async def main() -> None:
    stats = Stats()
    loop = asyncio.get_running_loop()

    async def echo(ws) -> None:
        stats.accept()
        try:
            async for message in ws:
                await ws.send(message)
                stats.echoed += 1
        except websockets.ConnectionClosed:
            pass
        finally:
            stats.open -= 1

    def control() -> None:
        for line in sys.stdin:
            cmd = line.strip()
            done = threading.Event()
            answer = []

            def run() -> None:
                if cmd == "reset":
                    stats.reset()
                    answer.append("ok")
                elif cmd == "stats":
                    answer.append(stats.json())
                else:
                    answer.append("error: reset or stats")
                done.set()

            loop.call_soon_threadsafe(run)
            done.wait()
            print(answer[0], flush=True)

    async with websockets.serve(echo, "127.0.0.1", 0, backlog=4096) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"port {port}", flush=True)
        threading.Thread(target=control, daemon=True).start()
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main())
