"""Row 2b: a Python `websockets` client doing the benchmark's four checks on every message.

python websockets_client.py URL N  ->  prints {"seconds": ..., "count": ...} on stdout.
The time covers connect + N messages + close, not the interpreter start or imports.
"""
import asyncio
import json
import resource
import sys
import time

from websockets.asyncio.client import connect


def cpu():
    """User + system CPU seconds of this process, all threads."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def ok(text):
    d = json.loads(text)
    p = d.get("p")
    t = d.get("T")
    return (
        d.get("e") == "trade"
        and d.get("s") == "BTCUSDT"
        and (float(p) if isinstance(p, str) else p) > 0
        and isinstance(t, int)
        and not isinstance(t, bool)
    )


async def main(url, n):
    got = bad = 0
    async with connect(url, max_size=None, compression=None) as ws:
        while got < n:
            msg = await ws.recv()
            got += 1
            if not ok(msg):
                bad += 1
    return got, bad


if __name__ == "__main__":
    url, n = sys.argv[1], int(sys.argv[2])
    t0, c0 = time.perf_counter(), cpu()
    got, bad = asyncio.run(main(url, n))
    secs, cpus = time.perf_counter() - t0, cpu() - c0
    print(json.dumps({"seconds": secs, "cpu": cpus, "count": got, "bad": bad}))
    sys.exit(0 if got == n and bad == 0 else 1)
