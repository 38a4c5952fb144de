"""Row 5: `wsrun.stream()` consumed in Python: every message arrives as a dict; we count them.

python wsrun_stream.py URL N [check]  ->  prints {"seconds": ..., "count": ...} on stdout.
With `check`, the four checks of row 2 run on each dict too (an extra, informative row).
The time covers opening the stream and iterating it to the end.
"""
import json
import resource
import sys
import time

import wsrun


def cpu():
    """User + system CPU seconds of this process, all threads."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def ok(d):
    p = d.get("p")
    t = d.get("T")
    return (
        d.get("e") == "trade"
        and d.get("s") == "BTCUSDT"
        and (float(p) if isinstance(p, str) else p) > 0
        and isinstance(t, int)
        and not isinstance(t, bool)
    )


if __name__ == "__main__":
    url, n = sys.argv[1], int(sys.argv[2])
    check = len(sys.argv) > 3 and sys.argv[3] == "check"
    got = bad = 0
    t0, c0 = time.perf_counter(), cpu()
    for msg in wsrun.stream(url, limit=n, timeout=60):
        got += 1
        if check and not ok(msg):
            bad += 1
    secs, cpus = time.perf_counter() - t0, cpu() - c0
    print(json.dumps({"seconds": secs, "cpu": cpus, "count": got, "bad": bad}))
    sys.exit(0 if got == n and bad == 0 else 1)
